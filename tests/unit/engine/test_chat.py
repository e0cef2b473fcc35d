"""ChatSession: a turn that fails leaves the history as it was, and the next turn works."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from music_reasoning.config import load_settings
from music_reasoning.engine.chat import ChatSession
from music_reasoning.engine.local import LocalEngine
from music_reasoning.errors import InferenceTimeoutError, InvalidInputError

from .fake_backend import FakeBackend


@pytest.fixture
def engine(tmp_path: Path) -> LocalEngine:
    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 4096)
    backend = FakeBackend({0: "a triad has three notes"}, n_batch=64, n_seq_max=1)
    settings = load_settings(n_ctx=4096, n_parallel=1)
    return LocalEngine(gguf, settings=settings, backend_factory=lambda path, **kw: backend)


@pytest.mark.parametrize("message", ["", "\0\0", "\ud800", "x" * 1001])
def test_an_invalid_message_is_refused_and_the_history_is_untouched(
    engine: LocalEngine, message: str
) -> None:
    session = ChatSession(engine=engine, temperature=0.0, max_tokens=8)
    first = session.ask("What is a triad?")
    with pytest.raises(InvalidInputError):
        list(session.stream(message))
    with pytest.raises(InvalidInputError):
        session.ask(message)
    assert session.history == [("What is a triad?", first)]


def test_a_timed_out_turn_is_not_remembered_and_the_session_goes_on(engine: LocalEngine) -> None:
    session = ChatSession(engine=engine, temperature=0.0, max_tokens=8, timeout=1e-9)
    with pytest.raises(InferenceTimeoutError):
        list(session.stream("What is a triad?"))
    assert session.history == [] and session.resets == 0
    session._params = replace(session._params, timeout=30.0)  # the same session, more time
    assert list(session.stream("What is a triad?"))
    assert [q for q, _ in session.history] == ["What is a triad?"]
