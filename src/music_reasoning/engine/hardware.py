"""Hardware facts: threads, memory, and the model's memory needs (read from its GGUF header)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import psutil

from music_reasoning.errors import InsufficientRAMError

__all__ = ["available_memory", "check_memory", "default_threads", "estimate_model_bytes"]

logger = logging.getLogger(__name__)

_OVERHEAD_BYTES = 64 << 20  # compute buffers, tokenizer, allocator slack
_FALLBACK_KV_BYTES_PER_TOKEN = 256 << 10


def default_threads() -> int:
    """Physical cores (hyper-threads slow llama.cpp down), at least 1."""
    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def available_memory() -> int:
    """Bytes of memory the system can give without swapping."""
    return int(psutil.virtual_memory().available)


def _kv_bytes_per_token(path: Path) -> int:
    """KV cache bytes per token (f16 K and V over every layer) from GGUF metadata."""
    try:
        from gguf import GGUFReader

        reader = GGUFReader(str(path))

        def value(key: str) -> int | None:
            field = reader.fields.get(key)
            return int(field.contents()) if field is not None else None

        arch_field = reader.fields.get("general.architecture")
        arch = str(arch_field.contents()) if arch_field is not None else ""
        layers = value(f"{arch}.block_count")
        heads = value(f"{arch}.attention.head_count")
        heads_kv = value(f"{arch}.attention.head_count_kv") or heads
        embd = value(f"{arch}.embedding_length")
        k_len = value(f"{arch}.attention.key_length") or (embd // heads if embd and heads else None)
        v_len = value(f"{arch}.attention.value_length") or k_len
        if not (layers and heads_kv and k_len and v_len):
            return _FALLBACK_KV_BYTES_PER_TOKEN
        return 2 * layers * heads_kv * (k_len + v_len)
    except Exception:  # unreadable header: llama.cpp will report the real problem
        logger.debug("could not read GGUF metadata of %s", path, exc_info=True)
        return _FALLBACK_KV_BYTES_PER_TOKEN


def estimate_model_bytes(path: Path, *, n_ctx_total: int) -> int:
    """Memory to load ``path`` with ``n_ctx_total`` KV tokens: weights + KV + overhead."""
    return path.stat().st_size + n_ctx_total * _kv_bytes_per_token(path) + _OVERHEAD_BYTES


def check_memory(path: Path, *, n_ctx_total: int, budget: int | None = None) -> int:
    """Raise before loading when the model cannot fit; return the estimate in bytes.

    ``budget`` (bytes) caps what the package may use, below what the system has free.

    Raises:
        InsufficientRAMError: the estimate exceeds free memory (or the budget).
    """
    need = estimate_model_bytes(path, n_ctx_total=n_ctx_total)
    have = available_memory()
    if budget is not None:
        have = min(have, budget)
    if need > have:
        raise InsufficientRAMError(
            f"Loading {path.name} needs about {need / 2**20:.0f} MiB "
            f"but only {have / 2**20:.0f} MiB is available.",
            details={"needed_bytes": need, "available_bytes": have, "path": str(path)},
        )
    return need
