"""Hardware facts: threads, memory, and the model's memory needs (read from its GGUF header)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

from music_reasoning.errors import InsufficientRAMError
from music_reasoning.models.recommend import Machine

__all__ = [
    "available_memory",
    "check_memory",
    "default_threads",
    "describe_machine",
    "kv_bytes_per_token",
]

logger = logging.getLogger(__name__)

_OVERHEAD_BYTES = 64 << 20  # compute buffers, tokenizer, allocator slack
_UPPER_KV_BYTES_PER_TOKEN = 512 << 10  # above a 70B model with GQA at f16


def default_threads() -> int:
    """Physical cores (hyper-threads slow llama.cpp down), at least 1."""
    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def available_memory() -> int:
    """Bytes of memory the system can give without swapping."""
    return int(psutil.virtual_memory().available)


def describe_machine() -> Machine:
    """Free and total memory (psutil) and what the installed llama.cpp build can offload."""
    from music_reasoning.engine._llama import backend_info

    info = backend_info()
    memory = psutil.virtual_memory()
    return Machine(
        available_memory=int(memory.available),
        total_memory=int(memory.total),
        gpu_offload=info.gpu_offload,
        backend=info.backend,
    )


def kv_bytes_per_token(metadata: Mapping[str, str]) -> int:
    """KV cache bytes per token (f16 K and V over every layer) from GGUF metadata."""

    def value(key: str) -> int | None:
        raw = metadata.get(key)
        return int(raw) if raw and raw.isdigit() else None

    arch = metadata.get("general.architecture", "")
    layers = value(f"{arch}.block_count")
    heads = value(f"{arch}.attention.head_count")
    heads_kv = value(f"{arch}.attention.head_count_kv") or heads
    embd = value(f"{arch}.embedding_length")
    k_len = value(f"{arch}.attention.key_length") or (embd // heads if embd and heads else None)
    v_len = value(f"{arch}.attention.value_length") or k_len
    if not (layers and heads_kv and k_len and v_len):
        return _UPPER_KV_BYTES_PER_TOKEN
    return 2 * layers * heads_kv * (k_len + v_len)


def check_memory(
    path: Path,
    *,
    n_ctx_total: int,
    metadata: Callable[[], Mapping[str, str]],
    budget: int | None = None,
) -> int:
    """Raise before loading when the model cannot fit; return the estimate in bytes.

    The estimate is weights (file size) + KV cache + overhead.  ``metadata`` is only
    read (it costs a header parse) when a generous upper bound does not clearly fit.
    ``budget`` (bytes) caps what the package may use, below what the system has free.

    Raises:
        InsufficientRAMError: the estimate exceeds free memory (or the budget).
    """
    have = available_memory()
    if budget is not None:
        have = min(have, budget)
    weights = path.stat().st_size + _OVERHEAD_BYTES
    need = weights + n_ctx_total * _UPPER_KV_BYTES_PER_TOKEN
    if need <= have:
        return need
    need = weights + n_ctx_total * kv_bytes_per_token(metadata())
    if need > have:
        raise InsufficientRAMError(
            f"Loading {path.name} needs about {need / 2**20:.0f} MiB "
            f"but only {have / 2**20:.0f} MiB is available.",
            details={"needed_bytes": need, "available_bytes": have, "path": str(path)},
        )
    return need
