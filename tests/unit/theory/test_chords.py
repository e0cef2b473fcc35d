"""Facts about chord building and identification (real music21, no mocks)."""

from __future__ import annotations

import json

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import CHORD_QUALITIES, ChordInfo, build_chord, identify_chord


@pytest.mark.parametrize(
    ("symbol", "notes", "quality"),
    [
        ("C", ("C", "E", "G"), "major"),
        ("Cm", ("C", "Eb", "G"), "minor"),
        ("C7", ("C", "E", "G", "Bb"), "dominant seventh"),
        ("G7", ("G", "B", "D", "F"), "dominant seventh"),
        ("Cmaj7", ("C", "E", "G", "B"), "major seventh"),
        ("CM7", ("C", "E", "G", "B"), "major seventh"),
        ("Cm7", ("C", "Eb", "G", "Bb"), "minor seventh"),
        ("Cm7b5", ("C", "Eb", "Gb", "Bb"), "half-diminished seventh"),
        ("Cdim", ("C", "Eb", "Gb"), "diminished"),
        ("Cdim7", ("C", "Eb", "Gb", "Bbb"), "diminished seventh"),
        ("Caug", ("C", "E", "G#"), "augmented"),
        ("C+", ("C", "E", "G#"), "augmented"),
        ("Csus2", ("C", "D", "G"), "suspended second"),
        ("Csus4", ("C", "F", "G"), "suspended fourth"),
        ("C6", ("C", "E", "G", "A"), "major sixth"),
        ("Cm6", ("C", "Eb", "G", "A"), "minor sixth"),
        ("C9", ("C", "E", "G", "Bb", "D"), "dominant ninth"),
        ("Cmaj9", ("C", "E", "G", "B", "D"), "major ninth"),
        ("Cm9", ("C", "Eb", "G", "Bb", "D"), "minor ninth"),
        ("C11", ("C", "E", "G", "Bb", "D", "F"), "eleventh"),
        ("C13", ("C", "E", "G", "Bb", "D", "F", "A"), "thirteenth"),
        ("Bb7", ("Bb", "D", "F", "Ab"), "dominant seventh"),
        ("F#m7b5", ("F#", "A", "C", "E"), "half-diminished seventh"),
        ("Ebmaj7", ("Eb", "G", "Bb", "D"), "major seventh"),
        ("C7b9", ("C", "E", "G", "Bb", "Db"), "dominant seventh flat ninth"),
        ("C7#9", ("C", "E", "G", "Bb", "D#"), "dominant seventh sharp ninth"),
        ("CmMaj7", ("C", "Eb", "G", "B"), "minor-major seventh"),
        ("C+7", ("C", "E", "G#", "Bb"), "augmented seventh"),
        ("C6/9", ("C", "E", "G", "A", "D"), "six-nine"),
        ("C5", ("C", "G"), "power chord"),
    ],
)
def test_build_chord_spells_every_required_symbol(
    symbol: str, notes: tuple[str, ...], quality: str
) -> None:
    info = build_chord(symbol)
    assert info.notes == notes
    assert info.quality == quality
    assert info.root == notes[0]
    assert info.inversion == 0
    assert info.confidence == 1.0


@pytest.mark.parametrize(
    ("symbol", "canonical", "name"),
    [
        ("CM7", "Cmaj7", "C major seventh"),
        ("C+", "Caug", "C augmented"),
        ("Bb7", "Bb7", "Bb dominant seventh"),
        ("F#m7b5", "F#m7b5", "F# half-diminished seventh"),
        ("Cø7", "Cm7b5", "C half-diminished seventh"),
        ("Cmin7", "Cm7", "C minor seventh"),
        ("C7(b9)", "C7b9", "C dominant seventh flat ninth"),
        ("Cm7(b5)", "Cm7b5", "C half-diminished seventh"),
    ],
)
def test_build_chord_normalises_the_symbol(symbol: str, canonical: str, name: str) -> None:
    info = build_chord(symbol)
    assert info.symbol == canonical
    assert info.name == name


def test_bb7_is_not_misread_as_b_major() -> None:
    # music21's ChordSymbol("Bb7") builds B major with an A; we must not.
    info = build_chord("Bb7")
    assert info.root == "Bb"
    assert info.intervals == ("P1", "M3", "P5", "m7")


def test_slash_chord_sets_bass_and_inversion() -> None:
    info = build_chord("C/E")
    assert info.bass == "E"
    assert info.inversion == 1
    assert info.root == "C"
    assert info.symbol == "C/E"
    assert info.notes == ("C", "E", "G")


@pytest.mark.parametrize(("symbol", "inversion"), [("G7/B", 1), ("G7/D", 2), ("G7/F", 3)])
def test_seventh_chord_inversions(symbol: str, inversion: int) -> None:
    assert build_chord(symbol).inversion == inversion


def test_slash_bass_outside_the_chord() -> None:
    info = build_chord("F/G")
    assert info.bass == "G"
    assert info.inversion is None
    assert info.notes == ("F", "A", "C", "G")


