"""HTTP side of the model downloader: probing, ranged GETs, retries, part threads, progress.

Internal to :mod:`music_reasoning.models.download`, whose docstring holds the design notes.
Every URL that reaches a message, a log line or an error's details goes through
:func:`~music_reasoning.redact.redact_url` first (a mirror URL may carry ``user:pw@``).
"""

from __future__ import annotations

import errno
import io
import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tqdm import tqdm

from music_reasoning.errors import DownloadError, InsufficientDiskError
from music_reasoning.models._partial import Part, PartialState, parse_content_range, save_sidecar
from music_reasoning.redact import redact, redact_url

__all__ = [
    "MAX_BACKOFF",
    "SAVE_INTERVAL",
    "Progress",
    "RemoteFile",
    "RestartNeeded",
    "RetryPolicy",
    "Transfer",
    "call_with_retries",
    "probe",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

SAVE_INTERVAL = 1.0
"""Seconds between sidecar updates while bytes arrive (always saved when a transfer stops)."""
MAX_BACKOFF = 30.0
"""Upper bound, in seconds, of one wait between retries (also caps ``Retry-After``)."""

# Compressed bodies would break byte ranges and the size check: ask for the bytes as stored.
_BASE_HEADERS = {"Accept-Encoding": "identity"}
_TRANSIENT_4XX = frozenset({408, 425, 429})
_NO_HEAD = frozenset({405, 501})
_NETWORK_SUGGESTION = (
    "Check the network connection (and proxy settings), then run again: "
    "the download resumes where it stopped."
)


class RestartNeeded(Exception):
    """The partial cannot be continued: the file changed, or the server ignored a range."""

    def __init__(self, reason: str, *, ranges_ignored: bool) -> None:
        super().__init__(reason)
        self.ranges_ignored = ranges_ignored


class Stopped(Exception):
    """A part thread was asked to stop because another part failed or was interrupted."""


@dataclass(frozen=True)
class RemoteFile:
    """What a HEAD request said about the file (all ``None`` when HEAD is not supported)."""

    size: int | None
    etag: str | None
    last_modified: str | None
    accept_ranges: bool


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one URL (or one part of it)."""

    retries: int
    backoff: float
    max_backoff: float = MAX_BACKOFF

    def delay(self, attempt: int, error: DownloadError) -> float:
        """Seconds to wait before retry ``attempt + 1``: ``Retry-After``, else jittered backoff."""
        retry_after = error.details.get("retry_after")
        if isinstance(retry_after, int | float):
            return min(float(retry_after), self.max_backoff)
        base = min(self.max_backoff, self.backoff * 2.0**attempt)
        return base * (0.5 + random.random() / 2)  # jitter, not cryptography


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    stop: threading.Event | None = None,
) -> T:
    """Call ``fn`` until it succeeds, retrying transient :class:`DownloadError` with backoff.

    Raises:
        DownloadError: a permanent failure, or the last transient one after ``retries``.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except DownloadError as exc:
            if not exc.transient or attempt >= policy.retries:
                raise
            delay = policy.delay(attempt, exc)
            attempt += 1
            logger.warning(
                "%s (%s); retry %d of %d in %.2f s",
                exc.message,
                what,
                attempt,
                policy.retries,
                delay,
            )
            if stop is None:
                time.sleep(delay)
            elif stop.wait(delay):
                raise Stopped from exc


def _suggestion(status: int) -> str:
    if status in (401, 403):
        return (
            "The server refused access. If the model is gated, accept its license and "
            "provide credentials, or use another mirror."
        )
    if status in (404, 410):
        return "The file is not at this URL: check the model name and revision, or use a mirror."
    if status >= 500 or status in _TRANSIENT_4XX:
        return "The server is failing or busy: try again later, or use another mirror."
    return "The server rejected the request: check the URL."


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def check_status(response: httpx.Response, url: str) -> None:
    """Turn a 4xx/5xx answer into a :class:`DownloadError` (transient for 5xx, 408, 429).

    Raises:
        DownloadError: the status is 400 or above.
    """
    status = response.status_code
    if status < 400:
        return
    url = redact_url(url)
    details: dict[str, Any] = {}
    retry_after = _retry_after(response)
    if retry_after is not None:
        details["retry_after"] = retry_after
    raise DownloadError(
        f"{url} answered HTTP {status} {response.reason_phrase}".rstrip() + ".",
        suggestion=_suggestion(status),
        details=details,
        url=url,
        status_code=status,
        transient=status >= 500 or status in _TRANSIENT_4XX,
    )


@contextmanager
def _http_errors(url: str, what: str) -> Iterator[None]:
    """Translate httpx exceptions raised inside the block into :class:`DownloadError`."""
    shown = redact_url(url)
    try:
        yield
    except httpx.UnsupportedProtocol as exc:
        raise DownloadError(
            f"Cannot fetch {shown}: {redact(str(exc))}",
            suggestion="Use an http:// or https:// URL.",
            url=shown,
        ) from exc
    except httpx.TransportError as exc:
        reason = f"{type(exc).__name__}: {redact(str(exc))}" if str(exc) else type(exc).__name__
        raise DownloadError(
            f"{what} {shown} failed: {reason}",
            suggestion=_NETWORK_SUGGESTION,
            url=shown,
            transient=True,
        ) from exc
    except httpx.RequestError as exc:
        raise DownloadError(
            f"{what} {shown} failed: {type(exc).__name__}: {redact(str(exc))}", url=shown
        ) from exc


def _content_length(response: httpx.Response) -> int | None:
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        return None
    try:
        value = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def probe(client: httpx.Client, url: str, *, timeout: float, policy: RetryPolicy) -> RemoteFile:
    """Ask the server for size, validators and range support with a HEAD request.

    Raises:
        DownloadError: HEAD failed permanently, or transiently more than ``retries`` times.
    """

    def head() -> RemoteFile:
        with _http_errors(url, "HEAD"):
            response = client.head(
                url, headers=_BASE_HEADERS, timeout=timeout, follow_redirects=True
            )
        if response.status_code in _NO_HEAD:
            logger.debug("%s does not answer HEAD (%d)", redact_url(url), response.status_code)
            return RemoteFile(size=None, etag=None, last_modified=None, accept_ranges=False)
        check_status(response, url)
        return RemoteFile(
            size=_content_length(response),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            accept_ranges="bytes" in response.headers.get("accept-ranges", "").lower(),
        )

    return call_with_retries(head, policy=policy, what="probing")


class Progress:
    """A thread-safe ``tqdm`` byte counter on stderr (a no-op when disabled)."""

    def __init__(self, *, enabled: bool, desc: str) -> None:
        self._enabled = enabled
        self._desc = desc
        self._lock = threading.Lock()
        self._bar: tqdm[Any] | None = None

    def start(self, *, total: int | None, done: int) -> None:
        """Show ``done`` of ``total`` bytes; on a restart or a new mirror the bar is reused."""
        with self._lock:
            if self._bar is None:
                self._bar = tqdm(
                    total=total,
                    initial=done,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=self._desc,
                    file=sys.stderr,
                    disable=not self._enabled,
                    dynamic_ncols=True,
                )
                return
            if self._bar.disable:
                return
            self._bar.reset()
            self._bar.total = total
            self._bar.initial = done
            self._bar.n = done
            self._bar.last_print_n = done
            self._bar.refresh()

    def advance(self, count: int) -> None:
        """Count ``count`` more bytes."""
        with self._lock:
            if self._bar is not None:
                self._bar.update(count)

    def close(self) -> None:
        """Finish the bar (leaves the last line on the terminal)."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()


def _write_all(fh: io.FileIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[fh.write(view) :]


def _rank(exc: BaseException) -> int:
    """Order part failures: the one to re-raise is the most telling (lowest rank)."""
    if not isinstance(exc, Exception):
        return 0  # KeyboardInterrupt, SystemExit
    if isinstance(exc, RestartNeeded | InsufficientDiskError):
        return 1
    if isinstance(exc, DownloadError) and not exc.transient:
        return 2
    return 3


class Transfer:
    """Fetch every incomplete part of ``state`` from ``url`` into the ``.partial`` file.

    One part runs in the calling thread; several run in a thread pool, each with its own
    retries, writing at its own offsets through its own file handle.  Byte counts in
    ``state`` only grow after the bytes were handed to the OS (unbuffered writes), so the
    sidecar never claims bytes that a killed process did not write.
    """

    def __init__(
        self,
        *,
        client: httpx.Client,
        url: str,
        partial: Path,
        sidecar: Path,
        state: PartialState,
        policy: RetryPolicy,
        timeout: float,
        progress: Progress,
    ) -> None:
        self.client = client
        self.url = url
        self.shown = redact_url(url)  # the URL as messages and logs show it
        self.partial = partial
        self.sidecar = sidecar
        self.state = state
        self.policy = policy
        self.timeout = timeout
        self.progress = progress
        self._lock = threading.Lock()
        self._last_save = time.monotonic()

    def save(self, *, force: bool = False) -> None:
        """Write the sidecar, at most every :data:`SAVE_INTERVAL` seconds unless ``force``."""
        with self._lock:
            now = time.monotonic()
            if force or now - self._last_save >= SAVE_INTERVAL:
                save_sidecar(self.sidecar, self.state)
                self._last_save = now

    def run(self) -> None:
        """Fetch the missing bytes; the sidecar is saved however this returns or raises.

        Raises:
            DownloadError: a part failed permanently or ran out of retries.
            InsufficientDiskError: the disk filled up while writing.
            RestartNeeded: the file changed on the server, or it ignored a range.
        """
        pending = [part for part in self.state.parts if not part.complete]
        if len(pending) == 1:
            try:
                self._fetch_part(pending[0], None)
            finally:
                self.save(force=True)
        elif pending:
            self._run_parallel(pending)
        if not self.state.complete:  # pragma: no cover - every path above completes or raises
            raise DownloadError(f"Download from {self.shown} stopped early.", url=self.shown)

    def _run_parallel(self, pending: list[Part]) -> None:
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=len(pending), thread_name_prefix="model-download")
        futures = [pool.submit(self._fetch_part, part, stop) for part in pending]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:  # also on KeyboardInterrupt: stop the parts, keep what they wrote
            stop.set()
            self.save(force=True)
            pool.shutdown(wait=True, cancel_futures=True)
            self.save(force=True)
        errors = [exc for f in futures if not f.cancelled() and (exc := f.exception()) is not None]
        if errors:
            raise min(errors, key=_rank)

    def _fetch_part(self, part: Part, stop: threading.Event | None) -> None:
        what = "download" if self.state.single else f"part {part.start}-{part.end}"
        try:
            call_with_retries(
                lambda: self._fetch_once(part, stop), policy=self.policy, what=what, stop=stop
            )
        except Stopped:
            return

    def _fetch_once(self, part: Part, stop: threading.Event | None) -> None:
        state = self.state
        headers = dict(_BASE_HEADERS)
        ranged = not state.single or part.done > 0
        if ranged:
            last = "" if state.single or part.end is None else str(part.end - 1)
            headers["Range"] = f"bytes={part.offset}-{last}"
            validator = state.if_range()
            if validator:
                headers["If-Range"] = validator
        with (
            _http_errors(self.url, "GET"),
            self.client.stream(
                "GET", self.url, headers=headers, timeout=self.timeout, follow_redirects=True
            ) as response,
        ):
            status = response.status_code
            if ranged and status == 416:
                raise RestartNeeded(
                    f"{self.shown} cannot serve bytes from {part.offset}: the file changed",
                    ranges_ignored=False,
                )
            check_status(response, self.url)
            if ranged and status == 206:
                self._check_content_range(response, part)
            elif status == 200 and ranged and not state.single:
                etag = response.headers.get("etag")
                raise RestartNeeded(
                    f"{self.shown} answered a range request with the whole file",
                    ranges_ignored=etag is None or etag == state.etag,
                )
            elif status == 200:
                if ranged:
                    logger.warning(
                        "%s answered 200 to a resume at byte %d (file changed or ranges "
                        "unsupported); restarting from zero",
                        self.shown,
                        part.offset,
                    )
                self._start_over(part, response)
            else:
                raise DownloadError(
                    f"{self.shown} answered HTTP {status} to a GET; expected "
                    f"{'206' if ranged else '200'}.",
                    url=self.shown,
                    status_code=status,
                )
            self._receive(response, part, stop)

    def _check_content_range(self, response: httpx.Response, part: Part) -> None:
        parsed = parse_content_range(response.headers.get("content-range"))
        if parsed is None:
            raise DownloadError(
                f"{self.shown} answered 206 without a usable Content-Range header.",
                url=self.shown,
                status_code=206,
            )
        first, _, total = parsed
        state = self.state
        if first != part.offset or (None not in (total, state.size) and total != state.size):
            raise RestartNeeded(
                f"{self.shown} sent bytes {first}-/{total}, asked for {part.offset}-/{state.size}",
                ranges_ignored=False,
            )
        if state.size is None and total is not None:  # a single stream learning its size
            state.size = part.end = total

    def _start_over(self, part: Part, response: httpx.Response) -> None:
        """Take a 200 answer in single-stream mode as the new file, from byte zero."""
        state = self.state
        with self.partial.open("r+b") as fh:
            fh.truncate(0)
        part.done = 0
        part.end = state.size = _content_length(response)
        state.url = self.url
        state.etag = response.headers.get("etag")
        state.last_modified = response.headers.get("last-modified")
        self.save(force=True)
        self.progress.start(total=state.size, done=0)

    def _receive(self, response: httpx.Response, part: Part, stop: threading.Event | None) -> None:
        try:
            with self.partial.open("r+b", buffering=0) as fh:
                fh.seek(part.offset)
                for chunk in response.iter_raw():  # as received: never hold bytes back
                    if stop is not None and stop.is_set():
                        raise Stopped
                    remaining = part.remaining
                    data = chunk if remaining is None else chunk[:remaining]
                    _write_all(fh, data)
                    part.done += len(data)
                    self.progress.advance(len(data))
                    self.save()
                    if part.complete:
                        break
                if part.end is None:  # no length announced: the stream's end is the file's end
                    fh.truncate(part.offset)
                    part.end = self.state.size = part.offset
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            raise InsufficientDiskError(
                f"The disk filled up while writing {self.partial}.",
                details={"path": str(self.partial)},
            ) from exc
        if not part.complete:
            raise DownloadError(
                f"The connection to {self.shown} closed after byte {part.offset} of {part.end}.",
                suggestion=_NETWORK_SUGGESTION,
                url=self.shown,
                transient=True,
            )
