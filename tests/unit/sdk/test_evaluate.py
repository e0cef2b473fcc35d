from __future__ import annotations

from pathlib import Path
from typing import Any

from music_reasoning.config import load_settings
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.evaluate import diagnostic_questions, generated_questions, run_eval
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
