"""The decoding loop: N prompts as parallel sequences in one llama.cpp context.

Design notes
------------
* One loop serves a single call (N = 1), a stream and a batch.  Each step packs one
  ``llama_decode`` batch: the pending token of every generating sequence, then as
  many prompt tokens of sequences still reading their prompt as fit in ``n_batch``.
  After the decode, every sequence whose logits were requested samples a token.
* Prefix reuse: the decoder remembers which tokens sit in each sequence's KV cache.
  A new prompt keeps the longest common prefix and evaluates only the rest; in a
  batch, sequences copy the prefix they share with sequence 0 (``seq_cp``) instead
  of recomputing it.
* Stopping: end-of-generation token, a stop string (held back until it cannot be the
  start of one), ``max_tokens``, the context limit, a consumer that returns False
  from ``emit`` (cancel), or the deadline.  The deadline and cancel are checked
  between decode steps, so compute stops within one token (one prompt chunk while
  reading the prompt) — nothing keeps running in the background.
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
    """One prompt to decode. ``emit`` gets text chunks; returning False cancels it."""

    tokens: list[int]
    params: GenerationParams
    emit: Callable[[str], bool] | None = None


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


@dataclass
class _Seq:
    index: int
    req: SeqRequest
    result: SeqResult
    sampler: Any
    matcher: StopMatcher
    utf8: Any
    n_past: int
    pending: list[int]  # prompt tokens not yet evaluated
    next_token: int | None = None
    chunks: list[str] = field(default_factory=list)
    done: bool = False


class Decoder:
    """Runs :class:`SeqRequest` lists through a :class:`Backend`, reusing cached prefixes."""

    def __init__(self, backend: Backend, *, n_ctx: int, tuner: ThreadTuner | None = None) -> None:
        self.backend = backend
        self.n_ctx = n_ctx
        self.tuner = tuner
        self._threads: int | None = None
        self._cached: list[list[int]] = [[] for _ in range(backend.n_seq_max)]

    def forget(self) -> None:
        """Drop every cached prefix (the next call evaluates its whole prompt)."""
        self.backend.clear()
        self._cached = [[] for _ in range(self.backend.n_seq_max)]

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
        if len(requests) > self.backend.n_seq_max:
            raise InvalidInputError(
                f"{len(requests)} sequences exceed the context's {self.backend.n_seq_max}."
            )
        for req in requests:
            if len(req.tokens) >= self.n_ctx:
                raise InvalidInputError(
                    f"Prompt is {len(req.tokens)} tokens; the context holds {self.n_ctx}.",
                    suggestion="Shorten the prompt or raise MUSIC_REASONING_N_CTX.",
                )
        if not reuse_prefix:
            self.forget()
        seqs = [self._prepare(i, req) for i, req in enumerate(requests)]
        try:
            self._loop(seqs, deadline)
        except BaseException:
            self.forget()
            raise
        if len(seqs) == 1 and isinstance(seqs[0].result.error, InferenceTimeoutError):
            raise seqs[0].result.error
        return [s.result for s in seqs]

    # -- setup ---------------------------------------------------------------------
    def _prepare(self, index: int, req: SeqRequest) -> _Seq:
        now = time.monotonic()
        tokens = req.tokens
        keep = _common_prefix(self._cached[index], tokens)
        keep = min(keep, len(tokens) - 1)  # the last prompt token is evaluated for logits
        # A sliding-window cache may have purged a sequence's first cells: reuse only a
        # prefix that still starts at position 0 (as llama-server does).
        if not self.backend.seq_rm(index, keep, -1) or self.backend.seq_pos_min(index) > 0:
            self.backend.seq_rm(index, 0, -1)
            keep = 0
        self._cached[index] = tokens[:keep]
        result = SeqResult(prompt_tokens=len(tokens), reused_tokens=keep, started=now)
        return _Seq(
            index=index,
            req=req,
            result=result,
            sampler=self.backend.new_sampler(req.params, req.params.seed + index),
            matcher=StopMatcher(req.params.stop),
            utf8=codecs.getincrementaldecoder("utf-8")(errors="replace"),
            n_past=keep,
            pending=tokens[keep:],
        )

    # -- the loop ------------------------------------------------------------------
    def _loop(self, seqs: list[_Seq], deadline: float) -> None:
        first_prompt_done = len(seqs) == 1
        while True:
            live = [s for s in seqs if not s.done]
            if not live:
                return
            if time.monotonic() >= deadline:
                for s in live:
                    self._finish(s, "timeout")
                    s.result.error = InferenceTimeoutError(
                        "Generation stopped at its deadline.",
                        details={"completion_tokens": s.result.completion_tokens},
                    )
                return
            if not first_prompt_done and not seqs[0].pending:
                first_prompt_done = True
                self._share_prefix(seqs)
            entries, owners, consumed = self._pack(live, only_first=not first_prompt_done)
            self._decode(entries)
            for s, n in consumed:
                self._cached[s.index].extend(s.pending[:n])
                s.n_past += n
                s.pending = s.pending[n:]
            for s, batch_index in owners:
                self._advance(s, batch_index)

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

    def _share_prefix(self, seqs: list[_Seq]) -> None:
        """After sequence 0 read its prompt, let the others copy the prefix they share."""
        zero = seqs[0].req.tokens
        if self.backend.seq_pos_min(0) > 0:  # purged by the sliding window: nothing to share
            return
        for s in seqs[1:]:
            shared = min(_common_prefix(zero, s.req.tokens), len(s.req.tokens) - 1)
            if shared > s.n_past:
                self.backend.seq_rm(s.index, 0, -1)
                self.backend.seq_cp(0, s.index, 0, shared)
                s.pending = s.req.tokens[shared:]
                s.n_past = shared
                s.result.reused_tokens = shared
                self._cached[s.index] = s.req.tokens[:shared]

    def _pack(
        self, live: list[_Seq], *, only_first: bool
    ) -> tuple[list[tuple[int, int, int, bool]], list[tuple[_Seq, int]], list[tuple[_Seq, int]]]:
        """Fill one batch; return its entries, who samples where, and prompt tokens taken."""
        entries: list[tuple[int, int, int, bool]] = []
        owners: list[tuple[_Seq, int]] = []
        consumed: list[tuple[_Seq, int]] = []
        for s in live:
            if s.next_token is not None:
                entries.append((s.next_token, s.n_past, s.index, True))
                owners.append((s, len(entries) - 1))
        for s in live:
            if only_first and s.index != 0:
                continue
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
