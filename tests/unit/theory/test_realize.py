"""Roman numerals realized as chord symbols in a key."""

from __future__ import annotations

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import analyze_progression, realize_numeral, realize_progression


@pytest.mark.parametrize(
    ("numerals", "key", "symbols"),
    [
        ("I IV V", "C", ["C", "F", "G"]),
        ("ii7 V7 Imaj7", "Bb", ["Cm7", "F7", "Bbmaj7"]),
        ("V7/V", "C", ["D7"]),
        ("bVII", "C", ["Bb"]),
        ("i iv V", "A minor", ["Am", "Dm", "E"]),
        ("bII7", "C", ["Db7"]),
        ("IV I", "Eb", ["Ab", "Eb"]),
        ("vii°7/V viio7 viiø7", "C", ["F#dim7", "Bdim7", "Bm7b5"]),
        ("vii° VII i", "A minor", ["G#dim", "G", "Am"]),
        ("I6 V65 V64 viiø43 V42 Imaj65", "C", ["C/E", "G7/B", "G/D", "Bm7b5/F", "G7/F", "Cmaj7/E"]),
        ("i VI III VII", "F#m", ["F#m", "D", "A", "E"]),
        ("V/vi V7/ii V/IV", "Eb major", ["G", "C7", "Eb"]),
        ("iv7 bVII7 I", "G", ["Cm7", "F7", "G"]),
        (
            "I+ Isus4 V7sus4 Iadd9 imaj7 ii9",
            "D",
            ["Daug", "Dsus4", "A7sus4", "Dadd9", "DmMaj7", "Em9"],
        ),
    ],
)
def test_realize_progression(numerals: str, key: str, symbols: list[str]) -> None:
    assert [c.symbol for c in realize_progression(numerals.split(), key)] == symbols


def test_realized_chord_has_notes() -> None:
    chord = realize_numeral("V7/V")
    assert (chord.symbol, chord.notes) == ("D7", ("D", "F#", "A", "C"))
    assert chord.to_dict() == {"numeral": "V7/V", "symbol": "D7", "notes": ["D", "F#", "A", "C"]}


@pytest.mark.parametrize("tonic", ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"])
def test_round_trip_through_the_analysis(tonic: str) -> None:
    """The analysis reads the realized chords back as the same numerals."""
    numerals = ["I", "vi", "ii7", "V7", "I"]
    chords = [c.symbol for c in realize_progression(numerals, tonic)]
    info = analyze_progression(chords, key=f"{tonic} major")
    assert [a.roman for a in info.analysis] == numerals


@pytest.mark.parametrize(
    ("numeral", "key"),
    [
        ("VIII", "C"),
        ("Io", "C"),
        ("v+", "C"),
        ("I", "H"),
        ("V9/", "C"),
        ("V964", "C"),
        ("", "C"),
        ("V/V6", "C"),
    ],
)
def test_bad_input_is_invalid_input(numeral: str, key: str) -> None:
    with pytest.raises(InvalidInputError):
        realize_numeral(numeral, key)
