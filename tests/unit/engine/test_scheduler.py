"""Continuous batching on a scripted backend: admission between steps, per-sequence
deadlines, held readers, failures, closing (pure logic, no model)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from music_reasoning.engine.decoder import Decoder, SeqRequest
from music_reasoning.engine.scheduler import Scheduler
from music_reasoning.errors import InferenceError, InferenceTimeoutError
from music_reasoning.params import GenerationParams

from .fake_backend import FakeBackend

FAR = 60.0


class SlotBackend(FakeBackend):
    """Each new sequence in a slot starts its slot's script again; steps take a moment."""

    def __init__(self, scripts: dict[int, str], *, step_s: float = 0.002, **kw: int) -> None:
        super().__init__(scripts, **kw)
        self.step_s = step_s

    def seq_rm(self, seq: int, p0: int, p1: int = -1) -> bool:
        self._produced.pop(seq, None)
        return super().seq_rm(seq, p0, p1)

    def decode(self, entries: object) -> None:
        time.sleep(self.step_s)
        super().decode(entries)  # type: ignore[arg-type]


def toks(text: str) -> list[int]:
    return [ord(c) for c in text]


def req(prompt: str, max_tokens: int = 64, **kw: object) -> SeqRequest:
    return SeqRequest(toks(prompt), GenerationParams(max_tokens=max_tokens), **kw)  # type: ignore[arg-type]


@pytest.fixture
def make() -> Iterator[object]:
    made: list[Scheduler] = []

    def build(backend: FakeBackend) -> Scheduler:
        s = Scheduler(Decoder(backend, n_ctx=1000))
        made.append(s)
        return s

    yield build
    for s in made:
        s.close()


def deadline(seconds: float = FAR) -> float:
    return time.monotonic() + seconds


def test_more_requests_than_slots_all_answer_and_a_new_one_joins_a_running_batch(
    make: object,
) -> None:
    backend = SlotBackend({0: "a" * 40, 1: "bb"}, n_seq_max=2)
    sched = make(backend)  # type: ignore[operator]
    tickets = sched.submit([req("Q1"), req("Q2"), req("Q3")], deadline=deadline())
    results = [t.wait(10) for t in tickets]
    assert [r.text for r in results] == ["a" * 40, "bb", "bb"]  # Q3 took Q2's slot
    assert all(r.error is None for r in results)
    # Q3's prompt was read in a step that also decoded Q1's next token: it joined the batch
    joined = [
        d
        for d in backend.decodes
        if any(e[2] == 0 and e[3] for e in d) and (ord("3"), 1) in {(e[0], e[1]) for e in d}
    ]
    assert joined, backend.decodes
    assert sched.active == 0 and sched.queued == 0


def test_a_late_request_finishes_while_an_earlier_one_is_still_generating(make: object) -> None:
    backend = SlotBackend({0: "a" * 200, 1: "b"}, n_seq_max=2)
    sched = make(backend)  # type: ignore[operator]
    (long,) = sched.submit([req("Q1", max_tokens=200)], deadline=deadline())
    time.sleep(0.05)
    assert not long.done
    (short,) = sched.submit([req("Q2")], deadline=deadline())
    assert short.wait(10).text == "b"
    assert not long.done  # it was not held back by the newcomer, nor made to finish first
    assert long.wait(10).text == "a" * 200


def test_each_sequence_keeps_its_own_deadline(make: object) -> None:
    backend = SlotBackend({0: "a" * 1000, 1: "bbb"}, n_seq_max=2)
    sched = make(backend)  # type: ignore[operator]
    (slow,) = sched.submit([req("Q1", max_tokens=1000)], deadline=deadline(0.1))
    (quick,) = sched.submit([req("Q2")], deadline=deadline())
    r = slow.wait(10)
    assert isinstance(r.error, InferenceTimeoutError) and r.finish_reason == "timeout"
    assert 0 < r.completion_tokens < 1000
    assert quick.wait(10).text == "bbb"


