"""Continuous batching: one thread owns the llama.cpp context and decodes for everyone.

Every call on a :class:`~.local.LocalEngine` -- ``complete``, ``stream``, ``batch``, a
chat turn, a server request, ``generate_explanation`` from many threads -- submits its
sequences here and waits for its own results::

    callers ── submit() ──► queue ──► loop thread: admit into free slots (between steps)
       ▲                                   │   Decoder.step(): one llama_decode for all
       └──── Ticket.wait() ◄── resolved ◄──┘   finished / cancelled / timed out: freed

* Admission happens between decode steps, so a new prompt's prefill joins the running
  batch; a finished, cancelled or timed-out sequence frees its slot at once.
* Each ticket keeps its own deadline: an absolute one (time waiting in the queue
  counts, as a caller's timeout does) or a budget that starts at admission (a batch's
  items, which wait for one another by design).
* A sequence whose reader is behind (``SeqRequest.ready`` False) sits steps out
  without holding up the others; ``emit`` runs on the loop thread and must not block.
* A llama.cpp failure ends the sequences of that step with the error (their callers
  retry transient ones); the loop goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from music_reasoning.engine.decoder import Decoder, SeqRequest, SeqResult
from music_reasoning.errors import InferenceError, InferenceTimeoutError, MusicReasoningError

__all__ = ["Scheduler", "Ticket"]

logger = logging.getLogger(__name__)

#: How long the loop sleeps when every sequence is held by a slow reader.
_IDLE_POLL = 0.005


@dataclass(eq=False)
class Ticket:
    """One submitted sequence: :meth:`wait` returns its result (errors are in it)."""

    request: SeqRequest
    deadline: float | None = None  # absolute (monotonic); None: ``budget`` from admission
    budget: float = 0.0
    reuse_prefix: bool = True
    submitted: float = field(default_factory=time.monotonic)
    result: SeqResult | None = None
    _done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float | None = None) -> SeqResult:
        """Block until the sequence has ended; its result (``error`` set on failure)."""
        if not self._done.wait(timeout):
            raise InferenceTimeoutError("The scheduler did not answer in time.")
        assert self.result is not None
        return self.result

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _resolve(self, result: SeqResult) -> None:
        self.result = result
        self._done.set()


class Scheduler:
    """Runs a :class:`Decoder` on its own thread and admits sequences as slots free.

    Args:
        decoder: The decoder over the loaded context (used only by the loop thread).
        name: The loop thread's name.
    """

    def __init__(self, decoder: Decoder, *, name: str = "music-reasoning-decode") -> None:
        self._decoder = decoder
        self._queue: deque[Ticket] = deque()
        self._running: dict[int, Ticket] = {}  # slot -> ticket
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    # -- callers -------------------------------------------------------------------
    def submit(
        self,
        requests: list[SeqRequest],
        *,
        deadline: float | None = None,
        budget: float | None = None,
        reuse_prefix: bool = True,
    ) -> list[Ticket]:
        """Queue ``requests``; each ends by ``deadline`` (absolute, monotonic) or within
        ``budget`` seconds of its admission.

        Raises:
            InvalidInputError: a prompt cannot fit the context window.
            InferenceError: the scheduler is closed (the model was unloaded).
        """
        if (deadline is None) == (budget is None):
            raise ValueError("give a deadline or a budget")
        for req in requests:
            self._decoder.check(req)
        tickets = [
            Ticket(r, deadline=deadline, budget=budget or 0.0, reuse_prefix=reuse_prefix)
            for r in requests
        ]
        with self._cv:
            if self._closed:
                raise InferenceError("The model was unloaded.", transient=True)
            self._queue.extend(tickets)
            self._cv.notify_all()
        return tickets

    @property
    def queued(self) -> int:
        """Sequences waiting for a slot."""
        return len(self._queue)

    @property
    def active(self) -> int:
        """Sequences admitted and decoding (or held by their reader)."""
        return len(self._running)

    def close(self) -> None:
        """Stop the loop after failing what is queued or running; waits for the thread."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()

    # -- the loop thread -----------------------------------------------------------
    def _main(self) -> None:
        try:
            while self._turn():
                pass
        except BaseException as exc:  # never leave a caller waiting
            logger.exception("decode loop failed")
            self._fail_everything(InferenceError(f"The decode loop failed: {exc}"))
            raise
        self._fail_everything(InferenceError("The model was unloaded.", transient=True))

    def _turn(self) -> bool:
        """Admit what fits, run one step, resolve what ended; False once closed."""
        with self._cv:
            while not self._closed and not self._queue and not self._running:
                self._cv.wait()
            if self._closed:
                return False
            admitted = self._admit()
        if not self._running:
            return True
        try:
            ended = self._decoder.step()
        except MusicReasoningError as exc:
            logger.warning("decode step failed: %s", exc)
            ended = self._decoder.fail_all(exc)
        except Exception as exc:  # a callback (emit, ready) raised: fail that step's work
            logger.exception("decode step failed")
            ended = self._decoder.fail_all(InferenceError(f"Decoding failed: {exc}"))
        for seq in ended:
            ticket = self._running.pop(seq.index, None)
            if ticket is not None:
                ticket._resolve(seq.result)
        if not ended and not admitted and self._decoder.active and not self._progressing():
            time.sleep(_IDLE_POLL)  # every sequence held by its reader
        return True

    def _progressing(self) -> bool:
        return bool(self._decoder.last_step_tokens)

    def _admit(self) -> int:
        """Move queued tickets into free slots (under the lock); how many.  A queued
        ticket whose deadline passes while it waits ends at once, slot or not."""
        n = 0
        now = time.monotonic()
        expired = [t for t in self._queue if t.deadline is not None and now >= t.deadline]
        for ticket in expired:
            self._queue.remove(ticket)
            ticket._resolve(_busy_until_deadline(ticket, now))
        while self._queue and self._decoder.free_slots() > 0:
            ticket = self._queue.popleft()
            deadline = ticket.deadline if ticket.deadline is not None else now + ticket.budget
            if now >= deadline:
                ticket._resolve(_busy_until_deadline(ticket, now))
                continue
            try:
                seq = self._decoder.admit(
                    ticket.request, deadline=deadline, reuse_prefix=ticket.reuse_prefix
                )
            except MusicReasoningError as exc:
                ticket._resolve(SeqResult(error=exc, finished_at=now, finish_reason="error"))
                continue
            self._running[seq.index] = ticket
            n += 1
        return n

    def _fail_everything(self, error: MusicReasoningError) -> None:
        with self._cv:
            self._closed = True
            waiting = list(self._queue)
            self._queue.clear()
        for seq in self._decoder.fail_all(error):
            ticket = self._running.pop(seq.index, None)
            if ticket is not None:
                ticket._resolve(seq.result)
        for ticket in [*waiting, *self._running.values()]:
            ticket._resolve(SeqResult(error=error, finish_reason="error"))
        self._running.clear()


def _busy_until_deadline(ticket: Ticket, now: float) -> SeqResult:
    return SeqResult(
        prompt_tokens=len(ticket.request.tokens),
        started=ticket.submitted,
        finished_at=now,
        finish_reason="timeout",
        error=InferenceTimeoutError(
            "The model stayed busy with other calls until this call's deadline.",
            suggestion="Raise the timeout or send fewer concurrent calls.",
        ),
    )
