"""Every lesson the teacher writes passes the verifier that checks the model.

Two independent readings of the same theory: the teacher writes sentences from what
the theory layer computes, the verifier reads claims back and checks them with the
theory layer.  A lesson sentence the verifier rejects is a bug in one of them (both
kinds were found and fixed this way), so this sweep runs over every chord quality and
scale type the theory layer knows, in keys with sharps and flats, at every level.
"""

from __future__ import annotations

import pytest

from music_reasoning.sdk.facts import chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.teacher import LEVELS, teach_chord, teach_progression, teach_scale
from music_reasoning.sdk.verify import find_contradictions
from music_reasoning.theory import (
    CHORD_QUALITIES,
    SCALE_TYPES,
    analyze_progression,
    build_chord,
    get_scale,
)

ROOTS = ("C", "F#", "Bb")
PROGRESSIONS = (
    "Dm7 G7 Cmaj7",
    "C G Am F",
    "Am F C G",
    "C A7 Dm G7 C",
    "Cm Ab Eb Bb",
    "C F Fm C",
    "Am Dm E7 Am",
    "C Db7 C",
    "Fm7 Bb7 Ebmaj7",
    "C7 F7 C7 G7 F7 C7",
    "Em C G D",
    "Bbmaj7 Gm7 Cm7 F7",
)


def _chord_symbols() -> list[str]:
    from music_reasoning.theory._chord_table import TEMPLATES

    suffixes = sorted({t.suffix for t in TEMPLATES})
    return [f"{root}{suffix}" for root in ROOTS[:2] for suffix in suffixes]


@pytest.mark.parametrize("level", LEVELS)
def test_chord_lessons(level: str) -> None:
    assert len(CHORD_QUALITIES) > 20
    bad = {}
    for symbol in _chord_symbols():
        info = build_chord(symbol)
        lesson = teach_chord(info, level)  # type: ignore[arg-type]
        problems = find_contradictions(lesson.text, chord_facts(info).widened(lesson))
        if problems:
            bad[symbol] = problems
    assert bad == {}


@pytest.mark.parametrize("level", LEVELS)
def test_scale_lessons(level: str) -> None:
    bad = {}
    for kind in SCALE_TYPES:
        for root in ROOTS:
            info = get_scale(root, kind)
            lesson = teach_scale(info, level)  # type: ignore[arg-type]
            problems = find_contradictions(lesson.text, scale_facts(info).widened(lesson))
            if problems:
                bad[f"{root} {kind}"] = problems
    assert bad == {}


@pytest.mark.parametrize("level", LEVELS)
def test_progression_lessons(level: str) -> None:
    bad = {}
    for text in PROGRESSIONS:
        info = analyze_progression(text.split())
        lesson = teach_progression(info, level)  # type: ignore[arg-type]
        problems = find_contradictions(lesson.text, progression_facts(info).widened(lesson))
        if problems:
            bad[text] = problems
    assert bad == {}


def test_a_false_sentence_added_to_a_lesson_is_caught() -> None:
    info = build_chord("G7")
    lesson = teach_chord(info, "advanced")
    facts = chord_facts(info).widened(lesson)
    assert find_contradictions(lesson.text, facts) == []
    for planted in (
        "G7 resolves to F.",
        "Its notes are G, B, D and F#.",
        "It is a four-note chord with the notes G, B and D.",
        "G7 is the ii7 in C major.",
    ):
        assert find_contradictions(f"{lesson.text} {planted}", facts), planted
