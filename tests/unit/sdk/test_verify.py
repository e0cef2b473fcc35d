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
        "Notes:\n- A major triad on G plus F gives G7.",
        "(A major triad on G) plus F.",
        "A sharp dissonance forms between B and F.",
        "A flat 7th (F) sits on top of the triad.",
        "The perfect fifth is a strong interval.",
    ],
)
def test_true_g7_sentences_are_not_flagged(text: str) -> None:
    assert find_contradictions(text, chord_facts(build_chord("G7"))) == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("G7 contains the F sharp note.", "note F#"),
        ("G7 has a minor third of B.", "B a m3"),
        ("G7 is the V7 of F major, but it resolves.", "F major"),
        ("G7 is built on G minor, with a minor seventh.", "G minor"),
        ("It has A flat and B.", "note Ab"),
    ],
)
def test_false_g7_sentences_are_caught(text: str, fragment: str) -> None:
    problems = find_contradictions(text, chord_facts(build_chord("G7")))
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("chords", "text"),
    [
        (
            ["Dm7", "G7", "Cmaj7"],
            "Dm7\u2013G7\u2013Cmaj7 is a ii\u2013V\u2013I progression in C major.",
        ),
        (["Dm7", "G7", "Cmaj7"], "Dm7 G7 Cmaj7 is the ii-V-I."),
        (["C", "G", "Am", "F"], "C G Am F is a I\u2013V\u2013vi\u2013IV progression."),
        (["Fm7", "Bb7", "Cmaj7"], "Fm7\u2013Bb7 is a ii\u2013V in Eb, borrowed from C minor."),
        (["Fm7", "Bb7", "Cmaj7"], "Bb7 is the V7 of Eb and acts as a V7 substitute."),
    ],
)
def test_true_progression_sentences_are_not_flagged(chords: list[str], text: str) -> None:
    assert find_contradictions(text, progression_facts(analyze_progression(chords))) == []


def test_numerals_are_checked_against_their_chords() -> None:
    facts = progression_facts(analyze_progression(["Dm7", "G7", "Cmaj7"]))
    assert find_contradictions("Dm7 (ii7) sets up G7 (V7), then Cmaj7 is the I.", facts) == []
    assert find_contradictions("V7 (G7) resolves to Imaj7 (Cmaj7).", facts) == []
    problems = find_contradictions("Here Dm7 is the V7 and G7 is the ii.", facts)
    assert len(problems) == 2 and "calls Dm7 V7" in problems[0], problems


@pytest.mark.parametrize(
    ("symbol", "text", "problem"),
    [
        ("Cmaj7", "Cmaj7 is the Imaj7 of C major.", None),
        ("G7", "G7 is the V7 chord in the key of C major, resolving to C.", None),
        ("Bb7", "Bb7 acts as the bVII7 in C major.", None),
        ("G7", "G7 is the IV7 of C.", "calls G7 the IV7 of C major; it is V7 there"),
        ("Bb7", "Bb7 acts as the V7 in C major.", "it is bVII7 there"),
    ],
)
def test_a_numeral_in_a_named_key_is_checked_in_that_key(
    symbol: str, text: str, problem: str | None
) -> None:
    problems = find_contradictions(text, chord_facts(build_chord(symbol)))
    assert problems == [] if problem is None else any(problem in p for p in problems), problems


def test_a_borrowed_chord_comes_from_the_parallel_key() -> None:
    facts = progression_facts(analyze_progression(["Fm7", "Bb7", "Cmaj7"]))
    assert find_contradictions("Bb7 (bVII7) is borrowed from C minor.", facts) == []
    problems = find_contradictions("Bb7 (bVII7) is borrowed from C major.", facts)
    assert problems and "parallel C minor" in problems[0]
    assert find_contradictions("Fm7 is borrowed from the parallel F minor.", facts) != []


def test_scale_relative_key_is_checked() -> None:
    facts = scale_facts(get_scale("D", "dorian"))
    assert find_contradictions("D dorian shares its notes with C major.", facts) == []
    assert find_contradictions("The relative minor of C major is D minor.", facts) != []
    assert find_contradictions("D dorian is D minor with a raised sixth, B.", facts) == []


@given(st.text(max_size=200))
def test_any_text_is_checked_without_crashing(text: str) -> None:
    problems = find_contradictions(text, chord_facts(build_chord("G7")))
    assert isinstance(problems, list)
