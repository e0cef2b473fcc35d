"""Facts about progression analysis (real music21, no mocks)."""

from __future__ import annotations

import json

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import ProgressionInfo, analyze_progression

BLUES_IN_C = ["C7", "C7", "C7", "C7", "F7", "F7", "C7", "C7", "G7", "F7", "C7", "G7"]


def _romans(info: ProgressionInfo) -> list[str]:
    return [a.roman for a in info.analysis]


def _cadences(info: ProgressionInfo) -> list[str]:
    return [c.type for c in info.cadences]


def _patterns(info: ProgressionInfo) -> dict[str, str]:
    return {p.name: p.genre for p in info.patterns}


def test_ii_v_i_in_c() -> None:
    info = analyze_progression(["Dm7", "G7", "Cmaj7"])
    assert info.key == "C major"
    assert _romans(info) == ["ii7", "V7", "Imaj7"]
    assert [a.function for a in info.analysis] == ["predominant", "dominant", "tonic"]
    assert "authentic" in _cadences(info)
    assert _patterns(info)["ii-V-I"] == "jazz"
    assert info.confidence > 0.7


def test_pop_axis_progression() -> None:
    info = analyze_progression(["C", "G", "Am", "F"])
    assert info.key == "C major"
    assert _romans(info) == ["I", "V", "vi", "IV"]
    assert _patterns(info)["I-V-vi-IV"] == "pop"


def test_twelve_bar_blues_in_c() -> None:
    info = analyze_progression(BLUES_IN_C)
    assert info.key == "C major"
    assert _romans(info) == ["I7"] * 4 + ["IV7"] * 2 + ["I7"] * 2 + ["V7", "IV7", "I7", "V7"]
    blues = next(p for p in info.patterns if p.name == "12-bar blues")
    assert blues.genre == "blues"
    assert blues.confidence == 1.0
    assert blues.positions == tuple(range(12))


def test_backdoor_cadence() -> None:
    info = analyze_progression(["Fm7", "Bb7", "C"])
    assert info.key == "C major"
    assert _romans(info) == ["iv7", "bVII7", "I"]
    backdoor = next(c for c in info.cadences if c.type == "backdoor")
    assert backdoor.positions == (0, 1, 2)
    assert _patterns(info)["backdoor ii-V"] == "jazz"


def test_deceptive_cadence_in_c() -> None:
    info = analyze_progression(["C", "F", "G7", "Am"])
    assert info.key == "C major"
    assert _romans(info)[-2:] == ["V7", "vi"]
    deceptive = next(c for c in info.cadences if c.type == "deceptive")
    assert deceptive.positions == (2, 3)
    assert deceptive.romans == ("V7", "vi")


def test_deceptive_cadence_with_the_key_given() -> None:
    info = analyze_progression(["G7", "Am"], key="C major")
    assert info.key == "C major"
    assert info.confidence == 1.0
    assert _romans(info) == ["V7", "vi"]
    assert _cadences(info) == ["deceptive"]


def test_secondary_dominant() -> None:
    info = analyze_progression(["C", "A7", "Dm", "G7", "C"])
    assert info.key == "C major"
    assert _romans(info) == ["I", "V7/ii", "ii", "V7", "I"]
    assert info.analysis[1].function == "dominant"


def test_secondary_dominant_with_the_key_given() -> None:
    # On its own C A7 Dm reads as D minor (VII V7 i); the key argument settles it.
    assert analyze_progression(["C", "A7", "Dm"]).key == "D minor"
    assert _romans(analyze_progression(["C", "A7", "Dm"], key="C")) == ["I", "V7/ii", "ii"]


def test_half_cadence_ending_on_v() -> None:
    info = analyze_progression(["C", "Am", "F", "G"])
    assert info.key == "C major"
    assert _cadences(info)[-1] == "half"
    assert info.cadences[-1].positions == (2, 3)


