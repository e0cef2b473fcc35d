"""The thread tuner on scripted step timings (the real load is measured by ``bench --busy``)."""

from __future__ import annotations

import random

import pytest

from music_reasoning.engine import threads as threads_mod
from music_reasoning.engine.threads import ThreadTuner, candidate_counts, free_cores

QUIET = {1: 0.035, 2: 0.020}  # seconds per token: 2 threads win on an idle machine
BUSY = {1: 0.060, 2: 0.400}  # the collapse: 2 threads wait for each other at barriers


def _run(tuner: ThreadTuner, cost: dict[int, float], steps: int, *, tokens: int = 1) -> list[int]:
    rng = random.Random(7)
    used = []
    for _ in range(steps):
        n = tuner.choose(tokens)
        used.append(n)
        tuner.record(n, tokens, cost[n] * tokens * rng.uniform(0.8, 1.25))
    return used


def test_quiet_machine_keeps_all_cores_and_rarely_probes() -> None:
    tuner = ThreadTuner(2, start=2)
    used = _run(tuner, QUIET, 600)
    assert tuner.current() == 2
    assert used.count(1) / len(used) < 0.06  # trials cost little once they back off


def test_busy_machine_drops_to_fewer_threads_quickly() -> None:
    tuner = ThreadTuner(2, start=2)
    used = _run(tuner, BUSY, 200)
    assert tuner.current() == 1
    assert used.index(1) <= 16  # the first trial comes within 16 steps
    assert used[20:].count(2) / len(used[20:]) < 0.15  # later trials of 2 are few
    expected = sum(BUSY[n] for n in used) / len(used)
    assert expected < 2 * BUSY[1]  # the average step is close to the best count's


def test_a_collapse_mid_run_is_seen_at_once() -> None:
    tuner = ThreadTuner(2, start=2)
    _run(tuner, QUIET, 400)  # long quiet run: trials have backed off to long intervals
    used = _run(tuner, BUSY, 30)
    assert tuner.current() == 1
    assert used[:3] == [2, 2, 2]  # three collapsed steps in a row make a collapse
    assert used[3:17] == [1] * 14  # then fewer threads at once


def test_one_slow_step_is_not_a_collapse() -> None:
    tuner = ThreadTuner(2, start=2)
    _run(tuner, QUIET, 400)
    tuner.record(2, 1, 50 * QUIET[2])  # descheduled once
    assert _run(tuner, QUIET, 5) == [2] * 5


def test_the_load_going_away_brings_the_threads_back() -> None:
    tuner = ThreadTuner(2, start=1)
    _run(tuner, BUSY, 300)
    assert tuner.current() == 1
    _run(tuner, QUIET, 300)  # at most one backed-off interval (256 steps) to notice
    assert tuner.current() == 2


def test_prompt_and_generation_steps_are_tuned_apart() -> None:
    tuner = ThreadTuner(2, start=2)
    rng = random.Random(3)
    prompt_cost = {1: 0.004, 2: 0.0022}  # per token of a 64-token prompt step
    for _ in range(300):
        n = tuner.choose(1)
        tuner.record(n, 1, BUSY[n] * rng.uniform(0.9, 1.1))
        m = tuner.choose(64)
        tuner.record(m, 64, prompt_cost[m] * 64 * rng.uniform(0.9, 1.1))
    assert tuner.current("generate") == 1
    assert tuner.current("prompt") == 2


def test_one_core_never_changes() -> None:
    tuner = ThreadTuner(1)
    assert _run(tuner, {1: 0.05}, 50) == [1] * 50


def test_candidate_counts() -> None:
    assert candidate_counts(1) == [1]
    assert candidate_counts(4) == [1, 2, 3, 4]
    assert candidate_counts(16) == [1, 2, 3, 4, 8, 16]
    assert candidate_counts(6) == [1, 2, 3, 6]


@pytest.mark.parametrize(
    ("busy", "physical", "expected"),
    [
        ([0.0, 0.0], 2, 2),
        ([100.0, 100.0], 2, 1),
        ([100.0, 0.0], 2, 1),
        ([10.0, 5.0, 100.0, 100.0], 4, 2),
        ([0.0] * 8, 4, 4),  # 8 logical CPUs, 4 physical cores: never more than 4
    ],
)
def test_free_cores_counts_the_idle_share(
    monkeypatch: pytest.MonkeyPatch, busy: list[float], physical: int, expected: int
) -> None:
    monkeypatch.setattr(threads_mod.psutil, "cpu_percent", lambda **_: busy)
    assert free_cores(physical) == expected


def test_free_cores_on_this_machine_is_within_bounds() -> None:
    assert 1 <= free_cores(2, sample_s=0.05) <= 2
