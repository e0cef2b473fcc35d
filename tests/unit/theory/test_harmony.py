"""Harmony facts checked against music21 and independent interval arithmetic."""

from __future__ import annotations

import doctest
import json

import music21  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import music_reasoning.theory as theory
import music_reasoning.theory.harmony as harmony
from music_reasoning.theory import (
    build_chord,
    common_tones,
    diatonic_chords,
    get_scale,
    keys_containing,
    resolution,
    substitutes,
    voice_leading,
)
from music_reasoning.theory._chord_table import TEMPLATES
from music_reasoning.theory.notes import pitch_class

PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROOTS = st.builds(str.__add__, st.sampled_from("ABCDEFG"), st.sampled_from(["", "#", "b"]))
SUFFIXES = st.sampled_from([t.suffix for t in TEMPLATES])
SEVEN_NOTE = [t for t in theory.SCALE_TYPES if len(get_scale("C", t).notes) == 7]


def _pcs(notes: tuple[str, ...] | list[str]) -> set[int]:
    return {pitch_class(n) for n in notes}


def _m21_pcs(symbol_notes: tuple[str, ...]) -> set[int]:
    return {music21.pitch.Pitch(n.replace("b", "-")).pitchClass for n in symbol_notes}


def test_exports_are_public() -> None:
    assert set(harmony.__all__) <= set(theory.__all__)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(harmony)
    assert result.failed == 0
    assert result.attempted > 0


# --- diatonic chords ---------------------------------------------------------------


def test_c_major_sevenths_match_music21_triads_stacked_on_the_scale() -> None:
    chords = diatonic_chords("C", "major", sevenths=True)
    assert [c.symbol for c in chords] == ["Cmaj7", "Dm7", "Em7", "Fmaj7", "G7", "Am7", "Bm7b5"]
    assert [c.numeral for c in chords] == ["Imaj7", "ii7", "iii7", "IVmaj7", "V7", "vi7", "viiø7"]
    scale = music21.scale.MajorScale("C")
    for chord in chords:
        degree = chord.degree
        expected = {
            scale.pitchFromDegree((degree - 1 + step) % 7 + 1).pitchClass for step in (0, 2, 4, 6)
        }
        assert _pcs(chord.notes) == expected


def test_harmonic_minor_has_a_major_dominant_and_a_diminished_seventh() -> None:
    chords = diatonic_chords("A", "harmonic minor", sevenths=True)
    assert chords[4].symbol == "E7"
    assert chords[4].numeral == "V7"
    assert chords[6].symbol == "G#dim7"
    assert chords[6].function == "dominant"


def test_dorian_numerals_are_relative_to_major() -> None:
    chords = diatonic_chords("D", "dorian")
    assert [c.numeral for c in chords] == ["i", "ii", "bIII", "IV", "v", "vio", "bVII"]
    assert all(c.function is None for c in chords)


def test_non_heptatonic_scales_have_no_diatonic_chords() -> None:
    assert diatonic_chords("C", "blues") == ()


@pytest.mark.parametrize("scale_type", SEVEN_NOTE)
def test_every_diatonic_symbol_builds_to_its_notes(scale_type: str) -> None:
    for sevenths in (False, True):
        for chord in diatonic_chords("Eb", scale_type, sevenths=sevenths):
            assert _pcs(build_chord(chord.symbol).notes) == _pcs(chord.notes)


# --- keys containing a chord -------------------------------------------------------


def test_g7_is_v7_in_c_major_and_c_harmonic_minor() -> None:
    places = {(p.key, p.numeral): p for p in keys_containing("G7")}
    assert ("C major", "V7") in places
    assert "harmonic_minor" in places[("C minor", "V7")].scales
    assert places[("C major", "V7")].function == "dominant"


def test_cmaj7_is_imaj7_in_c_and_ivmaj7_in_g() -> None:
    places = [(p.key, p.numeral) for p in keys_containing("Cmaj7")]
    assert places[0] == ("C major", "Imaj7")
    assert ("G major", "IVmaj7") in places


def test_keys_containing_agrees_with_music21_scales() -> None:
    chord_pcs = _pcs(build_chord("Bm7b5").notes)
    expected = set()
    for tonic in ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"):
        scale = music21.scale.MajorScale(tonic.replace("b", "-"))
        if chord_pcs <= {p.pitchClass for p in scale.getPitches()}:
            expected.add(f"{tonic} major")
    found = {p.key for p in keys_containing("Bm7b5") if p.mode == "major"}
    assert found == expected == {"C major"}


# --- resolution ----------------------------------------------------------------------


def test_g7_tritone_resolves_inward_to_c() -> None:
    res = resolution("G7")
    assert res is not None
    assert res.targets[0] == "C"
    assert res.tritone == ("B", "F")
    interval = music21.interval.Interval(music21.pitch.Pitch("B3"), music21.pitch.Pitch("F4"))
    assert res.tritone_interval == interval.name == "d5"
    moves = {t.source: (t.target, t.semitones) for t in res.tendencies}
    assert moves == {"B": ("C", 1), "F": ("E", -1)}  # inward: up and down a half step


def test_leading_tone_chords_resolve_up_a_half_step() -> None:
    res = resolution("G#dim7")
    assert res is not None
    assert {pitch_class(build_chord(t).root) for t in res.targets} == {pitch_class("A")}
    assert res.tendencies[0].source == "G#"
    assert res.tendencies[0].semitones == 1