def test_altered_dominant_with_several_tensions() -> None:
    info = build_chord("C7(b9,#11)")
    assert info.notes == ("C", "E", "G", "Bb", "Db", "F#")
    assert info.symbol == "C7b9#11"
    assert info.quality == "dominant seventh with flat ninth, sharp eleventh"


def test_alternatives_offer_the_relative_reading() -> None:
    assert "Am7/C" in build_chord("C6").alternatives


def test_identify_g7() -> None:
    info = identify_chord(["G", "B", "D", "F"])
    assert info.symbol == "G7"
    assert info.name == "G dominant seventh"
    assert info.intervals == ("P1", "M3", "P5", "m7")
    assert info.confidence == 1.0


def test_identify_first_inversion_triad() -> None:
    info = identify_chord(["E", "G", "C"])
    assert info.root == "C"
    assert info.quality == "major"
    assert info.inversion == 1
    assert info.bass == "E"
    assert info.notes == ("C", "E", "G")
    assert info.symbol == "C/E"


def test_octaves_decide_the_bass_when_every_note_has_one() -> None:
    info = identify_chord(["C4", "E3", "G4"])
    assert info.bass == "E"
    assert info.inversion == 1


def test_c6_versus_am7_follows_the_bass() -> None:
    c6 = identify_chord(["C", "E", "G", "A"])
    am7 = identify_chord(["A", "C", "E", "G"])
    assert c6.symbol == "C6"
    assert "Am7/C" in c6.alternatives
    assert am7.symbol == "Am7"
    assert "C6/A" in am7.alternatives


def test_respells_enharmonic_input() -> None:
    info = identify_chord(["A#", "D", "F"])
    assert info.root == "Bb"
    assert info.notes == ("Bb", "D", "F")


def test_keeps_a_consistent_input_spelling() -> None:
    assert identify_chord(["G#", "B#", "D#"]).notes == ("G#", "B#", "D#")
    assert identify_chord(["F#", "A", "C", "E"]).symbol == "F#m7b5"
    assert identify_chord(["C", "Eb", "Gb", "A"]).notes == ("C", "Eb", "Gb", "Bbb")


def test_incomplete_chord_has_lower_confidence() -> None:
    info = identify_chord(["C", "E", "Bb"])
    assert info.symbol == "C7"
    assert 0 < info.confidence < 1.0


def test_extended_and_altered_chords_are_identified() -> None:
    assert identify_chord(["C", "E", "G", "Bb", "D"]).symbol == "C9"
    assert identify_chord(["G", "B", "D", "F", "Ab"]).symbol == "G7b9"
    altered = identify_chord(["C", "E", "G", "Bb", "Db", "F#"])
    assert altered.symbol == "C7b9#11"
    assert altered.confidence < 1.0


def test_unknown_cluster_still_gets_a_low_confidence_answer() -> None:
    info = identify_chord(["C", "C#", "D"])
    assert info.confidence <= 0.3
    assert info.bass == "C"


def test_accepts_a_space_separated_string() -> None:
    assert identify_chord("G B D F").symbol == "G7"


@pytest.mark.parametrize("bad", ["H", "C##x", "", "X", "Cb#"])
def test_invalid_note_names_are_named_in_the_error(bad: str) -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        identify_chord(["C", bad, "G"])
    assert repr(bad) in excinfo.value.message
    assert excinfo.value.details["token"] == bad
    assert excinfo.value.details["position"] == 1
    assert excinfo.value.code == "INVALID_INPUT"


def test_a_single_pitch_class_is_not_a_chord() -> None:
    with pytest.raises(InvalidInputError):
        identify_chord(["C", "C", "B#"])


@pytest.mark.parametrize(
    ("bad", "part"),
    [("Xmaj7", "X"), ("C/Q", "Q"), ("Cfoo", "foo"), ("", ""), ("Cm#9", "")],
)
def test_invalid_chord_symbols_are_named_in_the_error(bad: str, part: str) -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        build_chord(bad)
    assert repr(bad) in excinfo.value.message
    assert part in excinfo.value.message
    assert excinfo.value.details["token"] == bad


def test_non_string_input_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        build_chord(7)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        identify_chord(["C", None, "G"])  # type: ignore[list-item]


def test_to_dict_is_json_ready() -> None:
    data = build_chord("G7/B").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["notes"] == ["G", "B", "D", "F"]
    assert set(data) == set(ChordInfo.__dataclass_fields__)


def test_chord_info_is_frozen() -> None:
    info = build_chord("C")
    with pytest.raises(AttributeError):
        info.root = "D"  # type: ignore[misc]


def test_chord_qualities_cover_the_documented_names() -> None:
    for quality in ("major", "dominant seventh", "half-diminished seventh", "thirteenth"):
        assert quality in CHORD_QUALITIES


def test_a_symbol_whose_canonical_form_starts_with_a_longer_alias_reads_back_as_itself() -> None:
    # "dom7#11#5" prints as "7#5#11" on a dominant base, but "7#5" is the aug7 alias.
    built = build_chord("Adom7#11#5")
    assert built.symbol == "Aaug7#11" == build_chord(built.symbol).symbol
    assert built.notes == ("A", "C#", "E#", "G", "D#")
