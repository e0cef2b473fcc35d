from __future__ import annotations

import time

import pytest

from music_reasoning.engine.decoder import Decoder, SeqRequest, StopMatcher
from music_reasoning.errors import InferenceTimeoutError, InvalidInputError
from music_reasoning.params import GenerationParams

from .fake_backend import FakeBackend

FAR = 1e12


def toks(text: str) -> list[int]:
    return [ord(c) for c in text]


def test_stop_matcher_holds_back_partial_stop_strings() -> None:
    m = StopMatcher(["\nQuestion:"])
    assert m.feed("Hello") == ("Hello", False)
    assert m.feed("\nQue") == ("", False)  # could be the start of the stop string
    assert m.feed("st") == ("", False)
    assert m.feed("ion: next") == ("", True)
    m2 = StopMatcher(["\n\n"])
    assert m2.feed("a\n") == ("a", False)
    assert m2.feed("b") == ("\nb", False)  # not a stop after all: released
    assert m2.flush() == ""


def test_single_sequence_stops_at_eos_and_counts_tokens() -> None:
    backend = FakeBackend({0: "Hi!"})
    (r,) = Decoder(backend, n_ctx=100).run(
        [SeqRequest(toks("Q:"), GenerationParams(max_tokens=10))], deadline=FAR
    )
    assert (r.text, r.finish_reason, r.completion_tokens, r.prompt_tokens) == ("Hi!", "stop", 3, 2)
    assert r.first_token_at is not None


def test_max_tokens_and_stop_strings() -> None:
    backend = FakeBackend({0: "abcdef"})
    (r,) = Decoder(backend, n_ctx=100).run(
        [SeqRequest(toks("Q"), GenerationParams(max_tokens=4))], deadline=FAR
    )
    assert (r.text, r.finish_reason) == ("abcd", "length")
    backend = FakeBackend({0: "ab\n\ncd"})
    (r,) = Decoder(backend, n_ctx=100).run(
        [SeqRequest(toks("Q"), GenerationParams(stop=("\n\n",)))], deadline=FAR
    )
    assert (r.text, r.finish_reason) == ("ab", "stop")


def test_prefix_is_reused_across_calls() -> None:
    backend = FakeBackend({0: "x"})
    dec = Decoder(backend, n_ctx=100)
    dec.run([SeqRequest(toks("PREFIX-one"), GenerationParams())], deadline=FAR)
    backend.reset_scripts({0: "y"})
    backend.decodes.clear()
    (r,) = dec.run([SeqRequest(toks("PREFIX-two"), GenerationParams())], deadline=FAR)
    assert r.reused_tokens == len("PREFIX-")
    evaluated = [e for e in backend.decodes[0] if e[2] == 0]
    assert [chr(e[0]) for e in evaluated] == list("two")
    assert evaluated[0][1] == len("PREFIX-")  # positions continue after the kept prefix
    (r,) = dec.run(
        [SeqRequest(toks("PREFIX-two"), GenerationParams())], deadline=FAR, reuse_prefix=False
    )
    assert r.reused_tokens == 0


def test_batch_preserves_order_and_copies_shared_prefix() -> None:
    backend = FakeBackend({0: "A", 1: "BB", 2: "CCC"})
    reqs = [SeqRequest(toks(f"SHARED {c}"), GenerationParams()) for c in "xyz"]
    results = Decoder(backend, n_ctx=100).run(reqs, deadline=FAR)
    assert [r.text for r in results] == ["A", "BB", "CCC"]
    assert {e[2] for e in backend.decodes[0]} == {0}  # sequence 0 reads its prompt first
    assert (0, 1, 0, len("SHARED ")) in backend.cps
    assert (0, 2, 0, len("SHARED ")) in backend.cps
    assert results[1].reused_tokens == len("SHARED ")
    # Later steps decode the sequences together: one batch holds several sequences.
    assert any(len({e[2] for e in d}) > 1 for d in backend.decodes[1:])


