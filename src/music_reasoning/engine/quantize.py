"""``models quantize``: make a variant locally with llama.cpp's own quantizer.

The result is written to the store's folder for that variant (``.partial`` first, then
renamed, under the lock ``models pull`` takes), hashed, and recorded in the user's
registry with its SHA-256, so it lists, verifies and loads like a pulled variant.
Requantizing an already quantized source loses accuracy, so it needs
``allow_requantize=True``.  A refused or failed run leaves nothing behind: no
``.partial``, no lock file, no empty folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from music_reasoning.engine.hardware import default_threads
from music_reasoning.errors import InvalidInputError, MusicReasoningError, storage_error
from music_reasoning.models.files import (
    acquire_or_wait,
    mark_verified,
    model_lock,
    recorded_digest,
    release_removing,
    sha256_file,
)
from music_reasoning.models.registry import Variant, add_user_model, get_model, parse_spec
from music_reasoning.models.store import resolve, variant_path

__all__ = ["QuantizeResult", "quantize_model"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuantizeResult:
    """What ``quantize_model`` made."""

    model: str
    source: str
    source_type: str
    path: str
    size: int
    sha256: str
    requantized: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _quantize_into(dest: Path, src: Path, target_q: str, *, allow_requantize: bool) -> None:
    """Write ``dest`` (via ``.partial``, marked verified) under the lock ``models pull`` takes.

    The lock file and a failed run's ``.partial`` are deleted before returning.

    Raises:
        InvalidInputError: llama.cpp has no quantization ``target_q``.
        InferenceError: llama.cpp failed.
        InsufficientDiskError, StorageError: the store's folder cannot take the file.
    """
    from music_reasoning.engine._llama import quantize

    partial = dest.with_name(dest.name + ".partial")
    lock = model_lock(dest)
    try:
        acquire_or_wait(lock, f"another process writing {dest.name}")
    except OSError as exc:
        raise storage_error(exc, dest.parent, "write the quantized model into") from exc
    try:
        quantize(
            src, partial, target_q, allow_requantize=allow_requantize, threads=default_threads()
        )
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, dest)
        mark_verified(dest, sha256_file(dest))
    except MusicReasoningError:
        raise
    except OSError as exc:
        raise storage_error(exc, dest, "write") from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        release_removing(lock)


def quantize_model(spec: str, to: str, *, allow_requantize: bool = False) -> QuantizeResult:
    """Produce ``NAME:TO`` from the installed variant ``spec`` and register it.

    Raises:
        InvalidInputError: the source is already quantized and ``allow_requantize`` is
            off, or ``to`` is unknown / the same as the source.
        ModelUnavailableError: the source is not installed.
        InferenceError: llama.cpp failed.
    """
    from music_reasoning.engine._llama import (
        UNQUANTIZED_FILE_TYPES,
        check_quantization,
        file_type_name,
        read_metadata,
    )

    check_quantization(to)  # before it names any file
    name, _ = parse_spec(spec)
    entry = get_model(name)
    target_q = to.upper()
    src = resolve(spec)
    raw_type = read_metadata(src).get("general.file_type", "")
    source_type = file_type_name(int(raw_type)) if raw_type.isdigit() else "unknown"
    if source_type == target_q:
        raise InvalidInputError(f"{spec} is already {target_q}.")
    requantize = not (raw_type.isdigit() and int(raw_type) in UNQUANTIZED_FILE_TYPES)
    if requantize and not allow_requantize:
        raise InvalidInputError(
            f"{spec} is already quantized ({source_type}); requantizing it to {target_q} "
            "loses accuracy compared with quantizing an F16/F32 original.",
            suggestion="Quantize from an F16 variant, or pass --allow-requantize to go on.",
            details={"source_type": source_type},
        )
    filename = f"{name.replace(':', '-')}-{target_q.lower()}.gguf"
    dest = variant_path(entry, Variant(quantization=target_q, filename=filename))
    created = [d for d in (dest.parent.parent, dest.parent) if not d.exists()]
    logger.info("quantizing %s (%s) to %s", src, source_type, target_q)
    try:
        _quantize_into(dest, src, target_q, allow_requantize=allow_requantize)
    except BaseException:
        for folder in reversed(created):  # a refused or failed run leaves no empty folders
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    digest = recorded_digest(dest) or sha256_file(dest)
    add_user_model(f"{name}:{target_q}", sha256=digest, size=dest.stat().st_size, managed=True)
    if dest != variant_path(get_model(name), get_model(name).variant(target_q)):
        raise InvalidInputError(f"Registry and store disagree on where {name}:{target_q} lives.")
    return QuantizeResult(
        model=f"{name}:{target_q}",
        source=str(src),
        source_type=source_type,
        path=str(dest),
        size=dest.stat().st_size,
        sha256=digest,
        requantized=requantize,
    )
