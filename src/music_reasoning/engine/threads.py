"""How many threads llama.cpp gets, on a machine that is rarely idle.

llama.cpp splits every decode step across its threads and waits for the slowest one at
a barrier.  When other programs (a DAW, a browser) keep the cores busy, one of our
threads is often descheduled, and the others wait for it: on 2 busy cores, 2 threads
decoded at 0.3-3 tokens/s where 1 thread decoded at 16.  So the engine does three
things:

* **Start from the cores that are free.**  :func:`free_cores` samples how busy each
  CPU is for a moment at load time; the first thread count is the free share of the
  physical cores (at least 1).
* **Do not spin.**  llama.cpp's OpenMP build busy-waits at its barriers; the adapter
  asks OpenMP to wait passively (``OMP_WAIT_POLICY``), unless the user set it.
* **Measure and adapt.**  :class:`ThreadTuner` times every decode step, keeps the
  median seconds per token of the last few steps of each thread count it tried,
  uses the fastest, and now and then tries another count, because the load on the
  machine changes.  A few steps in a row far slower than the current count's median
  (a collapse) trigger a try of fewer threads at once.  Prompt steps (many tokens)
  and generation steps (a few) are tuned apart: they scale differently with threads.

An explicit thread count (``n_threads`` / ``MUSIC_REASONING_N_THREADS``) turns the
tuning off.  The tuner is pure logic (a clock is passed in), so it is unit-tested on
scripted timings; ``bench --busy`` measures it on the real model under a real load.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from dataclasses import dataclass, field

import psutil

__all__ = ["ThreadTuner", "candidate_counts", "free_cores"]

logger = logging.getLogger(__name__)

PROMPT_STEP_TOKENS = 16  # steps with more tokens than this are prompt reading
_WINDOW = 8  # steps per thread count kept for its median


def free_cores(physical: int, *, sample_s: float = 0.1) -> int:
    """Physical cores not in use by other programs right now (1 to ``physical``).

    Sums the idle share of every logical CPU over ``sample_s`` seconds and scales it
    to physical cores (hyper-threads share a core).
    """
    try:
        busy = psutil.cpu_percent(interval=sample_s, percpu=True)
    except (OSError, RuntimeError):  # no /proc/stat in some sandboxes
        return physical
    if not busy:
        return physical
    idle_share = sum(max(0.0, 100.0 - b) for b in busy) / (100.0 * len(busy))
    return max(1, min(physical, math.floor(physical * idle_share + 0.25)))


def candidate_counts(max_threads: int) -> list[int]:
    """Thread counts worth trying: every count up to 4, then halvings of the maximum."""
    if max_threads <= 4:
        return list(range(1, max_threads + 1))
    counts = {max_threads}
    n = max_threads
    while n > 1:
        n //= 2
        counts.add(max(1, n))
    counts.update({1, 2, 3})
    return sorted(counts)


@dataclass
class _Arm:
    """The recent seconds per token of one thread count; the median resists spikes."""

    recent: deque[float] = field(default_factory=lambda: deque(maxlen=_WINDOW))
    samples: int = 0

    def add(self, spt: float) -> None:
        self.recent.append(spt)
        self.samples += 1

    @property
    def spt(self) -> float | None:
        return statistics.median(self.recent) if self.recent else None


@dataclass
class _Kind:
    """The tuning state for one kind of step (prompt or generation)."""

    current: int
    arms: dict[int, _Arm]
    steps_since_probe: int = 0
    probe_every: int = 16
    probing: int | None = None  # the count under trial, if any
    probe_left: int = 0
    slow_run: int = 0  # consecutive steps far slower than the current count's median
    history: list[tuple[int, int]] = field(default_factory=list)  # (step, threads) changes


class ThreadTuner:
    """Chooses the thread count of each decode step from measured speed.

    Call :meth:`choose` before a step and :meth:`record` after it.  Each count keeps
    the median of its last few steps' seconds per token (a single descheduled step
    does not count as a trend).  Every so often another count runs for a few steps as
    a trial and takes over only when its median beats the current one by ``margin``.
    Trials back off while they keep confirming the current choice (16, 32, ... up to
    ``max_probe_every`` steps) and come back at once after a collapse: ``sustain``
    steps in a row ``collapse`` times slower than the current median.

    Args:
        max_threads: the most threads to use (physical cores).
        start: the first count (e.g. :func:`free_cores`); defaults to ``max_threads``.
        collapse: how many times slower than the median a step must be to look collapsed.
        sustain: how many such steps in a row make a collapse.
        margin: how much faster (a fraction) a trial must be to take over.
        probe_steps: steps a trial of another count lasts.
        max_probe_every: the longest interval between trials, in steps.
    """

    def __init__(
        self,
        max_threads: int,
        *,
        start: int | None = None,
        collapse: float = 2.5,
        sustain: int = 3,
        margin: float = 0.1,
        probe_steps: int = 4,
        max_probe_every: int = 256,
    ) -> None:
        self.max_threads = max(1, max_threads)
        self.counts = candidate_counts(self.max_threads)
        first = min(self.max_threads, max(1, start or self.max_threads))
        self.collapse = collapse
        self.sustain = sustain
        self.margin = margin
        self.probe_steps = probe_steps
        self.max_probe_every = max_probe_every
        self._steps = 0
        self._kinds = {
            kind: _Kind(current=first, arms={n: _Arm() for n in self.counts})
            for kind in ("prompt", "generate")
        }
        for state in self._kinds.values():
            state.arms.setdefault(first, _Arm())

    @staticmethod
    def kind_of(n_tokens: int) -> str:
        return "prompt" if n_tokens > PROMPT_STEP_TOKENS else "generate"

    def current(self, kind: str = "generate") -> int:
        """The count in use (not under trial) for ``kind``."""
        return self._kinds[kind].current

    def choose(self, n_tokens: int) -> int:
        """Threads for a step of ``n_tokens`` tokens."""
        if self.max_threads == 1:
            return 1
        state = self._kinds[self.kind_of(n_tokens)]
        if state.probing is not None:
            return state.probing
        state.steps_since_probe += 1
        if state.steps_since_probe >= state.probe_every:
            trial = self._next_trial(state)
            if trial is not None:
                self._start_trial(state, trial)
                return trial
        return state.current

    def record(self, threads: int, n_tokens: int, seconds: float) -> None:
        """Feed back how long a step of ``n_tokens`` took with ``threads``."""
        if self.max_threads == 1 or n_tokens <= 0 or seconds <= 0:
            return
        self._steps += 1
        state = self._kinds[self.kind_of(n_tokens)]
        spt = seconds / n_tokens
        arm = state.arms.setdefault(threads, _Arm())
        if state.probing is not None and threads == state.probing:
            arm.add(spt)
            state.probe_left -= 1
            if state.probe_left <= 0:
                self._end_trial(state)
            return
        if threads != state.current:
            return
        typical = arm.spt
        arm.add(spt)
        if typical is None or arm.samples <= self.sustain:
            return
        state.slow_run = state.slow_run + 1 if spt > self.collapse * typical else 0
        if state.slow_run >= self.sustain:
            # A collapse: try fewer threads now, and explore often until it settles.
            state.slow_run = 0
            slow = list(arm.recent)[-self.sustain :]
            arm.recent.clear()  # judge the current count by its slow steps, not the past
            arm.recent.extend(slow)
            fewer = [n for n in self.counts if n < threads]
            if fewer:
                self._start_trial(state, fewer[-1])
                state.probe_every = 16

    def _start_trial(self, state: _Kind, threads: int) -> None:
        # A trial measures afresh: the load may have changed since that count last ran.
        state.arms[threads] = _Arm()
        state.probing, state.probe_left = threads, self.probe_steps
        state.steps_since_probe = 0

    def _next_trial(self, state: _Kind) -> int | None:
        """The neighbour of the current count that was measured least recently."""
        i = self.counts.index(state.current) if state.current in self.counts else 0
        near = [self.counts[j] for j in (i - 1, i + 1) if 0 <= j < len(self.counts)]
        if not near:
            return None
        return min(near, key=lambda n: state.arms[n].samples)

    def _end_trial(self, state: _Kind) -> None:
        trial, state.probing = state.probing, None
        if trial is None:
            return
        ours, theirs = state.arms[state.current].spt, state.arms[trial].spt
        if theirs is not None and (ours is None or theirs < ours * (1 - self.margin)):
            logger.info(
                "decode: %d threads now (%.1f ms/token) instead of %d (%.1f ms/token)",
                trial,
                theirs * 1000,
                state.current,
                (ours or 0) * 1000,
            )
            state.current = trial
            state.arms[trial].recent.clear()  # judged from here on by its own steps
            state.arms[trial].recent.append(theirs)
            state.history.append((self._steps, trial))
            state.probe_every = 16
        else:
            state.probe_every = min(self.max_probe_every, state.probe_every * 2)
