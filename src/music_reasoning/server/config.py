"""What the server runs with: one frozen :class:`ServerConfig`, checked before anything binds.

The safety rule lives here (:func:`check_bind`): the server listens on loopback unless
told otherwise, and it refuses to listen anywhere else without an API key.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from typing import Any

from music_reasoning.config import Settings, load_settings
from music_reasoning.errors import InvalidInputError
from music_reasoning.params import MAX_TIMEOUT

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_PORT",
    "ServerConfig",
    "check_bind",
    "is_loopback",
]

API_KEY_ENV = "MUSIC_REASONING_SERVER_API_KEY"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_QUEUE = 32
DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: a prompt is at most a few thousand characters
RETRY_AFTER_S = 1


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """How one server instance behaves.

    Attributes:
        host: Address to bind; loopback by default.
        port: TCP port (0: any free port).
        model: A registry name or GGUF path; None: the default model.
        parallel: Requests that may use the model at once (the rest wait in the queue).
        max_queue: Requests that may wait for a slot; one more gets 429.
        api_key: Required as ``Authorization: Bearer KEY`` on ``/v1`` and ``/metrics``
            when set; mandatory when ``host`` is not loopback.
        cors_origins: Origins allowed to call from a browser; empty: CORS off.
        max_body_bytes: Largest request body accepted (413 above).
        max_tokens: Largest ``max_tokens`` a request may ask for (400 above).
        default_max_tokens: ``max_tokens`` when a request gives none.
        timeout: Seconds one generation may run, and one request may wait in the queue.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    model: str | None = None
    parallel: int = 8
    max_queue: int = DEFAULT_MAX_QUEUE
    api_key: str | None = None
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_tokens: int = 1024
    default_max_tokens: int = 150
    timeout: float = 30.0

    def __post_init__(self) -> None:
        _check_int("port", self.port, 0, 65535)
        _check_int("parallel", self.parallel, 1, 256)
        _check_int("max_queue", self.max_queue, 0, 100_000)
        _check_int("max_body_bytes", self.max_body_bytes, 1, 1 << 30)
        _check_int("max_tokens", self.max_tokens, 1, 1 << 20)
        _check_int("default_max_tokens", self.default_max_tokens, 1, self.max_tokens)
        if isinstance(self.timeout, bool) or not 0 < self.timeout <= MAX_TIMEOUT:
            raise InvalidInputError(
                f"timeout must be a positive number of seconds up to a day, got {self.timeout!r}.",
                suggestion="Use e.g. 30.",
            )
        if not self.host or any(ch.isspace() for ch in self.host):
            raise InvalidInputError(
                f"host {self.host!r} is not an address.",
                suggestion=f"Use {DEFAULT_HOST} (this machine only) or an address of this machine.",
            )
        if self.api_key is not None and (
            not self.api_key.strip() or not self.api_key.isprintable() or not self.api_key.isascii()
        ):
            raise InvalidInputError(
                "The API key must be printable ASCII and not blank.",
                suggestion="Use a long random key, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`.",
            )
        for origin in self.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise InvalidInputError(
                    f"CORS origin {origin!r} is not an http(s) origin.",
                    suggestion="Give origins like http://localhost:5173.",
                )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> ServerConfig:
        """A config whose caps and timeout come from the package settings; ``overrides`` win.

        ``api_key`` defaults to ``MUSIC_REASONING_SERVER_API_KEY``; ``None`` values in
        ``overrides`` are ignored.

        Raises:
            InvalidInputError: a value is out of range, or an unknown option is given.
        """
        s = settings or load_settings()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise InvalidInputError(f"Unknown server options: {', '.join(unknown)}.")
        values: dict[str, Any] = {
            "parallel": max(1, s.n_parallel),
            "max_tokens": s.max_tokens_ceiling,
            "default_max_tokens": min(150, s.max_tokens_ceiling),
            "timeout": s.timeout,
            "api_key": os.environ.get(API_KEY_ENV) or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(
            f"{name} must be a whole number from {low} to {high}, got {value!r}.",
            suggestion=f"Give {name} within {low}..{high}.",
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def check_bind(config: ServerConfig) -> None:
    """Refuse to listen beyond loopback without an API key.

    Raises:
        InvalidInputError: ``config.host`` is not loopback and no API key is set.
    """
    if is_loopback(config.host) or config.api_key:
        return
    raise InvalidInputError(
        f"Refusing to listen on {config.host} without an API key: anyone who can reach it "
        "could use the model.",
        suggestion=f"Pass --api-key KEY (or set {API_KEY_ENV}), or bind {DEFAULT_HOST}.",
        details={"host": config.host},
    )