def test_long_prompts_are_split_into_n_batch_chunks() -> None:
    backend = FakeBackend({0: "ok"}, n_batch=4)
    (r,) = Decoder(backend, n_ctx=100).run(
        [SeqRequest(toks("0123456789"), GenerationParams())], deadline=FAR
    )
    assert r.text == "ok"
    assert all(len(d) <= 4 for d in backend.decodes)
    positions = [e[1] for d in backend.decodes for e in d]
    assert positions[:10] == list(range(10))


def test_cancel_from_emit_stops_decoding() -> None:
    backend = FakeBackend({0: "abcdefghij"})
    seen: list[str] = []

    def emit(text: str) -> bool:
        seen.append(text)
        return len(seen) < 3

    (r,) = Decoder(backend, n_ctx=100).run(
        [SeqRequest(toks("Q"), GenerationParams(), emit)], deadline=FAR
    )
    assert r.finish_reason == "cancelled"
    assert seen == ["a", "b", "c"]
    assert len(backend.decodes) == 3  # the prompt step plus two token steps, nothing after


def test_deadline_raises_timeout_for_a_single_call() -> None:
    backend = FakeBackend({0: "abc"})
    with pytest.raises(InferenceTimeoutError):
        Decoder(backend, n_ctx=100).run(
            [SeqRequest(toks("Q"), GenerationParams())], deadline=time.monotonic() - 1
        )
    assert backend.decodes == []


def test_deadline_in_a_batch_marks_unfinished_items() -> None:
    backend = FakeBackend({0: "a", 1: "b"})
    results = Decoder(backend, n_ctx=100).run(
        [SeqRequest(toks("Q1"), GenerationParams()), SeqRequest(toks("Q2"), GenerationParams())],
        deadline=time.monotonic() - 1,
    )
    assert all(isinstance(r.error, InferenceTimeoutError) for r in results)


def test_prompt_longer_than_context_is_invalid() -> None:
    with pytest.raises(InvalidInputError, match="context"):
        Decoder(FakeBackend({}), n_ctx=5).run(
            [SeqRequest(toks("0123456789"), GenerationParams())], deadline=FAR
        )


def test_generation_stops_at_the_context_limit() -> None:
    backend = FakeBackend({0: "abcdefghijklmnop"})
    (r,) = Decoder(backend, n_ctx=8).run(
        [SeqRequest(toks("Q"), GenerationParams(max_tokens=100))], deadline=FAR
    )
    assert r.finish_reason == "length"
    assert r.completion_tokens <= 7


def test_a_prefix_purged_by_the_sliding_window_is_not_reused() -> None:
    backend = FakeBackend({0: "x"})
    dec = Decoder(backend, n_ctx=100)
    dec.run([SeqRequest(toks("PREFIX-one"), GenerationParams())], deadline=FAR)
    backend.pos_min[0] = 3  # llama.cpp dropped the first cells of sequence 0
    backend.reset_scripts({0: "y", 1: "z"})
    backend.cps.clear()
    reqs = [SeqRequest(toks(f"PREFIX-{w}"), GenerationParams()) for w in ("two", "six")]
    results = dec.run(reqs, deadline=FAR)
    assert [r.reused_tokens for r in results] == [0, 0]
    assert backend.cps == []  # nothing copied from a purged sequence
    assert [r.text for r in results] == ["y", "z"]


def test_a_tuner_sets_the_thread_count_of_each_step_and_hears_its_time() -> None:
    from music_reasoning.engine.threads import ThreadTuner

    class Recording(ThreadTuner):
        def __init__(self) -> None:
            super().__init__(2, start=1)
            self.records: list[tuple[int, int]] = []

        def record(self, threads: int, n_tokens: int, seconds: float) -> None:
            self.records.append((threads, n_tokens))
            assert seconds >= 0
            super().record(threads, n_tokens, seconds)

    backend = FakeBackend({0: "abcdefgh"})
    tuner = Recording()
    (r,) = Decoder(backend, n_ctx=100, tuner=tuner).run(
        [SeqRequest(toks("Q:"), GenerationParams(max_tokens=20))], deadline=FAR
    )
    assert r.text == "abcdefgh"
    assert backend.thread_changes == [1]  # set once, not on every step
    assert [k for _, k in tuner.records] == [len(d) for d in backend.decodes]
    assert {t for t, _ in tuner.records} == {1}
