"""The teacher's lessons: computed content, names that all parse, levels, speed."""

from __future__ import annotations

import json
import re
import statistics
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from music_reasoning.errors import InvalidInputError
from music_reasoning.sdk.teacher import (
    LEVELS,
    Lesson,
    teach_chord,
    teach_progression,
    teach_scale,
)
from music_reasoning.theory import (
    CHORD_QUALITIES,
    SCALE_TYPES,
    analyze_progression,
    build_chord,
    get_scale,
    identify_chord,
)
from music_reasoning.theory.notes import parse_note, pitch_class

CHORDS = [
    "C",
    "Cm",
    "Cdim",
    "Caug",
    "G7",
    "Cmaj7",
    "Am7",
    "Bm7b5",
    "Bdim7",
    "CmMaj7",
    "Caug7",
    "Cmaj7#5",
    "C7b5",
    "Csus2",
    "Csus4",
    "G7sus4",
    "C6",
    "Am6",
    "C5",
    "Cadd9",
    "Cmadd9",
    "C6/9",
    "G9",
    "Cmaj9",
    "Dm9",
    "G7b9",
    "G7#9",
    "C11",
    "Dm11",
    "G13",
    "Cmaj13",
    "Dm13",
    "C/E",
    "G7/F",
    "F#m7",
    "Bb7",
    "Ebmaj7",
    "Db7",
    "Abm",
    "C#dim",
]
PROGRESSIONS = (
    "C G Am F",
    "Am F C G",
    "C Am F G",
    "Dm7 G7 Cmaj7",
    "Em7b5 A7 Dm7",
    "C A7 Dm G7 C",
    "Cmaj7 Am7 Dm7 G7",
    "Am Dm E7 Am",
    "Cm Fm G7 Cm",
    "Am G F E",
    "C7 F7 C7 C7 F7 F7 C7 C7 G7 F7 C7 G7",
    "C Fm C",
    "C Bb F C",
    "Fm7 Bb7 Cmaj7",
    "G D Em C",
    "Dm7b5 G7 Cm",
)
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROOTS = st.builds(str.__add__, st.sampled_from("ABCDEFG"), st.sampled_from(["", "#", "b"]))


def _check_names(lesson: Lesson) -> None:
    """Every name the lesson states is computable: symbols build, keys and notes parse."""
    for symbol in lesson.symbols:
        build_chord(symbol)
    for note in lesson.notes:
        parse_note(note)
    for key in lesson.keys:
        tonic, _, kind = key.partition(" ")
        get_scale(tonic, kind)
    assert lesson.names == lesson.symbols | lesson.keys | lesson.numerals


def _sentences(lesson: Lesson) -> list[str]:
    return [s for _, lines in lesson.sections for s in lines]


# --- chords ---------------------------------------------------------------------------


def test_g7_resolves_to_c_with_its_tritone_and_substitute() -> None:
    lesson = teach_chord(build_chord("G7"), "advanced")
    assert {"C", "Db7"} <= lesson.symbols
    assert {"C major", "C minor"} <= lesson.keys
    assert "V7" in lesson.numerals
    assert {"B", "F", "E"} <= lesson.notes
    text = lesson.text
    assert "tritone" in text
    assert "Db7" in text


def test_cmaj7_keys_are_computed() -> None:
    lesson = teach_chord(build_chord("Cmaj7"), "intermediate")
    assert {"C major", "G major"} <= lesson.keys
    assert {"Imaj7", "IVmaj7"} <= lesson.numerals


def test_progressions_a_chord_is_part_of_are_recognised_by_the_analyser() -> None:
    for symbol in ("G7", "Dm7", "Am", "Bm7b5", "E7"):
        lesson = teach_chord(build_chord(symbol), "intermediate")
        for sentence in dict(lesson.sections).get("Common progressions", ()):
            match = re.fullmatch(r"In (\S+ \S+) it is part of (\S+): (.*)\.", sentence)
            assert match is not None, sentence
            key, name, chords = match.groups()
            info = analyze_progression(chords.split(" - "), key=key)
            assert name in {p.name for p in info.patterns} | {"I-IV-V"}, (sentence, info)


@pytest.mark.parametrize("symbol", CHORDS)
def test_every_chord_and_level(symbol: str) -> None:
    lessons = [teach_chord(build_chord(symbol), level) for level in LEVELS]
    for lesson in lessons:
        assert lesson.text
        _check_names(lesson)
        assert json.loads(json.dumps(lesson.to_dict()))["level"] == lesson.level
    assert len(lessons[0].text) < len(lessons[2].text)


def test_identified_chords_without_a_type_still_get_a_lesson() -> None:
    info = identify_chord(["C", "C#", "D"])
    lesson = teach_chord(info, "advanced")
    assert lesson.text
    _check_names(lesson)


