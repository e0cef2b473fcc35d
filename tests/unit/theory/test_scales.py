"""Facts about scales (real music21, no mocks)."""

from __future__ import annotations

import json

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import SCALE_TYPES, get_scale


def test_d_dorian() -> None:
    scale = get_scale("D", "dorian")
    assert scale.notes == ("D", "E", "F", "G", "A", "B", "C")
    assert scale.formula == "W-H-W-W-W-H-W"
    assert scale.relative == "C major"


def test_major_scale_formula_and_degrees() -> None:
    scale = get_scale("C", "major")
    assert scale.formula == "W-W-H-W-W-W-H"
    assert [d.name for d in scale.degrees] == [
        "tonic",
        "supertonic",
        "mediant",
        "subdominant",
        "dominant",
        "submediant",
        "leading tone",
    ]
    assert scale.relative == "A minor"
    assert scale.parallel == "C minor"


def test_f_major_has_b_flat() -> None:
    notes = get_scale("F", "major").notes
    assert "Bb" in notes
    assert "A#" not in notes


def test_a_harmonic_minor() -> None:
    scale = get_scale("A", "harmonic minor")
    assert scale.type == "harmonic_minor"
    assert scale.notes == ("A", "B", "C", "D", "E", "F", "G#")
    assert scale.formula == "W-H-W-W-H-W+H-H"
    assert scale.degrees[6].name == "leading tone"
    assert scale.relative == "C major"
    assert scale.parallel == "A major"


def test_natural_minor_aliases_and_subtonic() -> None:
    for alias in ("minor", "aeolian", "natural-minor", "Natural Minor"):
        scale = get_scale("A", alias)
        assert scale.type == "natural_minor"
        assert scale.notes == ("A", "B", "C", "D", "E", "F", "G")
    assert get_scale("A", "minor").degrees[6].name == "subtonic"


@pytest.mark.parametrize(
    ("root", "scale_type", "notes", "formula"),
    [
        ("C", "ionian", ("C", "D", "E", "F", "G", "A", "B"), "W-W-H-W-W-W-H"),
        ("E", "phrygian", ("E", "F", "G", "A", "B", "C", "D"), "H-W-W-W-H-W-W"),
        ("F", "lydian", ("F", "G", "A", "B", "C", "D", "E"), "W-W-W-H-W-W-H"),
        ("G", "mixolydian", ("G", "A", "B", "C", "D", "E", "F"), "W-W-H-W-W-H-W"),
        ("B", "locrian", ("B", "C", "D", "E", "F", "G", "A"), "H-W-W-H-W-W-W"),
        ("C", "melodic minor", ("C", "D", "Eb", "F", "G", "A", "B"), "W-H-W-W-W-W-H"),
        ("C", "major pentatonic", ("C", "D", "E", "G", "A"), "W-W-W+H-W-W+H"),
        ("A", "minor_pentatonic", ("A", "C", "D", "E", "G"), "W+H-W-W-W+H-W"),
        ("C", "blues", ("C", "Eb", "F", "Gb", "G", "Bb"), "W+H-W-H-H-W+H-W"),
        ("C", "whole tone", ("C", "D", "E", "F#", "G#", "Bb"), "W-W-W-W-W-W"),
        ("C", "diminished", ("C", "D", "Eb", "F", "Gb", "Ab", "A", "B"), "W-H-W-H-W-H-W-H"),
    ],
)
def test_scale_catalogue(root: str, scale_type: str, notes: tuple[str, ...], formula: str) -> None:
    scale = get_scale(root, scale_type)
    assert scale.notes == notes
    assert scale.formula == formula


def test_modes_name_their_parent_major_key() -> None:
    assert get_scale("E", "phrygian").relative == "C major"
    assert get_scale("Bb", "mixolydian").relative == "Eb major"
    assert get_scale("F#", "locrian").relative == "G major"


def test_flat_keys_use_flats_and_sharp_keys_use_sharps() -> None:
    assert get_scale("Eb", "minor").notes == ("Eb", "F", "Gb", "Ab", "Bb", "Cb", "Db")
    assert get_scale("F#", "major").notes == ("F#", "G#", "A#", "B", "C#", "D#", "E#")
    assert get_scale("Eb", "minor").relative == "Gb major"


def test_symmetric_scales_avoid_needless_accidentals() -> None:
    assert get_scale("Db", "whole tone").notes == ("Db", "Eb", "F", "G", "A", "B")


def test_degrees_pair_notes_numbers_and_intervals() -> None:
    scale = get_scale("G", "major")
    assert [(d.number, d.note, d.interval) for d in scale.degrees][4] == (5, "D", "P5")
    assert scale.degrees[6].note == "F#"


def test_every_scale_type_is_available() -> None:
    for scale_type in SCALE_TYPES:
        assert get_scale("C", scale_type).type == scale_type


def test_to_dict_is_json_ready() -> None:
    data = get_scale("D", "dorian").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["degrees"][0] == {"number": 1, "note": "D", "name": "tonic", "interval": "P1"}


@pytest.mark.parametrize(
    ("root", "scale_type", "token"),
    [("H", "major", "H"), ("C", "klezmer", "klezmer"), ("", "major", ""), ("C4", "major", "C4")],
)
def test_invalid_input_names_the_token(root: str, scale_type: str, token: str) -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        get_scale(root, scale_type)
    assert repr(token) in excinfo.value.message
    assert excinfo.value.details["token"] == token


def test_two_notes_on_one_degree_get_different_names() -> None:
    names = [d.name for d in get_scale("C", "diminished").degrees]
    assert len(set(names)) == len(names)
    assert ("Ab", "lowered submediant") in {
        (d.note, d.name) for d in get_scale("C", "diminished").degrees
    }
