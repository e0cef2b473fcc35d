"""The local backend names the model the process uses, including after use_model()."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from music_reasoning.engine import runtime
from music_reasoning.engine.pool import EnginePool
from music_reasoning.models.files import mark_verified
from music_reasoning.sdk.backends import LocalBackend


@pytest.fixture
def fresh_pool() -> Iterator[EnginePool]:
    saved, runtime._pool = runtime._pool, EnginePool()
    try:
        yield runtime._pool
    finally:
        runtime._pool = saved


def test_weaknesses_and_model_id_follow_use_model(fresh_pool: EnginePool, tmp_path: Path) -> None:
    assert LocalBackend().weaknesses() == {}  # the embedded model has none
    fresh_pool.default_model = "core3b:v4.5"  # what use_model() sets
    assert "backdoor_progression" in LocalBackend().weaknesses()
    assert LocalBackend("core3b:v4.8").weaknesses() == {}  # fixed in v4.8
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 2048)
    fresh_pool.default_model = str(model)
    assert LocalBackend().model_file() == model
    assert LocalBackend().model_id().startswith("mine.gguf:2052:")
    assert LocalBackend().weaknesses() == {}
    mark_verified(model, "ab" * 32)  # a file the store verified is named by its digest
    assert LocalBackend().model_id() == "sha256:" + "ab" * 32
    model.write_bytes(b"GGUF" + b"\1" * 2049)  # changed since: the marker no longer holds
    assert LocalBackend().model_id().startswith("mine.gguf:")
