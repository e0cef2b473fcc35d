"""The decoding loop: prompts as parallel sequences in one llama.cpp context.

Design notes
------------
* Sequences live in slots (``n_seq_max`` of them).  :meth:`Decoder.admit` starts one in
  a free slot between steps; :meth:`Decoder.step` packs one ``llama_decode`` batch: the
  pending token of every generating sequence, then as many prompt tokens of sequences
  still reading their prompt as fit in ``n_batch``.  After the decode, every sequence
  whose logits were requested samples a token.  The :class:`~.scheduler.Scheduler`
  drives this for every caller (continuous batching); :meth:`Decoder.run` decodes one
  list of requests to the end.
* Prefix reuse: the decoder remembers which tokens sit in each slot's KV cache.  A new
  prompt takes the free slot whose cache shares most with it and evaluates only the
  rest, or copies (``seq_cp``) a longer shared prefix from another slot; when a
  sequence still reading its prompt shares more, the newcomer waits for it and copies,
  so a shared prefix is evaluated once.
* Stopping: end-of-generation token, a stop string (held back until it cannot be the
  start of one), ``max_tokens``, the context limit, a consumer that returns False
  from ``emit`` (cancel), or the sequence's own deadline.  The deadline and cancel are
  checked between decode steps, so compute stops within one token (one prompt chunk
  while reading the prompt) -- nothing keeps running in the background.  A sequence
  whose ``ready()`` is False (its reader is behind) sits steps out.
* Threads: with a :class:`~.threads.ThreadTuner`, every step runs with the thread
  count the tuner chooses and reports how long it took (see ``threads.py``).
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from music_reasoning.engine.threads import ThreadTuner
from music_reasoning.errors import InferenceTimeoutError, InvalidInputError
from music_reasoning.params import GenerationParams

__all__ = ["Backend", "Decoder", "SeqRequest", "SeqResult", "StopMatcher"]


class Backend(Protocol):
    """What the decoder needs from llama.cpp (see ``_llama.LlamaBackend``)."""

    n_batch: int
    n_seq_max: int

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None: ...
    def new_sampler(self, params: GenerationParams, seed: int) -> Any: ...
    def sample(self, sampler: Any, index: int) -> int: ...
    def piece(self, token: int) -> bytes: ...
    def is_eog(self, token: int) -> bool: ...
    def seq_rm(self, seq: int, p0: int, p1: int = -1) -> bool: ...
    def seq_pos_min(self, seq: int) -> int: ...
    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None: ...
    def clear(self) -> None: ...
    def set_threads(self, n_threads: int) -> None: ...


class StopMatcher:
    """Incremental stop-string detection that never emits part of a stop string."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Add text; return (safe text to emit now, whether a stop string was hit)."""
        self._pending += text
        cut = min((self._pending.find(s) for s in self._stops if s in self._pending), default=-1)
        if cut >= 0:
            out, self._pending = self._pending[:cut], ""
            return out, True
        hold = 0
        for stop in self._stops:
            for k in range(min(len(stop) - 1, len(self._pending)), 0, -1):
                if self._pending.endswith(stop[:k]):
                    hold = max(hold, k)
                    break
        out = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(out) :]
        return out, False

    def flush(self) -> str:
        out, self._pending = self._pending, ""
        return out


@dataclass
class SeqRequest:
    """One prompt to decode.

    ``emit`` gets text chunks on the decoding thread and must return at once; returning
    False cancels the sequence.  ``ready`` (optional) is asked before each step: False
    holds the sequence (its reader is behind) without holding the others.
    """

    tokens: list[int]
    params: GenerationParams
    emit: Callable[[str], bool] | None = None
    ready: Callable[[], bool] | None = None


@dataclass
class SeqResult:
    """What one sequence produced, with its timings (seconds, monotonic clock)."""

    text: str = ""
    prompt_tokens: int = 0
    reused_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    started: float = 0.0
    first_token_at: float | None = None
    finished_at: float = 0.0
    error: Exception | None = None


