"""The words the facts rule out, for constrained decoding (pure logic, no model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from music_reasoning.config import load_settings
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.constrain import constraint_enabled, word_constraint
from music_reasoning.sdk.facts import chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.tiers import CloudQuota
from music_reasoning.sdk.verify import find_contradictions
from music_reasoning.theory import analyze_progression, build_chord, get_scale


def test_g7_bans_notes_outside_it_but_never_its_own_or_the_article() -> None:
    words = word_constraint(chord_facts(build_chord("G7")))
    banned = set(words.banned)
    assert {"F#", "A#", "Ab", "Bb", "Eb", "E", "F#m", "Gm"} <= banned
    assert not {"G", "B", "D", "F", "C", "A", "G7", "Cmaj7"} & banned
    assert {"G", "B", "D", "F", "G7"} <= set(words.allowed)
    assert {"A,", "A and", "A is"} <= banned  # the note A, not the article


@pytest.mark.parametrize(
    ("symbol", "banned", "kept"),
    [
        ("Caug", {"a minor", "a diminished"}, {"a major", "an augmented"}),
        ("Csus4", {"a minor", "a major", "a diminished", "an augmented"}, set()),
        ("Bdim", {"a major", "an augmented"}, {"a minor", "a diminished"}),
        # a pair that names no quality, though each word fits (a second audit's finding)
        ("Cdim", {"a minor diminished", "a major diminished"}, {"a minor", "a diminished"}),
        ("Ebaug", {"a major augmented", "a minor augmented"}, {"a major", "an augmented"}),
        # a seventh chord the chord is not ("Dm is a minor seventh chord")
        ("Dm", {"a minor seventh", "a dominant seventh"}, {"a minor"}),  # bare: no m7 at all
        ("C7", {"a minor seventh chord", "a major dominant"}, {"a dominant seventh chord"}),
        ("Cmaj7", {"a minor seventh", "a dominant seventh"}, {"a major", "a major seventh"}),
    ],
)
def test_a_chord_bans_the_qualities_it_lacks(symbol: str, banned: set[str], kept: set[str]) -> None:
    words = set(word_constraint(chord_facts(build_chord(symbol))).banned)
    assert banned <= words and not kept & words


@pytest.mark.parametrize(
    ("symbol", "writable"),
    [
        ("C7", "a minor seventh"),  # "C7 has a minor seventh, Bb", though "a minor" is banned
        ("CmM7", "a major seventh"),  # its interval, though "a major" is banned
    ],
)
def test_a_seventh_as_an_interval_stays_writable(symbol: str, writable: str) -> None:
    words = word_constraint(chord_facts(build_chord(symbol)))
    begun = [b for b in words.banned if writable.startswith(b + " ")]
    assert writable not in words.banned
    assert not begun or writable in words.allowed  # a banned start may go on into it
    assert symbol != "C7" or "a minor seventh chord" in words.banned  # C7's type it is not


def test_a_progression_bans_numerals_outside_it() -> None:
    facts = progression_facts(analyze_progression(["C", "G", "Am", "F"]))
    banned = set(word_constraint(facts).banned)
    assert {"ii", "iii", "vii", "bVII", "II", "V7"} - {"V7"} <= banned
    assert not {"I", "V", "vi", "IV"} & banned
    assert "-v" in banned and "v" not in banned  # a bare v is a numeral only after a dash


def test_key_names_outside_the_facts_are_banned_unless_a_chord_quality_follows() -> None:
    facts = progression_facts(analyze_progression(["Dm7", "G7", "Cmaj7"]))
    words = word_constraint(facts)
    assert "E minor" in words.banned and "D minor" not in words.banned
    assert "E minor seventh" in words.allowed  # Dm7 is a minor seventh chord


def test_the_banned_flat_of_an_allowed_letter_does_not_ban_the_letter() -> None:
    words = word_constraint(scale_facts(get_scale("F", "major")))
    assert "Bb" not in words.banned and "B" in words.banned and "Bb" in words.allowed


@pytest.mark.parametrize(
    "facts",
    [
        chord_facts(build_chord("G7")),
        chord_facts(build_chord("F#m7b5")),
        chord_facts(build_chord("Caug")),
        chord_facts(build_chord("Cdim")),
        chord_facts(build_chord("Dm")),
        chord_facts(build_chord("Dsus4")),
        scale_facts(get_scale("D", "dorian")),
        progression_facts(analyze_progression(["Dm7", "G7", "Cmaj7"])),
        progression_facts(analyze_progression(["C", "A7", "Dm", "G7", "C"])),
    ],
)
def test_every_banned_word_is_one_the_verifier_would_flag(facts: object) -> None:
    words = word_constraint(facts)  # type: ignore[arg-type]
    for word in words.banned:
        if word.startswith(("a ", "an ")):  # a quality the chord lacks
            text = f"{facts.subject} is {word} chord."  # type: ignore[attr-defined]
        elif word.startswith("-"):
            text = f"It is {word}-{word}."
        else:
            text = f"It has {word} and more."
        assert find_contradictions(text, facts), word  # type: ignore[arg-type]
    for word in words.allowed:
        if " " not in word:
            assert not find_contradictions(f"It has {word} and more.", facts), word  # type: ignore[arg-type]


def test_the_constraint_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUSIC_REASONING_CONSTRAIN", raising=False)
    assert constraint_enabled()
    monkeypatch.setenv("MUSIC_REASONING_CONSTRAIN", "0")
    assert not constraint_enabled()


class Recording:
    """A backend that answers a true sentence and keeps the params it was given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.params: list[GenerationParams] = []
        self.batches: list[list[GenerationParams]] = []

    def model_id(self) -> str:
        return self.name

    def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        self.params.append(params)
        return "It has G, B, D and F.", {}

    def generate_many(
        self, prompts: list[str], params: list[GenerationParams]
    ) -> list[tuple[str, dict[str, Any]]]:
        self.batches.append(list(params))
        return [("It has G, B, D and F.", {}) for _ in prompts]


def make_hybrid(tmp_path: Path, local: Recording, cloud: Recording | None = None) -> Hybrid:
    return Hybrid(
        settings=load_settings(),
        tier="creator",
        mode="local-only" if cloud is None else "cloud-only",
        local=local,
        cloud=cloud,
        quota=CloudQuota(tmp_path / "q.json"),
    )


def test_the_hybrid_bans_the_facts_words_for_the_local_model_only(tmp_path: Path) -> None:
    facts = chord_facts(build_chord("G7"))
    local = Recording("local")
    make_hybrid(tmp_path, local).explain(build_chord("G7"), facts)
    assert local.params[0].banned_words == word_constraint(facts).banned
    cloud = Recording("cloud")
    make_hybrid(tmp_path, Recording("local"), cloud).explain(build_chord("G7"), facts)
    assert cloud.params[0].banned_words == ()


def test_a_batch_gets_each_prompts_own_banned_words(tmp_path: Path) -> None:
    local = Recording("local")
    items = [(build_chord(s), chord_facts(build_chord(s))) for s in ("G7", "D")]
    make_hybrid(tmp_path, local).explain_many(items, use_cache=False)
    assert [p.banned_words for p in local.batches[0]] == [
        word_constraint(facts).banned for _, facts in items
    ]


def test_switched_off_nothing_is_banned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSIC_REASONING_CONSTRAIN", "0")
    local = Recording("local")
    make_hybrid(tmp_path, local).explain(build_chord("G7"), chord_facts(build_chord("G7")))
    assert local.params[0].banned_words == ()
