"""The hybrid SDK on the real embedded model: every explanation agrees with the facts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from music_reasoning.config import load_settings
from music_reasoning.sdk import Hybrid, api
from music_reasoning.sdk.backends import LocalBackend
from music_reasoning.sdk.facts import chord_facts, progression_facts
from music_reasoning.sdk.teacher import teach_chord
from music_reasoning.sdk.tiers import CloudQuota
from music_reasoning.sdk.verify import find_contradictions
from music_reasoning.theory import analyze_progression, build_chord


@pytest.fixture
def sdk(model_path: Path, tmp_path: Path) -> Iterator[Hybrid]:
    hybrid = api.configure(  # a busy machine must not turn an answer into a TIMEOUT here
        local=LocalBackend(model_path),
        quota=CloudQuota(tmp_path / "quota.json"),
        settings=load_settings(timeout=120.0),
    )
    yield hybrid
    api._default = None


@pytest.mark.parametrize("given", ["G7", "C E G", "F#m7b5", "Bb7"])
def test_chord_explanations_never_contradict_the_facts(sdk: Hybrid, given: str) -> None:
    result = api.chord.explain(given, use_cache=False)
    assert result.error is None and result.explanation, result
    assert result.verified and result.source in ("local", "deterministic"), result
    assert result.lesson is not None and result.explanation.endswith(result.lesson.text)
    checked = chord_facts(result.data).widened(result.lesson)
    assert find_contradictions(result.explanation, checked) == [], result
    if result.source == "local":
        assert result.metrics is not None and result.metrics["completion_tokens"] > 0


def test_batch_keeps_order_and_verifies_each(sdk: Hybrid) -> None:
    items = ["G7", "Am", "Cmaj7", "D"]
    results = api.chord.explain_batch(items, use_cache=False)
    assert [r.data.symbol for r in results] == items
    for r in results:
        assert r.verified and r.explanation and r.lesson is not None
        assert find_contradictions(r.explanation, chord_facts(r.data).widened(r.lesson)) == []


def test_progression_and_scale(sdk: Hybrid) -> None:
    result = api.progression.analyze("Dm7 G7 Cmaj7", use_cache=False)
    assert result.data.key == "C major" and result.verified and result.explanation
    checked = progression_facts(result.data).widened(result.lesson)
    assert find_contradictions(result.explanation, checked) == []
    assert "Cadences" in result.explanation  # the lesson: G7 to Cmaj7 is an authentic cadence
    scale = api.scale.explain("D", "dorian", use_cache=False)
    assert scale.data.notes == ("D", "E", "F", "G", "A", "B", "C") and scale.verified


def test_known_weakness_is_routed_to_theory(model_path: Path, tmp_path: Path) -> None:
    hybrid = Hybrid(
        settings=load_settings(),
        local=LocalBackend(model_path),
        weaknesses={"backdoor_progression": "accuracy 0 in evaluation"},
        quota=CloudQuota(tmp_path / "q.json"),
    )
    info = analyze_progression(["Fm7", "Bb7", "Cmaj7"])
    result = hybrid.explain(info, progression_facts(info))
    assert result.source == "deterministic" and "backdoor" in (result.explanation or "")


def test_bad_input_raises_invalid_input(sdk: Hybrid) -> None:
    with pytest.raises(ValueError) as exc:
        api.chord.explain("H7")
    assert getattr(exc.value, "code", None) == "INVALID_INPUT"


def test_cli_explain_json(model_path: Path, tmp_path: Path) -> None:
    env_home = tmp_path / "home"
    out = subprocess.run(
        [sys.executable, "-m", "music_reasoning.cli.main", "chord", "G7", "--explain", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "MUSIC_REASONING_HOME": str(env_home),
            "MUSIC_REASONING_MODEL_PATH": str(model_path),
            "PATH": "/usr/bin:/bin",
        },
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["data"]["notes"] == ["G", "B", "D", "F"]
    assert result["verified"] is True and result["explanation"]
    lesson = teach_chord(build_chord("G7"), "intermediate")
    assert result["lesson"]["text"] == lesson.text and result["explanation"].endswith(lesson.text)
    checked = chord_facts(build_chord("G7")).widened(lesson)
    assert find_contradictions(result["explanation"], checked) == []
    free = subprocess.run(
        [
            sys.executable,
            "-m",
            "music_reasoning.cli.main",
            "chord",
            "G7",
            "--explain",
            "--tier",
            "free",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"MUSIC_REASONING_HOME": str(env_home), "PATH": "/usr/bin:/bin"},
    )
    assert free.returncode == 0 and "G B D F" in free.stdout
    assert "TIER_LIMIT" in free.stderr


def test_cli_eval_scores_raw_and_hybrid_on_the_real_model(
    model_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from music_reasoning.cli.main import main

    monkeypatch.setenv("MUSIC_REASONING_MODEL_PATH", str(model_path))
    assert main(["eval", "--set", "diagnostic", "--limit", "3", "--quiet", "--json"]) == 0
    reports = {r["mode"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(reports) == {"raw", "hybrid"}
    assert {r["model"] for r in reports.values()} == {model_path.name}
    hybrid = reports["hybrid"]["overall"]
    assert hybrid["questions"] == 3 and hybrid["accuracy"] == 1.0 and hybrid["contradicted"] == 0
    assert sum(reports["hybrid"]["sources"].values()) == 3
    assert hybrid["coverage"] >= 0.95 and 0.0 <= hybrid["own_words"] <= 1.0
    assert reports["raw"]["overall"]["coverage"] < hybrid["coverage"]
    for r in reports.values():
        assert r["latency"]["n"] == 1 and r["latency"]["p50_ms"] > 0
