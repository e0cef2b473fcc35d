from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from music_reasoning.sdk.facts import chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.verify import extract_claims, find_contradictions
from music_reasoning.theory import analyze_progression, build_chord, get_scale


def test_extracts_notes_symbols_and_numerals() -> None:
    claims = extract_claims("A G7 chord has G, B, D and F; ii-V-I uses Dm7, G7 and Cmaj7, V7/vi.")
    assert claims.notes == ("G", "B", "D", "F")
    assert claims.symbols == ("G7", "Dm7", "G7", "Cmaj7")
    assert claims.romans == ("ii", "V", "I", "V7/vi")


@pytest.mark.parametrize(
    ("text", "notes"),
    [
        ("A cadence ends here.", ()),
        ("A dominant chord.", ()),
        ("The notes A and C.", ("A", "C")),
        ("A minor is relative to C major.", ("A", "C")),
        ("A major third above F is A.", ("F", "A")),
        ("I think V is strong.", ()),
    ],
)
def test_article_a_and_pronoun_i_are_not_claims(text: str, notes: tuple[str, ...]) -> None:
    claims = extract_claims(text)
    assert claims.notes == notes
    assert "I" not in claims.romans


def test_true_chord_explanation_passes() -> None:
    facts = chord_facts(build_chord("G7"))
    text = (
        "G7 is the G dominant seventh chord: the root G, the major third B, the perfect "
        "fifth D and the minor seventh F. It resolves to C in an authentic cadence."
    )
    assert find_contradictions(text, facts) == []


@pytest.mark.parametrize(
    ("symbol", "text", "fragment"),
    [
        ("G7", "G7 has G, B, D and F#.", "note F#"),
        ("Cmaj7", "Cmaj7 is a minor seventh chord.", "minor seventh"),
        ("C", "C has the root C and the minor third E.", "E a m3"),
        ("C", "C is related to Dm7.", "chord Dm7"),
        ("C", "C moves to G in a plagal cadence.", "plagal"),
        ("Am", "Am is the A minor triad, like D minor.", "D minor"),
        ("G7", "G7 has G, B, D and F sharp.", "note F#"),
        ("C", "It holds C, E and B-flat.", "note Bb"),
        ("G7", "In G7 the major third of B is D.", "M3 of B is D; it is D#"),
    ],
)
def test_each_kind_of_false_claim_is_caught(symbol: str, text: str, fragment: str) -> None:
    problems = find_contradictions(text, chord_facts(build_chord(symbol)))
    assert any(fragment in p for p in problems), problems


def test_symbols_compare_by_sound_and_romans_without_figures() -> None:
    facts = progression_facts(analyze_progression(["Dm7", "G7", "Cmaj7"]))
    assert find_contradictions("A ii-V-I in C major ending on CM7 (Imaj7).", facts) == []
    assert find_contradictions("The IV chord leads on.", facts) != []


@pytest.mark.parametrize(
    "text",
    [
        "G7 has a flat seventh, F, above G, B and D.",  # "flat seventh" is not a note Fb
        "E.g. G7 holds G, B, D and F.",
        "The perfect fifth of G is D, and the minor seventh above G is F.",
        "A major triad on G would have no F; G7 adds it.",
    ],
)
def test_true_g7_sentences_are_not_flagged(text: str) -> None:
    assert find_contradictions(text, chord_facts(build_chord("G7"))) == []


def test_numerals_are_checked_against_their_chords() -> None:
    facts = progression_facts(analyze_progression(["Dm7", "G7", "Cmaj7"]))
    assert find_contradictions("Dm7 (ii7) sets up G7 (V7), then Cmaj7 is the I.", facts) == []
    assert find_contradictions("V7 (G7) resolves to Imaj7 (Cmaj7).", facts) == []
    problems = find_contradictions("Here Dm7 is the V7 and G7 is ii.", facts)
    assert len(problems) == 2 and "calls Dm7 V7" in problems[0], problems


def test_scale_relative_key_is_checked() -> None:
    facts = scale_facts(get_scale("D", "dorian"))
    assert find_contradictions("D dorian shares its notes with C major.", facts) == []
    assert find_contradictions("The relative minor of C major is D minor.", facts) != []
    assert find_contradictions("D dorian is D minor with a raised sixth, B.", facts) == []


@given(st.text(max_size=200))
def test_any_text_is_checked_without_crashing(text: str) -> None:
    problems = find_contradictions(text, chord_facts(build_chord("G7")))
    assert isinstance(problems, list)
