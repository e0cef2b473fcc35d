"""``models quantize``: make a variant locally with llama.cpp's own quantizer.

The result is written to the store's folder for that variant (``.partial`` first, then
renamed), hashed, and recorded in the user's registry with its SHA-256, so it lists,
verifies and loads like a pulled variant.  Requantizing an already quantized source
loses accuracy, so it needs ``allow_requantize=True``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from filelock import FileLock

from music_reasoning.engine.hardware import default_threads
from music_reasoning.errors import InvalidInputError
from music_reasoning.models.files import mark_verified, sha256_file
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
        file_type_name,
        quantize,
        read_metadata,
    )

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
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    logger.info("quantizing %s (%s) to %s", src, source_type, target_q)
    with FileLock(str(dest) + ".lock"):  # the lock `models pull` and `models rm` take
        quantize(
            src, partial, target_q, allow_requantize=allow_requantize, threads=default_threads()
        )
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, dest)
        digest = sha256_file(dest)
        mark_verified(dest, digest)
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