def test_a_held_reader_does_not_hold_the_others(make: object) -> None:
    backend = SlotBackend({0: "a" * 50, 1: "bbbb"}, n_seq_max=2)
    sched = make(backend)  # type: ignore[operator]
    chunks: list[str] = []
    (held,) = sched.submit(
        [req("Q1", emit=lambda t: chunks.append(t) is None, ready=lambda: len(chunks) < 3)],
        deadline=deadline(0.3),
    )
    (free,) = sched.submit([req("Q2")], deadline=deadline())
    assert free.wait(10).text == "bbbb"
    r = held.wait(10)
    assert isinstance(r.error, InferenceTimeoutError)
    assert "".join(chunks) == "aaa"  # held after its reader fell three chunks behind


def test_a_budget_starts_at_admission_and_a_queued_deadline_can_pass(make: object) -> None:
    backend = SlotBackend({0: "a" * 60}, n_seq_max=1, step_s=0.004)
    sched = make(backend)  # type: ignore[operator]
    first, second = sched.submit([req("Q1"), req("Q2")], budget=5.0)
    assert first.wait(10).text == "a" * 60 and second.wait(10).text == "a" * 60
    (busy,) = sched.submit([req("Q3")], budget=5.0)
    (late,) = sched.submit([req("Q4")], deadline=deadline(0.01))  # waits behind Q3
    r = late.wait(10)
    assert isinstance(r.error, InferenceTimeoutError) and "busy" in str(r.error)
    assert busy.wait(10).error is None


def test_a_queued_call_ends_at_its_deadline_while_every_slot_stays_busy(make: object) -> None:
    backend = SlotBackend({0: "a" * 400}, n_seq_max=1)
    sched = make(backend)  # type: ignore[operator]
    (busy,) = sched.submit([req("Q1", max_tokens=400)], deadline=deadline())
    (waiting,) = sched.submit([req("Q2")], deadline=deadline(0.05))
    started = time.monotonic()
    r = waiting.wait(10)
    assert isinstance(r.error, InferenceTimeoutError)
    assert time.monotonic() - started < 0.5 and not busy.done  # not when Q1 ends
    assert busy.wait(10).error is None


def test_a_decode_failure_ends_that_steps_sequences_and_the_loop_goes_on(make: object) -> None:
    backend = SlotBackend({0: "aaaa", 1: "bbbb"}, n_seq_max=2)
    sched = make(backend)  # type: ignore[operator]
    backend.fail_next.append(InferenceError("KV cache full", transient=True))
    tickets = sched.submit([req("Q1"), req("Q2")], deadline=deadline())
    errors = [t.wait(10).error for t in tickets]
    assert all(isinstance(e, InferenceError) and e.transient for e in errors)
    (again,) = sched.submit([req("Q3")], deadline=deadline())
    assert again.wait(10).text == "aaaa"


def test_closing_fails_what_is_queued_and_refuses_new_work() -> None:
    backend = SlotBackend({0: "a" * 500}, n_seq_max=1)
    sched = Scheduler(Decoder(backend, n_ctx=1000))
    running, queued = sched.submit([req("Q1", max_tokens=500), req("Q2")], deadline=deadline())
    time.sleep(0.02)
    sched.close()
    assert isinstance(running.wait(1).error, InferenceError)
    assert isinstance(queued.wait(1).error, InferenceError)
    with pytest.raises(InferenceError):
        sched.submit([req("Q3")], deadline=deadline())


def test_many_threads_share_the_loop(make: object) -> None:
    backend = SlotBackend({i: "xyz" for i in range(4)}, n_seq_max=4)
    sched = make(backend)  # type: ignore[operator]
    texts: list[str] = []

    def call(i: int) -> None:
        (t,) = sched.submit([req(f"Q{i}")], deadline=deadline())
        texts.append(t.wait(10).text)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert texts == ["xyz"] * 12
    assert max(len({e[2] for e in d}) for d in backend.decodes) > 1  # steps were shared
