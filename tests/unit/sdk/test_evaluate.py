from __future__ import annotations

from pathlib import Path
from typing import Any

from music_reasoning.config import load_settings
from music_reasoning.params import GenerationParams
from music_reasoning.sdk._coverage import stated
from music_reasoning.sdk.evaluate import (
    concept_items,
    diagnostic_questions,
    generated_questions,
    run_eval,
)
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.tiers import CloudQuota
from music_reasoning.sdk.verify import find_contradictions


def test_question_sets_have_their_sizes_and_true_answers() -> None:
    diagnostic, generated = diagnostic_questions(), generated_questions()
    assert len(diagnostic) == 8 and len(generated) == 252
    assert {q.category for q in generated} == {
        "chord_notes",
        "scale_notes",
        "progression_roman",
        "secondary_dominant",
        "cadence",
    }
    for q in diagnostic + generated:
        assert q.data_holds_answer(), q.text
        assert q.stated_by(q.facts.sentence), q.text
        assert find_contradictions(q.facts.sentence, q.facts) == [], q.facts.sentence


def test_stated_by_needs_every_expected_fact() -> None:
    g7 = diagnostic_questions()[0]
    assert g7.stated_by("G7 is G, B, D and F.")
    assert not g7.stated_by("G7 is G, B and D.")
    backdoor = diagnostic_questions()[-1]
    assert backdoor.stated_by("Fm7 then Bb7 lead to Cmaj7.")
    assert not backdoor.stated_by("Dm7 then G7 lead to Cmaj7.")


def test_raw_scoring_counts_correct_and_contradicted() -> None:
    questions = diagnostic_questions()[:3]
    answers = ["G7 is G, B, D and F.", "Cmaj7 is C, E, G and Bb.", None]
    report = run_eval(questions, mode="raw", ask_raw=lambda texts: answers[: len(texts)])
    row = report.categories["diagnostic"]
    assert row["questions"] == 3
    assert row["accuracy"] == 1 / 3 and row["contradicted"] == 1 / 3
    assert len(report.failures) == 2


def test_hybrid_scoring_uses_data_and_checks_prose(tmp_path: Path) -> None:
    class Liar:
        name = "local"

        def model_id(self) -> str:
            return "liar"

        def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
            return "It is made of F# and A#.", {}

    hybrid = Hybrid(settings=load_settings(), local=Liar(), quota=CloudQuota(tmp_path / "q.json"))
    report = run_eval(diagnostic_questions(), mode="hybrid", hybrid=hybrid)
    assert report.overall["accuracy"] == 1.0 and report.overall["contradicted"] == 0.0
    assert report.overall["prose_states_answer"] == 1.0  # replaced by the facts' sentences


def test_concept_set_is_scored_on_the_grounded_path() -> None:
    items = concept_items()
    assert len(items) >= 150 and {i.category for i in items} == {"concept"}
    report = run_eval(items[:12], mode="deterministic", hybrid=Hybrid(mode="deterministic"))
    row = report.categories["concept"]
    assert row["accuracy"] == 1.0 and row["coverage"] == 1.0 and row["own_words"] == 0.0
    assert report.latency["n"] == 12 and report.latency["p95_ms"] >= report.latency["p50_ms"]
    raw = run_eval(items[:2], mode="raw", ask_raw=lambda texts: ["No idea."] * len(texts))
    assert raw.overall["accuracy"] == 0.0 and raw.overall["coverage"] == 0.0


def test_coverage_is_full_for_every_lesson() -> None:
    report = run_eval(
        diagnostic_questions() + generated_questions(),
        mode="deterministic",
        hybrid=Hybrid(mode="deterministic"),
    )
    assert report.overall["coverage"] == 1.0 and report.overall["contradicted"] == 0.0
    assert report.uncovered == []


def _drop(text: str, *parts: str) -> str:
    for part in parts:
        assert part in text, part
        text = text.replace(part, "")
    return text


def test_coverage_drops_when_a_chord_teaching_point_is_missing() -> None:
    g7 = diagnostic_questions()[0]
    lesson = g7.lesson().text
    assert all(stated(g7.points, lesson).values())
    no_resolution = _drop(lesson, "resolves to the chord whose root is a fifth below: C (or Cm)")
    hits = stated(g7.points, no_resolution)
    assert not hits["resolution"] and sum(hits.values()) == len(hits) - 1
    no_keys = _drop(lesson, "V7 in C major", "V7 in C minor", "VII7 in A minor")
    assert not stated(g7.points, no_keys)["keys"]
    no_intervals = _drop(lesson, "the minor seventh F", "The minor seventh F", "1-3-5-b7")
    assert not stated(g7.points, no_intervals)["intervals"]


def test_coverage_drops_when_a_scale_or_progression_point_is_missing() -> None:
    dorian = diagnostic_questions()[2]
    lesson = dorian.lesson().text
    assert not stated(dorian.points, _drop(lesson, "W-H-W-W-W-H-W"))["steps"]
    assert not stated(dorian.points, _drop(lesson, "D natural minor"))["character"]
    borrowed = diagnostic_questions()[6]
    text = borrowed.lesson().text
    hits = stated(borrowed.points, _drop(text, "is borrowed from the parallel key C minor"))
    assert not hits["borrowed chords"] and hits["cadences"]
    secondary = diagnostic_questions()[4]
    text = _drop(secondary.lesson().text, "the dominant of Dm", "tonicises Dm", "A7 resolves to Dm")
    assert not stated(secondary.points, text.replace("goes there", ""))["secondary dominants"]


def test_report_counts_own_words_and_lower_coverage(tmp_path: Path) -> None:
    class Partial:
        name = "local"

        def model_id(self) -> str:
            return "partial"

        def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
            return "It is a chord.", {}

    hybrid = Hybrid(
        settings=load_settings(), local=Partial(), quota=CloudQuota(tmp_path / "q.json")
    )
    report = run_eval(diagnostic_questions()[:2], mode="hybrid", hybrid=hybrid)
    assert report.overall["own_words"] == 1.0 and report.overall["own_words_first_try"] == 1.0
    assert report.overall["coverage"] == 1.0  # the lesson follows the model's words
    raw = run_eval(
        diagnostic_questions()[:1], mode="raw", ask_raw=lambda texts: ["G7 is G, B, D and F."]
    )
    assert 0.0 < raw.overall["coverage"] < 1.0  # the notes only
    assert raw.points["diagnostic"]["notes"] == 1.0 and raw.points["diagnostic"]["keys"] == 0.0


def test_every_answer_can_be_read_with_the_models_words_apart(tmp_path: Path) -> None:
    class Plain:
        name = "local"

        def model_id(self) -> str:
            return "plain"

        def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
            return "It is a chord.", {}

    hybrid = Hybrid(settings=load_settings(), local=Plain(), quota=CloudQuota(tmp_path / "q.json"))
    records: list[dict[str, Any]] = []
    questions = diagnostic_questions()[:2]
    run_eval(questions, mode="hybrid", hybrid=hybrid, on_answer=records.append)
    assert [r["question"] for r in records] == [q.text for q in questions]
    first = records[0]
    assert first["source"] == "local" and first["verified"] is True
    assert first["own_words"] == "It is a chord."  # the lesson after it is not repeated
    assert first["answer"].startswith("It is a chord.\n\nWhat it is")
    det = Hybrid(mode="deterministic", settings=load_settings())
    records.clear()
    run_eval(questions[:1], mode="deterministic", hybrid=det, on_answer=records.append)
    assert records[0]["own_words"] is None and records[0]["source"] == "deterministic"
