from __future__ import annotations

from pathlib import Path

import pytest

from music_reasoning.engine import hardware
from music_reasoning.errors import InsufficientRAMError

GEMMA = {
    "general.architecture": "gemma3",
    "gemma3.block_count": "18",
    "gemma3.attention.head_count": "4",
    "gemma3.attention.head_count_kv": "1",
    "gemma3.attention.key_length": "256",
    "gemma3.attention.value_length": "256",
    "gemma3.embedding_length": "640",
}


def test_kv_bytes_per_token_from_metadata() -> None:
    assert hardware.kv_bytes_per_token(GEMMA) == 2 * 18 * 1 * (256 + 256)
    no_lengths = {k: v for k, v in GEMMA.items() if "length" not in k or "embedding" in k}
    assert hardware.kv_bytes_per_token(no_lengths) == 2 * 18 * 1 * (160 + 160)
    assert hardware.kv_bytes_per_token({}) == hardware._UPPER_KV_BYTES_PER_TOKEN


def test_check_memory_reads_metadata_only_when_needed(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 4096)
    calls: list[int] = []

    def meta() -> dict[str, str]:
        calls.append(1)
        return GEMMA

    hardware.check_memory(model, n_ctx_total=1024, metadata=meta)
    assert calls == []  # a generous bound fits in real free memory
    budget = hardware._OVERHEAD_BYTES + 4100 + 1024 * 18432 + 1
    assert hardware.check_memory(model, n_ctx_total=1024, metadata=meta, budget=budget) < budget
    assert calls == [1]
    with pytest.raises(InsufficientRAMError) as info:
        hardware.check_memory(model, n_ctx_total=1024, metadata=meta, budget=budget - 10_000)
    assert info.value.details["available_bytes"] == budget - 10_000


def test_default_threads_is_positive() -> None:
    assert hardware.default_threads() >= 1
