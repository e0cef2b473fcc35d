"""LocalEngine threading on the scripted backend: streams, unload and batch isolation."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from music_reasoning.config import load_settings
from music_reasoning.engine.local import STREAM_BUFFER, LocalEngine
from music_reasoning.errors import InferenceTimeoutError, InvalidInputError
from music_reasoning.params import GenerationParams

from .fake_backend import FakeBackend

SCRIPT = "abcdefghijklmnopqrstuvwxyz" * 4


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 4096)
    return path


def engine_on(backend: FakeBackend, gguf: Path, n_ctx: int = 2048) -> LocalEngine:
    settings = load_settings(n_ctx=n_ctx, n_parallel=backend.n_seq_max)
    return LocalEngine(gguf, settings=settings, backend_factory=lambda path, **kw: backend)


def test_a_stalled_reader_stops_decoding_and_gets_every_chunk_then_timeout(
    gguf: Path,
) -> None:
    backend = FakeBackend({0: SCRIPT}, n_batch=64)
    engine = engine_on(backend, gguf)
    stream = engine.stream("hello", GenerationParams(temperature=0.0, max_tokens=100, timeout=1.0))
    chunks = [next(stream)]
    time.sleep(1.6)  # past the deadline with a full buffer
    with pytest.raises(InferenceTimeoutError):
        for chunk in stream:
            chunks.append(chunk)
    assert "".join(chunks) == SCRIPT[: stream.produced]  # nothing dropped, nothing invented
    assert stream.produced <= STREAM_BUFFER + 2
    assert engine.decoding == 0  # the model is free again: nothing decodes for it


def test_unload_waits_for_a_running_call_instead_of_freeing_it(gguf: Path) -> None:
    backend = FakeBackend({0: SCRIPT}, n_batch=64)
    engine = engine_on(backend, gguf)
    stream = engine.stream("hello", GenerationParams(temperature=0.0, max_tokens=50, timeout=30))
    first = next(stream)
    unloaded = threading.Event()
    worker = threading.Thread(target=lambda: (engine.unload(), unloaded.set()))
    worker.start()
    time.sleep(0.3)
    assert not unloaded.is_set() and not backend.closed  # still in use by the stream
    rest = "".join(stream)
    worker.join(timeout=5)
    assert unloaded.is_set() and backend.closed
    assert first + rest == SCRIPT[:50]
    assert not engine.is_loaded()


def test_a_too_long_prompt_fails_alone_in_its_batch(gguf: Path) -> None:
    backend = FakeBackend({0: "one", 1: "two"}, n_batch=64)
    engine = engine_on(backend, gguf, n_ctx=300)
    prompts = ["short question", "x" * 299 + "?", "another one"]
    items = engine.batch(prompts, GenerationParams(temperature=0.0, max_tokens=5), raw=True)
    assert [i.index for i in items] == [0, 1, 2]
    assert items[1].error is not None and items[1].error.code == "INVALID_INPUT"
    assert items[0].ok and items[2].ok and items[0].text and items[2].text


@pytest.mark.parametrize("prompts", ["What is a chord?", b"What is a chord?", None])
def test_a_batch_of_one_string_is_refused_before_anything_runs(gguf: Path, prompts: object) -> None:
    backend = FakeBackend({0: "one"}, n_batch=64)
    engine = engine_on(backend, gguf)
    with pytest.raises(InvalidInputError, match="list of prompts"):
        engine.batch(prompts, GenerationParams(temperature=0.0, max_tokens=5))  # type: ignore[arg-type]
    assert backend.decodes == [] and not engine.is_loaded()


def test_batch_prompts_that_are_not_text_or_are_empty_fail_alone(gguf: Path) -> None:
    backend = FakeBackend({0: "one", 1: "two"}, n_batch=64)
    engine = engine_on(backend, gguf)
    prompts: list[object] = [None, 123, ["a"], "\0\0\0", "\ud800", "a question"]
    seen: list[int] = []
    items = engine.batch(
        prompts,  # type: ignore[arg-type]
        GenerationParams(temperature=0.0, max_tokens=5),
        raw=True,
        on_item=lambda item: seen.append(item.index),
    )
    assert [i.index for i in items] == list(range(6)) and sorted(seen) == list(range(6))
    assert all(i.error is not None and i.error.code == "INVALID_INPUT" for i in items[:5])
    assert items[5].ok and items[5].text
