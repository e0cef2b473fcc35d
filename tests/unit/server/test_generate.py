"""Generator and TokenStream on the scripted engine: whole, streamed, closed, stalled."""

from __future__ import annotations

import threading

import anyio
import pytest

from music_reasoning.errors import InferenceError, InferenceTimeoutError, InvalidInputError
from music_reasoning.params import GenerationParams
from music_reasoning.server.generate import STREAM_BUFFER, GenerateRequest, Generator

from .fake_engine import ScriptedEngine

PARAMS = GenerationParams(temperature=0.0, max_tokens=50, timeout=5.0)


def test_complete_returns_the_text_tokens_and_first_token_time() -> None:
    engine = ScriptedEngine()
    generator = Generator(engine, model_id="fake")
    g = anyio.run(generator.complete, GenerateRequest("What is C?", PARAMS, raw=True))
    assert (g.text, g.completion_tokens, g.finish_reason) == ("C, E and G.", 4, "stop")
    assert g.first_token_at is not None and g.started_at <= g.first_token_at <= g.finished_at
    assert engine.calls[0].raw is True


def test_a_stream_yields_every_chunk_then_its_result() -> None:
    generator = Generator(ScriptedEngine(), model_id="fake")

    async def main() -> tuple[list[str], str]:
        stream = generator.stream(GenerateRequest("Q", PARAMS))
        chunks = [chunk async for chunk in stream]
        assert stream.result is not None
        return chunks, stream.result.finish_reason

    assert anyio.run(main) == (["C,", " E", " and", " G."], "stop")


def test_closing_a_stream_stops_decoding_and_waits_for_the_engine() -> None:
    gate = threading.Event()
    engine = ScriptedEngine(words=["w"] * 40, gate=gate)
    generator = Generator(engine, model_id="fake")

    async def main() -> None:
        stream = generator.stream(GenerateRequest("Q", PARAMS))
        gate.set()
        assert await stream.first() == "w"
        await stream.aclose()  # returns only once the engine call has ended
        assert engine.finished.is_set()

    anyio.run(main)
    call = engine.calls[0]
    assert call.finish_reason == "cancelled"
    assert len(call.emitted) <= STREAM_BUFFER + 3  # stopped within a token of the buffer


def test_a_reader_that_stalls_past_the_deadline_stops_decoding_and_gets_timeout() -> None:
    engine = ScriptedEngine(words=["w"] * 200)
    generator = Generator(engine, model_id="fake")
    params = GenerationParams(max_tokens=200, timeout=0.3)

    async def main() -> int:
        stream = generator.stream(GenerateRequest("Q", params))
        got = [await stream.first()]
        await anyio.sleep(0.6)  # the buffer fills, the deadline passes
        with pytest.raises(InferenceTimeoutError, match="stopped reading"):
            async for chunk in stream:
                got.append(chunk)
        return len(got)

    read = anyio.run(main)
    assert engine.calls[0].finish_reason == "timeout"  # held by its reader to the deadline
    # every chunk decoded was read, nothing dropped; decoding stopped a buffer ahead
    assert read == len(engine.calls[0].emitted) <= STREAM_BUFFER + 1


def test_has_room_says_whether_the_reader_is_behind() -> None:
    engine = ScriptedEngine(words=["w"] * 100)
    generator = Generator(engine, model_id="fake")

    async def main() -> None:
        stream = generator.stream(GenerateRequest("Q", PARAMS))
        assert stream.has_room()
        await stream.first()
        for _ in range(200):  # the engine fills the buffer while nobody reads
            if not stream.has_room():
                break
            await anyio.sleep(0.01)
        assert not stream.has_room()
        await stream.aclose()

    anyio.run(main)


def test_an_engine_error_reaches_the_reader_after_the_chunks_before_it() -> None:
    engine = ScriptedEngine(fail_after=2, error=InferenceError("decode failed"))
    generator = Generator(engine, model_id="fake")

    async def main() -> list[str]:
        got: list[str] = []
        with pytest.raises(InferenceError):
            async for chunk in generator.stream(GenerateRequest("Q", PARAMS)):
                got.append(chunk)
        return got

    assert anyio.run(main) == ["C,", " E"]


def test_check_refuses_prompts_the_engine_would_refuse() -> None:
    generator = Generator(ScriptedEngine(), model_id="fake", max_prompt_chars=10)
    with pytest.raises(InvalidInputError):
        generator.check(GenerateRequest("x" * 11, PARAMS))
    with pytest.raises(InvalidInputError):
        generator.check(GenerateRequest(" \u200b ", PARAMS))


def test_loading_in_the_background_sets_ready_or_keeps_the_error() -> None:
    gate = threading.Event()
    generator = Generator(ScriptedEngine(load_gate=gate), model_id="fake")
    generator.start_loading()
    assert not generator.ready
    gate.set()
    assert generator.wait_ready(5) and generator.is_loaded()

    failing = Generator(ScriptedEngine(load_error=InvalidInputError("bad")), model_id="m")
    failing.start_loading()
    assert not failing.wait_ready(0.5)
    assert failing.load_error is not None and failing.load_error.code == "INVALID_INPUT"


def test_accepted_model_names() -> None:
    g = Generator(ScriptedEngine(), model_id="gemma3-270m", aliases=["g.gguf"])
    assert g.accepts("gemma3-270m") and g.accepts("g.gguf") and not g.accepts("gpt-4")