def test_minor_key_with_harmonic_dominant() -> None:
    info = analyze_progression(["Am", "Dm", "E7", "Am"])
    assert info.key == "A minor"
    assert _romans(info) == ["i", "iv", "V7", "i"]
    assert "authentic" in _cadences(info)


def test_minor_ii_v_i_uses_half_diminished() -> None:
    info = analyze_progression(["Bm7b5", "E7", "Am"])
    assert info.key == "A minor"
    assert _romans(info) == ["iiø7", "V7", "i"]
    assert "ii-V-i" in _patterns(info)


def test_secondary_leading_tone_chord() -> None:
    info = analyze_progression(["C", "F#dim7", "G", "C"])
    assert _romans(info)[1] == "viio7/V"


def test_inversions_get_figures() -> None:
    info = analyze_progression(["C", "G/B", "Am", "G7/D", "C"])
    assert _romans(info) == ["I", "V6", "vi", "V43", "I"]


def test_spelling_follows_the_key() -> None:
    info = analyze_progression(["F", "A#", "C", "F"])
    assert info.key == "F major"
    assert info.analysis[1].chord == "Bb"
    assert info.analysis[1].notes == ("Bb", "D", "F")
    assert info.analysis[1].input == "A#"
    assert _romans(info) == ["I", "IV", "V", "I"]


def test_flat_key_tonic_spelling() -> None:
    info = analyze_progression(["Gb", "Cb", "Db7", "Gb"])
    assert info.key == "Gb major"
    assert _romans(info) == ["I", "IV", "V7", "I"]


def test_andalusian_cadence() -> None:
    info = analyze_progression(["Am", "G", "F", "E"])
    assert info.key == "A minor"
    assert _patterns(info)["i-bVII-bVI-V"] == "flamenco"


def test_accepts_a_bar_separated_string() -> None:
    assert analyze_progression("Dm7 | G7 | Cmaj7").key == "C major"


def test_to_dict_is_json_ready() -> None:
    data = analyze_progression(["Dm7", "G7", "Cmaj7"]).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["analysis"][1]["roman"] == "V7"
    assert data["cadences"][0]["type"] == "authentic"


def test_invalid_symbol_names_token_and_position() -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        analyze_progression(["C", "Xmaj7", "G"])
    assert "'Xmaj7'" in excinfo.value.message
    assert excinfo.value.details["token"] == "Xmaj7"
    assert excinfo.value.details["position"] == 1


@pytest.mark.parametrize("bad", [[], "", "   "])
def test_empty_progression_is_invalid(bad: list[str] | str) -> None:
    with pytest.raises(InvalidInputError):
        analyze_progression(bad)


def test_invalid_key_argument() -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        analyze_progression(["C"], key="H dur")
    assert "'H dur'" in excinfo.value.message


@pytest.mark.parametrize(
    ("chords", "chord", "roman"),
    [
        ("C D C D", "C", "bVII"),  # an independent audit found "B# is #VI"
        ("G F C G", "F", "bVII"),
        ("E D A E", "D", "bVII"),
    ],
)
def test_a_chord_outside_the_key_keeps_its_natural_spelling(
    chords: str, chord: str, roman: str
) -> None:
    info = analyze_progression(chords.split())
    (found,) = {(a.chord, a.roman) for a in info.analysis if a.input == chord}
    assert found == (chord, roman)


def test_other_keys_are_plausible_readings_with_their_confidence() -> None:
    info = analyze_progression(["Am", "F", "C", "G"])
    assert info.key == "C major"
    assert "G major" in info.alternative_keys and "A minor" in info.alternative_keys
    assert len(info.alternative_confidences) == len(info.alternative_keys)
    assert all(0.15 <= c < info.confidence for c in info.alternative_confidences)
    # a reading where a chord does not fit is not offered ("F minor" for C G Am F)
    assert "F minor" not in analyze_progression(["C", "G", "Am", "F"]).alternative_keys
    assert analyze_progression(["Am", "Dm", "E7", "Am"]).alternative_keys == ()