@dataclass(eq=False)
class _Seq:
    index: int
    req: SeqRequest
    result: SeqResult
    sampler: Any
    matcher: StopMatcher
    utf8: Any
    n_past: int
    pending: list[int]  # prompt tokens not yet evaluated
    deadline: float
    next_token: int | None = None
    chunks: list[str] = field(default_factory=list)
    done: bool = False
    wait: tuple[int, int] | None = None  # (slot, tokens): copy that slot's prefix first


class Decoder:
    """Runs :class:`SeqRequest` lists through a :class:`Backend`, reusing cached prefixes.

    Two ways in: :meth:`run` decodes a list of requests to the end; :meth:`admit` and
    :meth:`step` let a caller (the :class:`~.scheduler.Scheduler`) add sequences between
    steps while others are generating (continuous batching).  Not thread-safe: one
    thread drives a decoder.
    """

    def __init__(self, backend: Backend, *, n_ctx: int, tuner: ThreadTuner | None = None) -> None:
        self.backend = backend
        self.n_ctx = n_ctx
        self.tuner = tuner
        self._threads: int | None = None
        self._cached: list[list[int]] = [[] for _ in range(backend.n_seq_max)]
        self._active: dict[int, _Seq] = {}
        self.last_step_tokens = 0  # tokens the last step decoded (0: every sequence held)

    @property
    def active(self) -> int:
        """Sequences admitted and not finished."""
        return len(self._active)

    def free_slots(self) -> int:
        return self.backend.n_seq_max - len(self._active)

    def forget(self) -> None:
        """Drop every cached prefix (the next call evaluates its whole prompt)."""
        self.backend.clear()
        self._cached = [[] for _ in range(self.backend.n_seq_max)]

    def check(self, req: SeqRequest) -> None:
        """Raise InvalidInputError for a prompt that cannot fit the context window."""
        if len(req.tokens) >= self.n_ctx:
            raise InvalidInputError(
                f"Prompt is {len(req.tokens)} tokens; the context holds {self.n_ctx}.",
                suggestion="Shorten the prompt or raise MUSIC_REASONING_N_CTX.",
            )

    def run(
        self,
        requests: Sequence[SeqRequest],
        *,
        deadline: float,
        reuse_prefix: bool = True,
    ) -> list[SeqResult]:
        """Decode up to ``n_seq_max`` requests together and return one result each.

        Raises:
            InvalidInputError: a prompt does not fit the context window.
            InferenceTimeoutError: the deadline passed (only when a single request runs;
                in a batch, unfinished sequences get the error in ``SeqResult.error``).
            InferenceError: llama.cpp failed; the caches are dropped first.
        """
        if len(requests) > self.free_slots():
            raise InvalidInputError(
                f"{len(requests)} sequences exceed the context's {self.free_slots()} free ones."
            )
        for req in requests:
            self.check(req)
        if not reuse_prefix:
            self.forget()
        seqs = [self.admit(r, deadline=deadline, slot=self._free()[0]) for r in requests]
        try:
            while any(not s.done for s in seqs):
                self.step()
        except BaseException:
            self.fail_all(None)
            raise
        if len(seqs) == 1 and isinstance(seqs[0].result.error, InferenceTimeoutError):
            raise seqs[0].result.error
        return [s.result for s in seqs]

    # -- admission -----------------------------------------------------------------
    def _free(self) -> list[int]:
        return [i for i in range(self.backend.n_seq_max) if i not in self._active]

    def admit(
        self,
        req: SeqRequest,
        *,
        deadline: float,
        reuse_prefix: bool = True,
        slot: int | None = None,
    ) -> _Seq:
        """Start ``req`` in a free slot (``slot``, or the one whose cache serves it best).

        The prompt keeps the longest prefix already in some sequence's cache (its own
        slot's, or a copy of another's); when a sequence still reading its prompt shares
        more, this one waits to copy it instead of evaluating it twice.
        """
        self.check(req)
        free = self._free()
        if not free:
            raise InvalidInputError("No free sequence slot.")
        tokens = req.tokens
        cap = len(tokens) - 1  # the last prompt token is evaluated for logits

        def shared(i: int) -> int:
            if self.backend.seq_pos_min(i) > 0:  # purged by a sliding window: not reusable
                return 0
            return min(_common_prefix(self._cached[i], tokens), cap)

        if slot is None:
            slot = max(free, key=lambda i: (shared(i) if reuse_prefix else 0, -i))
        keep = shared(slot) if reuse_prefix else 0
        if not self.backend.seq_rm(slot, keep, -1) or self.backend.seq_pos_min(slot) > 0:
            self.backend.seq_rm(slot, 0, -1)
            keep = 0
        self._cached[slot] = self._cached[slot][:keep]
        reused, wait = keep, None
        if reuse_prefix:
            others = [i for i in range(self.backend.n_seq_max) if i != slot]
            best = max(others, key=shared, default=None)
            if best is not None and shared(best) > keep:
                keep = shared(best)
                self.backend.seq_rm(slot, 0, -1)
                self.backend.seq_cp(best, slot, 0, keep)
                self._cached[slot] = tokens[:keep]
                reused = keep
            reading = [s for s in self._active.values() if s.pending]
            ahead = max(
                ((s.index, min(_common_prefix(s.req.tokens, tokens), cap)) for s in reading),
                key=lambda x: x[1],
                default=None,
            )
            if ahead is not None and ahead[1] > keep:
                wait = ahead
        now = time.monotonic()
        seq = _Seq(
            index=slot,
            req=req,
            result=SeqResult(prompt_tokens=len(tokens), reused_tokens=reused, started=now),
            sampler=self.backend.new_sampler(req.params, req.params.seed + slot),
            matcher=StopMatcher(req.params.stop),
            utf8=codecs.getincrementaldecoder("utf-8")(errors="replace"),
            n_past=keep,
            pending=tokens[keep:],
            deadline=deadline,
            wait=wait,
        )
        self._active[slot] = seq
        return seq

    def _resolve_wait(self, s: _Seq) -> None:
        """Copy the prefix ``s`` waits for once its slot has evaluated it."""
        assert s.wait is not None
        src, n = s.wait
        source = self._active.get(src)
        if source is not None and source.pending and len(self._cached[src]) < n:
            return  # still reading it
        s.wait = None
        if len(self._cached[src]) >= n and self._cached[src][:n] == s.req.tokens[:n]:
            if self.backend.seq_pos_min(src) > 0:
                return
            self.backend.seq_rm(s.index, 0, -1)
            self.backend.seq_cp(src, s.index, 0, n)
            self._cached[s.index] = s.req.tokens[:n]
            s.pending = s.req.tokens[n:]
            s.n_past = n
            s.result.reused_tokens = n

    # -- the loop ------------------------------------------------------------------
    def step(self) -> list[_Seq]:
        """One decode step over the admitted sequences; return those that finished.

        Sequences past their deadline end with a timeout error, waiting ones copy the
        prefix they wait for, held ones (``ready()`` False) sit this step out.  Returns
        an empty list, having decoded nothing, when every sequence is held or waiting.

        Raises:
            InferenceError: llama.cpp failed (call :meth:`fail_all`).
        """
        now = time.monotonic()
        for s in self._active.values():
            if now >= s.deadline:
                self._finish(s, "timeout")
                s.result.error = InferenceTimeoutError(
                    "Generation stopped at its deadline.",
                    details={"completion_tokens": s.result.completion_tokens},
                )
        for s in self._active.values():
            if s.wait is not None:
                self._resolve_wait(s)
        live = [
            s
            for s in self._active.values()
            if not s.done and s.wait is None and (s.req.ready is None or s.req.ready())
        ]
        self.last_step_tokens = 0
        if live:
            entries, owners, consumed = self._pack(live)
            self._decode(entries)
            self.last_step_tokens = len(entries)
            for s, n in consumed:
                self._cached[s.index].extend(s.pending[:n])
                s.n_past += n
                s.pending = s.pending[n:]
            for s, batch_index in owners:
                self._advance(s, batch_index)
        ended = [s for s in self._active.values() if s.done]
        for s in ended:
            self._active.pop(s.index, None)
        return ended

    def fail_all(self, error: Exception | None) -> list[_Seq]:
        """End every admitted sequence (with ``error`` in its result) and drop the caches."""
        ended = list(self._active.values())
        for s in ended:
            if not s.done:
                self._finish(s, "error")
            s.result.error = s.result.error or error
        self._active.clear()
        self.forget()
        return ended

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """One ``llama_decode``, with the tuner's thread count when there is a tuner."""
        if self.tuner is None:
            self.backend.decode(entries)
            return
        n = self.tuner.choose(len(entries))
        if n != self._threads:
            self.backend.set_threads(n)
            self._threads = n
        start = time.perf_counter()
        self.backend.decode(entries)
        self.tuner.record(n, len(entries), time.perf_counter() - start)

    def _pack(
        self, live: list[_Seq]
    ) -> tuple[list[tuple[int, int, int, bool]], list[tuple[_Seq, int]], list[tuple[_Seq, int]]]:
        """Fill one batch: every generating sequence's next token first, then prompt
        tokens of the sequences still reading (oldest first) while ``n_batch`` allows."""
        entries: list[tuple[int, int, int, bool]] = []
        owners: list[tuple[_Seq, int]] = []
        consumed: list[tuple[_Seq, int]] = []
        for s in live:
            if s.next_token is not None:
                entries.append((s.next_token, s.n_past, s.index, True))
                owners.append((s, len(entries) - 1))
        for s in live:
            if not s.pending:
                continue
            room = self.backend.n_batch - len(entries)
            if room <= 0:
                break
            take = s.pending[:room]
            for j, token in enumerate(take):
                last = j == len(take) - 1 and len(take) == len(s.pending)
                entries.append((token, s.n_past + j, s.index, last))
                if last:
                    owners.append((s, len(entries) - 1))
            consumed.append((s, len(take)))
        return entries, owners, consumed

    def _advance(self, s: _Seq, batch_index: int) -> None:
        """Sample the next token of ``s`` from the logits at ``batch_index``."""
        if s.next_token is not None:
            self._cached[s.index].append(s.next_token)
            s.n_past += 1
            s.next_token = None
        token = self.backend.sample(s.sampler, batch_index)
        now = time.monotonic()
        if s.result.first_token_at is None:
            s.result.first_token_at = now
        if self.backend.is_eog(token):
            self._finish(s, "stop")
            return
        s.result.completion_tokens += 1
        text, stopped = s.matcher.feed(s.utf8.decode(self.backend.piece(token)))
        if text and not self._emit(s, text):
            self._finish(s, "cancelled")
            return
        if stopped:
            self._finish(s, "stop")
        elif s.result.completion_tokens >= s.req.params.max_tokens or s.n_past + 1 >= self.n_ctx:
            self._finish(s, "length")
        else:
            s.next_token = token

    def _emit(self, s: _Seq, text: str) -> bool:
        s.chunks.append(text)
        return s.req.emit is None or s.req.emit(text) is not False

    def _finish(self, s: _Seq, reason: str) -> None:
        # Pending prompt tokens were never evaluated: the KV cache holds only the cached list.
        if s.pending:
            self.backend.seq_rm(s.index, s.n_past, -1)
            s.pending = []
        if s.index > 0:
            # With a unified KV cache every sequence's attention spans all occupied cells:
            # free a finished sequence at once.  Sequence 0 keeps its prompt for reuse, and
            # the others copy from it next time.
            self.backend.seq_rm(s.index, 0, -1)
            self._cached[s.index] = []
        if reason in ("stop", "length"):
            tail = s.matcher.flush() + s.utf8.decode(b"", final=True)
            if tail:
                self._emit(s, tail)
        s.done = True
        s.result.text = "".join(s.chunks)
        s.result.finish_reason = reason
        s.result.finished_at = time.monotonic()
        s.sampler.close()


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
