"""Double sharps and flats read the same everywhere: notes, scales and chord symbols."""

from __future__ import annotations

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import analyze_progression, build_chord, get_scale, identify_chord
from music_reasoning.theory.notes import SYMBOL_ACCIDENTALS, parse_note

DOUBLE_SHARPS = ["##", "x", "𝄪", "♯♯"]
DOUBLE_FLATS = ["bb", "𝄫", "♭♭"]


@pytest.mark.parametrize("sharp", DOUBLE_SHARPS)
def test_a_double_sharp_root_reads_the_same_in_a_chord_a_scale_and_a_note(sharp: str) -> None:
    chord = build_chord(f"C{sharp}")
    assert chord.root == "C##" and chord.notes == ("C##", "E##", "G##")
    assert chord.symbol == "C##"
    assert get_scale(f"F{sharp}", "major").notes[0] == "F##"
    assert parse_note(f"F{sharp}").name == "F##"


@pytest.mark.parametrize("flat", DOUBLE_FLATS)
def test_a_double_flat_root_reads_the_same_in_a_chord_a_scale_and_a_note(flat: str) -> None:
    chord = build_chord(f"D{flat}m7")
    assert chord.root == "Dbb" and chord.notes[:3] == ("Dbb", "Fbb", "Abb")
    assert chord.symbol == "Dbbm7"
    assert get_scale(f"B{flat}", "major").notes[0] == "Bbb"
    assert parse_note(f"E{flat}").name == "Ebb"


def test_the_printed_symbol_of_a_double_accidental_chord_reads_back_as_itself() -> None:
    for symbol in ("Fx7", "G𝄪m", "B𝄫maj7", "Cbb7/Gbb", "F##m7/A#"):
        chord = build_chord(symbol)
        again = build_chord(chord.symbol)
        assert (again.root, again.notes, again.bass) == (chord.root, chord.notes, chord.bass)


def test_the_longest_accidental_is_the_root_and_a_single_flat_root_with_flat_five_stays_apart() -> (
    None
):
    # "Cbb5" is a power chord on C double flat; C flat with a flat fifth is "Cb(b5)",
    # which is also how it prints.
    assert build_chord("Cbb5").notes == ("Cbb", "Gbb")
    flat_five = build_chord("Cb(b5)")
    assert flat_five.root == "Cb" and flat_five.notes == ("Cb", "Eb", "Gbb")
    assert build_chord(flat_five.symbol).notes == flat_five.notes


def test_chords_named_from_notes_and_progressions_take_double_accidentals() -> None:
    assert identify_chord(["C##", "E##", "G##"]).root == "C##"
    info = analyze_progression(["Fx", "C𝄪7", "Fx"])
    assert len(info.analysis) == 3


@pytest.mark.parametrize("symbol", ["C###", "Cbbb", "Cx#", "C-7x", "H7", "C♮"])
def test_more_than_a_double_accidental_is_still_refused(symbol: str) -> None:
    with pytest.raises(InvalidInputError):
        build_chord(symbol)


def test_a_chord_root_takes_every_note_accidental_but_the_minus_and_the_natural() -> None:
    assert set(SYMBOL_ACCIDENTALS) == {
        "",
        "#",
        "♯",
        "##",
        "♯♯",
        "x",
        "𝄪",
        "b",
        "♭",
        "bb",
        "♭♭",
        "𝄫",
    }
    with pytest.raises(InvalidInputError):  # "-" after a root means minor to many: not Cb7
        build_chord("C-7")


@pytest.mark.parametrize(
    ("key", "same"), [("F## major", "G"), ("C𝄪 minor", "D"), ("Dbb", "C"), ("Ex", "F# or Gb")]
)
def test_a_key_with_a_double_accidental_is_refused_with_its_enharmonic(key: str, same: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        analyze_progression(["C", "F", "G"], key=key)
    assert "theoretical key" in info.value.message
    assert info.value.message.endswith(f"use the same sound as {same}")