@PROPS
@given(ROOTS, st.sampled_from(range(len(CHORD_QUALITIES))))
def test_random_chords_never_raise(root: str, index: int) -> None:
    from music_reasoning.theory._chord_table import TEMPLATES

    lesson = teach_chord(build_chord(root + TEMPLATES[index].suffix), "advanced")
    _check_names(lesson)


# --- scales ---------------------------------------------------------------------------


def test_d_dorian_raised_sixth_and_parent_major() -> None:
    lesson = teach_scale(get_scale("D", "dorian"), "intermediate")
    different = " ".join(dict(lesson.sections)["What makes it different"])
    assert "D natural minor" in different
    assert "raised" in different
    assert "B" in different
    assert "Bb" in different
    assert "C major" in lesson.keys


def test_a_harmonic_minor_leading_tone() -> None:
    lesson = teach_scale(get_scale("A", "harmonic minor"), "intermediate")
    degrees = " ".join(dict(lesson.sections)["Degrees"])
    assert "G# the leading tone" in degrees
    assert "E7" not in lesson.symbols  # triads at intermediate
    assert "E" in lesson.symbols


@pytest.mark.parametrize("scale_type", SCALE_TYPES)
def test_every_scale_type_and_level(scale_type: str) -> None:
    for root in ("C", "F#", "Bb"):
        lessons = [teach_scale(get_scale(root, scale_type), level) for level in LEVELS]
        for lesson in lessons:
            assert lesson.text
            _check_names(lesson)
        assert len(lessons[0].text) < len(lessons[2].text)


# --- progressions ---------------------------------------------------------------------


def test_secondary_dominant_and_borrowed_chord() -> None:
    lesson = teach_progression(analyze_progression("C A7 Dm G7 C Fm C"), "intermediate")
    sections = dict(lesson.sections)
    assert "Dm" in " ".join(sections["Secondary dominants"])
    assert "C minor" in " ".join(sections["Borrowed chords"])
    assert "Ab" in lesson.notes


def test_ii_v_i_voice_leading_names_common_tones() -> None:
    lesson = teach_progression(analyze_progression("Dm7 G7 Cmaj7"), "advanced")
    lines = dict(lesson.sections)["Voice leading"]
    assert lines[0].startswith("Dm7 to G7: D and F stay")
    assert lines[1].startswith("G7 to Cmaj7: G and B stay")


@pytest.mark.parametrize("chords", PROGRESSIONS)
def test_every_progression_and_level(chords: str) -> None:
    info = analyze_progression(chords)
    lessons = [teach_progression(info, level) for level in LEVELS]
    for lesson in lessons:
        assert lesson.text
        assert info.key in lesson.keys
        _check_names(lesson)
    assert len(lessons[0].text) < len(lessons[2].text)


@PROPS
@given(st.lists(st.tuples(ROOTS, st.sampled_from(["", "m", "7", "maj7", "m7"])), min_size=1))
def test_random_progressions_never_raise(chords: list[tuple[str, str]]) -> None:
    info = analyze_progression([r + s for r, s in chords[:8]])
    _check_names(teach_progression(info, "advanced"))


# --- API --------------------------------------------------------------------------------


def test_unknown_level_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        teach_chord(build_chord("C"), "expert")  # type: ignore[arg-type]


def test_lesson_numerals_in_progressions_come_from_the_analysis() -> None:
    info = analyze_progression("Am F C G")
    lesson = teach_progression(info, "beginner")
    assert {a.roman for a in info.analysis} <= lesson.numerals
    assert {pitch_class(n) for n in lesson.notes} <= set(range(12))


def test_lessons_are_fast() -> None:
    subjects = [
        lambda: teach_chord(build_chord("G7"), "advanced"),
        lambda: teach_scale(get_scale("D", "dorian"), "advanced"),
        lambda: teach_progression(analyze_progression("Dm7 G7 Cmaj7 A7"), "advanced"),
    ]
    for make in subjects:
        make()  # warm caches and music21
    times = []
    for make in subjects * 20:
        start = time.perf_counter()
        make()
        times.append(time.perf_counter() - start)
    p95 = statistics.quantiles(times, n=20)[-1]
    assert p95 < 0.5, p95


def test_docstring_examples_run() -> None:
    import doctest

    import music_reasoning.sdk.teacher as teacher

    result = doctest.testmod(teacher)
    assert result.failed == 0
    assert result.attempted > 0


def test_a_tritone_substitute_in_a_progression_is_named() -> None:
    from music_reasoning.theory import analyze_progression

    text = teach_progression(analyze_progression(["Dm7", "Db7", "Cmaj7"]), "intermediate").text
    assert "Db7 (bII7) is a tritone substitution for G7, the V7" in text
    assert "they share B and F (F and Cb in Db7)" in text