def test_non_dominant_chords_have_no_resolution() -> None:
    assert resolution("Cmaj7") is None
    assert resolution("Am") is None


@PROPS
@given(ROOTS)
def test_every_dominant_seventh_resolves_a_fifth_down(root: str) -> None:
    res = resolution(f"{root}7")
    assert res is not None
    drop = (pitch_class(root) - pitch_class(build_chord(res.targets[0]).root)) % 12
    assert drop == 7
    assert {abs(t.semitones) for t in res.tendencies} == {1}


# --- voice leading and common tones -----------------------------------------------


def test_ii_v_i_voice_leading() -> None:
    first = voice_leading("Dm7", "G7")
    assert first.common_tones == ("D", "F")
    assert {(m.source, m.target) for m in first.motions} == {
        ("D", "D"),
        ("F", "F"),
        ("A", "G"),
        ("C", "B"),
    }
    second = voice_leading("G7", "Cmaj7")
    assert second.common_tones == ("G", "B")
    assert all(abs(m.semitones) <= 2 for m in second.motions)


def test_common_tones_match_set_intersection() -> None:
    for a, b in (("C", "Am"), ("F", "Dm7"), ("E7", "Am"), ("C", "F#")):
        expected = _pcs(build_chord(a).notes) & _pcs(build_chord(b).notes)
        assert _pcs(common_tones(a, b)) == expected


# --- substitutes ---------------------------------------------------------------------


def test_tritone_substitute_of_g7_is_db7_sharing_the_tritone() -> None:
    subs = {s.relation: s for s in substitutes("G7")}
    tritone = subs["tritone substitution"]
    assert tritone.symbol == "Db7"
    assert _pcs(tritone.shared) == _pcs(("B", "F"))


def test_relative_minor_of_c_is_am() -> None:
    subs = {s.relation: s.symbol for s in substitutes("C")}
    assert subs["relative minor"] == "Am"
    assert {s.relation: s.symbol for s in substitutes("Am")}["relative major"] == "C"


def test_diminished_sevenths_share_all_notes() -> None:
    for sub in substitutes("Bdim7"):
        assert _pcs(build_chord(sub.symbol).notes) == _pcs(build_chord("Bdim7").notes)


# --- properties ------------------------------------------------------------------------


@PROPS
@given(ROOTS, SUFFIXES)
def test_random_chords_never_raise_and_symbols_build(root: str, suffix: str) -> None:
    symbol = root + suffix
    for place in keys_containing(symbol):
        assert _pcs(build_chord(place.symbol).notes) == _pcs(build_chord(symbol).notes)
    for sub in substitutes(symbol):
        build_chord(sub.symbol)
    res = resolution(symbol)
    if res is not None:
        for target in res.targets:
            build_chord(target)
    lead = voice_leading(symbol, "C")
    assert len(lead.motions) == len(build_chord(symbol).notes)


def test_results_are_json_ready() -> None:
    for value in (
        diatonic_chords("C")[0],
        keys_containing("G7")[0],
        resolution("G7"),
        voice_leading("G7", "C"),
        substitutes("G7")[0],
    ):
        assert value is not None
        data = value.to_dict()
        assert json.loads(json.dumps(data)) == data


def test_new_scale_types() -> None:
    assert len(get_scale("C", "chromatic").notes) == 12
    assert get_scale("C", "chromatic").formula == "-".join(["H"] * 12)
    half_whole = get_scale("C", "half-whole diminished")
    assert half_whole.formula == "H-W-H-W-H-W-H-W"
    m21 = music21.scale.OctatonicScale("C", mode="m2")
    assert _pcs(half_whole.notes) == {p.pitchClass for p in m21.getPitches("C4", "B4")}


@pytest.mark.parametrize(
    ("symbol", "key", "numeral", "spelled"),
    [
        ("Bdim7", "F# minor", "viio7", "E#dim7"),  # an independent audit found "ivo7"
        ("Bdim7", "C minor", "viio7", "Bdim7"),
        ("Caug", "F minor", "III+", "Abaug"),  # not "V+": G# is not in F minor
        ("Bm7b5", "A minor", "iiø7", "Bm7b5"),
    ],
)
def test_a_chord_is_placed_in_a_key_by_its_spelling_not_its_sound(
    symbol: str, key: str, numeral: str, spelled: str
) -> None:
    (place,) = [p for p in keys_containing(symbol) if p.key == key]
    assert (place.numeral, place.symbol) == (numeral, spelled)
    assert place.respelled == (spelled != symbol)


@pytest.mark.parametrize(
    ("symbol", "absent"),
    [
        ("Bm7b5", "F# minor"),  # F natural is not in F# minor
        ("F#m", "Bb minor"),  # VI in Bb minor is Gb major
        ("Abm", "C minor"),  # Cb is not in C minor
        ("Cm6", "E minor"),
        ("CmMaj7", "E minor"),
    ],
)
def test_a_chord_whose_spelling_leaves_the_key_is_not_placed_there(
    symbol: str, absent: str
) -> None:
    assert absent not in {p.key for p in keys_containing(symbol)}


def test_a_bass_outside_the_chord_must_be_in_the_key_too() -> None:
    # C/Bb sounds C E G Bb: not "I in C major" (a second audit found that)
    assert {p.key for p in keys_containing("C/Bb")} == {"F major", "F minor", "D minor"}
    (a_minor,) = [p for p in keys_containing("Am/G") if p.key == "A minor"]
    assert a_minor.scales == ("natural_minor",)  # G natural is not in A harmonic minor
