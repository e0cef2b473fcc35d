"""A client for OpenAI-compatible chat completion endpoints (vLLM, llama.cpp, hosted APIs).

One request per answer: ``POST {base_url}/chat/completions`` with the messages and the
sampling parameters of :class:`~music_reasoning.params.GenerationParams` that the
OpenAI API knows (``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``), and
``Authorization: Bearer <key>`` when a key is set.  The key is never logged.

Server text is not trusted to keep secrets: an endpoint may echo the request's
``Authorization`` header in its error body.  Before any server text reaches an error
message, its ``details``, a log line or the answer cache, the configured key and
anything shaped like a bearer token or API key are masked
(:func:`~music_reasoning.redact.redact`; an answer's text only loses the exact key, so
prose is never rewritten).  A ``user:password@`` in the base URL is masked wherever
the URL is shown (messages, ``details``, :meth:`CloudClient.model_id`).

How failures map (all :class:`~music_reasoning.errors.CloudError`, code
``CLOUD_UNAVAILABLE``)::

    connection refused / reset, DNS failure   status None  transient, retried
    timeout (connect, read, write, pool)      status None  transient, retried
    408, 425, 429, 5xx                        status       transient, retried
    401, 403                                  status       "check MUSIC_REASONING_CLOUD_API_KEY"
    any other 4xx                             status       the server's message
    2xx that is not a chat completion         status       "not a chat completion"

Transient failures are retried ``retries`` times (default 1) after a short backoff
(0.25 s, doubling), within the call's deadline: ``params.timeout`` bounds the whole
call, ``timeout`` (``cloud_timeout``) each request.  The client is safe to share
between threads (one ``httpx.Client`` connection pool).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import httpx

from music_reasoning.config import Settings
from music_reasoning.errors import CloudError, InvalidInputError
from music_reasoning.params import GenerationParams
from music_reasoning.redact import add_secret, mask_secrets, redact, redact_url

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "CloudClient",
    "CloudCompletion",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 1
DEFAULT_BACKOFF = 0.25
_KEY_SUGGESTION = (
    "Check MUSIC_REASONING_CLOUD_API_KEY (or cloud_api_key in config.toml): the endpoint "
    "refused the key."
)
_TRANSIENT_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class CloudCompletion:
    """One answer from the cloud endpoint.

    ``prompt_tokens`` and ``completion_tokens`` are the server's ``usage`` counts (0
    when it sends none); ``latency_ms`` covers the successful request only.
    """

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    finish_reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)


class CloudClient:
    """Chat completions from an OpenAI-compatible endpoint.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions``
            is appended).
        api_key: Sent as a bearer token when set.
        model: The ``model`` field of each request; ``None`` leaves it out (servers
            that host one model, like llama.cpp's, then use theirs).
        timeout: Seconds per HTTP request.
        transport: An ``httpx`` transport to use instead of the network (tests).
        retries: How many times a transient failure is retried.
        backoff: Seconds before the first retry; doubles for each further one.

    Raises:
        InvalidInputError: ``base_url`` is not an http(s) URL, or a number is out of range.

    Example:
        >>> with CloudClient("http://127.0.0.1:8000/v1") as client:
        ...     answer = client.complete("What is a tritone?", params=GenerationParams())
    """

    name = "cloud"
    """The backend name the hybrid layer reports (``source="cloud"``)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        try:
            url = httpx.URL(base_url.strip()) if isinstance(base_url, str) else None
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise InvalidInputError(
                f"Cloud base URL {base_url!r} is not an http(s) URL.",
                suggestion="Set MUSIC_REASONING_CLOUD_BASE_URL to e.g. http://127.0.0.1:8000/v1.",
            )
        if not timeout > 0 or retries < 0 or backoff < 0:
            raise InvalidInputError(
                f"Cloud client needs timeout > 0, retries >= 0 and backoff >= 0, got "
                f"{timeout!r}, {retries!r}, {backoff!r}."
            )
        self.base_url = str(url).rstrip("/")
        self._shown_url = redact_url(self.base_url)
        self._secrets: tuple[str, ...] = (api_key,) if api_key else ()
        add_secret(api_key)  # the CLI's log filter masks it too, wherever it appears
        self.model = model
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = backoff
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(headers=headers, timeout=self.timeout, transport=transport)

    @classmethod
    def from_settings(cls, settings: Settings) -> CloudClient | None:
        """Build a client from ``cloud_base_url``, ``cloud_api_key``, ``cloud_model`` and
        ``cloud_timeout``; ``None`` when no base URL is configured.

        Raises:
            InvalidInputError: the configured URL or timeout is not usable.
        """
        if not settings.cloud_base_url:
            return None
        return cls(
            settings.cloud_base_url,
            api_key=settings.cloud_api_key,
            model=settings.cloud_model,
            timeout=settings.cloud_timeout,
        )

    @property
    def endpoint(self) -> str:
        """The URL requests go to."""
        return f"{self.base_url}/chat/completions"

    @property
    def shown_endpoint(self) -> str:
        """:attr:`endpoint` as messages and logs show it (credentials masked)."""
        return f"{self._shown_url}/chat/completions"

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def build_request(
        self, prompt: str, *, system: str | None = None, params: GenerationParams
    ) -> dict[str, Any]:
        """Return the JSON body for one chat completion (messages + sampling parameters)."""
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "seed": params.seed,
            "stream": False,
        }
        if self.model:
            body["model"] = self.model
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    def complete(
        self, prompt: str, *, system: str | None = None, params: GenerationParams
    ) -> CloudCompletion:
        """Ask the endpoint for one answer to ``prompt`` (after an optional system message).

        Raises:
            CloudError: the endpoint could not answer (see the module notes for which
                failures are retried first and what ``status_code``/``transient`` say).
        """
        body = self.build_request(prompt, system=system, params=params)
        deadline = time.monotonic() + params.timeout
        attempt = 0
        logger.debug("cloud request to %s: %r", self.shown_endpoint, prompt)
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise CloudError(
                        f"The cloud call ran out of its {params.timeout:g} s budget.",
                        suggestion="Raise the timeout or check the endpoint's load.",
                        details={"url": self.shown_endpoint},
                        transient=True,
                    )
                return self._once(body, min(self.timeout, remaining))
            except CloudError as exc:
                delay = self.backoff * (2**attempt)
                if (
                    not exc.transient
                    or attempt >= self.retries
                    or time.monotonic() + delay >= deadline
                ):
                    raise
                attempt += 1
                logger.warning(
                    "cloud request failed (%s); retry %d of %d in %.2f s",
                    exc.message,
                    attempt,
                    self.retries,
                    delay,
                )
                time.sleep(delay)

    # -- the TextBackend protocol of the hybrid layer ---------------------------------
    def model_id(self) -> str:
        """Identify endpoint and model for cache keys (never the key)."""
        return f"cloud:{self._shown_url}:{self.model or 'default'}"

    def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        """Return the answer text and its metrics as a dict (the hybrid layer's backend call).

        Raises:
            CloudError: as :meth:`complete`.
        """
        completion = self.complete(prompt, params=params)
        return completion.text, completion.to_dict()

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> CloudClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- one request ------------------------------------------------------------------
    def _once(self, body: dict[str, Any], timeout: float) -> CloudCompletion:
        started = time.perf_counter()
        details: dict[str, Any] = {"url": self.shown_endpoint}
        try:
            response = self._client.post(self.endpoint, json=body, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise CloudError(
                f"The cloud endpoint did not answer within {timeout:.3g} s.",
                suggestion="Raise MUSIC_REASONING_CLOUD_TIMEOUT or check the endpoint's load.",
                details=details,
                transient=True,
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise CloudError(
                f"Cannot call {self.shown_endpoint}: {self._redact(str(exc))}",
                details=details,
                transient=False,
            ) from exc
        except httpx.TransportError as exc:
            raise CloudError(
                f"Cannot reach the cloud endpoint {self._shown_url}: {self._redact(str(exc))}",
                details=details,
                transient=True,
            ) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise _status_error(response, details, self._secrets)
        completion = _parse(response, latency_ms, self.model, details, self._secrets)
        logger.info(
            "cloud answer from %s: %d+%d tokens in %.0f ms (%s)",
            completion.model,
            completion.prompt_tokens,
            completion.completion_tokens,
            latency_ms,
            completion.finish_reason,
        )
        logger.debug("cloud answer: %r", completion.text)
        return completion


def _server_message(response: httpx.Response, secrets: tuple[str, ...]) -> str:
    """The error text a server put in its body (OpenAI, FastAPI or plain text), redacted.

    Redacted before it is cut to 200 characters, so a cut cannot split a secret into a
    piece the patterns no longer recognise.
    """
    try:
        data = response.json()
    except ValueError:
        return redact(response.text.strip(), secrets)[:200]
    said = str(data)
    if isinstance(data, dict):
        error = data.get("error")
        fields = [data.get(field) for field in ("detail", "message", "error")]
        if isinstance(error, dict) and error.get("message"):
            said = str(error["message"])
        elif any(fields):
            said = str(next(f for f in fields if f))
    return redact(said, secrets)[:200]


def _status_error(
    response: httpx.Response, details: dict[str, Any], secrets: tuple[str, ...]
) -> CloudError:
    status = response.status_code
    said = _server_message(response, secrets)
    details["server_message"] = said
    if status in (401, 403):
        return CloudError(
            f"The cloud endpoint refused the request ({status}: {said or 'unauthorized'}); "
            "check MUSIC_REASONING_CLOUD_API_KEY.",
            suggestion=_KEY_SUGGESTION,
            details=details,
            status_code=status,
        )
    transient = status >= 500 or status in _TRANSIENT_STATUS
    return CloudError(
        f"The cloud endpoint answered {status}: {said or response.reason_phrase}",
        suggestion=(
            "Retry later; the endpoint is failing or overloaded."
            if transient
            else "Check MUSIC_REASONING_CLOUD_BASE_URL and MUSIC_REASONING_CLOUD_MODEL."
        ),
        details=details,
        status_code=status,
        transient=transient,
    )


def _parse(
    response: httpx.Response,
    latency_ms: float,
    model: str | None,
    details: dict[str, Any],
    secrets: tuple[str, ...],
) -> CloudCompletion:
    """Read a chat completion body, or raise a non-transient :class:`CloudError`.

    The answer loses only the exact configured key (prose is never rewritten); an
    unreadable body is shown redacted.
    """
    try:
        data = response.json()
        choice = data["choices"][0]
        content = choice["message"].get("content") or ""
        usage = data.get("usage") or {}
        if not isinstance(content, str):
            raise TypeError(f"content is a {type(content).__name__}")
        return CloudCompletion(
            text=mask_secrets(content.strip(), secrets),
            model=redact(str(data.get("model") or model or ""), secrets),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_ms=latency_ms,
            finish_reason=str(choice.get("finish_reason") or "unknown"),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        details["body_preview"] = redact(response.text, secrets)[:200]
        raise CloudError(
            f"The cloud endpoint's reply is not a chat completion ({redact(repr(exc), secrets)}).",
            suggestion="Point MUSIC_REASONING_CLOUD_BASE_URL at an OpenAI-compatible /v1 root.",
            details=details,
            status_code=response.status_code,
        ) from exc
