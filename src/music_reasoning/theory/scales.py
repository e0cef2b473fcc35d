"""Scales: spell a scale from a root and describe its steps and degrees.

Each scale type is a list of intervals above the root; music21 spells them, so every
heptatonic scale uses each letter once (F major has Bb, not A#).  The symmetric scales
(whole tone, both diminished scales) cannot, so each of their notes takes the spelling with the
fewest accidentals.

Formula tokens: ``H`` = 1 semitone, ``W`` = 2, ``W+H`` = 3 (harmonic minor is
``W-H-W-W-H-W+H-H``).  The formula includes the step back up to the octave.

Degree names follow the interval above the tonic: tonic, supertonic, mediant,
subdominant, dominant, submediant, then *leading tone* (major seventh) or *subtonic*
(minor seventh); altered fourths/fifths/sixths are "raised"/"lowered" (lydian's A4 is the
"raised subdominant", the blues scale's d5 the "lowered dominant").  The chromatic scale
has all twelve pitch classes, spelled as sharps going up from a sharp or natural root and
as flats from a flat root (fewest accidentals first); its altered notes are "raised" or
"lowered" degrees (C# above C is the "raised tonic").

``diminished`` is the whole-half diminished scale (from a diminished seventh chord);
``diminished_half_whole`` starts with the half step (the dominant's diminished scale).
"""

from __future__ import annotations

import itertools
import re

from music_reasoning.theory._chord_table import INTERVAL_SEMITONES
from music_reasoning.theory._types import ScaleDegree, ScaleInfo
from music_reasoning.theory.notes import (
    accidental_count,
    invalid,
    parse_note,
    spell_above,
)

__all__ = ["SCALE_TYPES", "get_scale"]

_SCALES: dict[str, tuple[str, ...]] = {
    name: tuple(intervals.split())
    for name, intervals in {
        "major": "P1 M2 M3 P4 P5 M6 M7",
        "natural_minor": "P1 M2 m3 P4 P5 m6 m7",
        "harmonic_minor": "P1 M2 m3 P4 P5 m6 M7",
        "melodic_minor": "P1 M2 m3 P4 P5 M6 M7",
        "dorian": "P1 M2 m3 P4 P5 M6 m7",
        "phrygian": "P1 m2 m3 P4 P5 m6 m7",
        "lydian": "P1 M2 M3 A4 P5 M6 M7",
        "mixolydian": "P1 M2 M3 P4 P5 M6 m7",
        "locrian": "P1 m2 m3 P4 d5 m6 m7",
        "major_pentatonic": "P1 M2 M3 P5 M6",
        "minor_pentatonic": "P1 m3 P4 P5 m7",
        "blues": "P1 m3 P4 d5 P5 m7",
        "whole_tone": "P1 M2 M3 A4 A5 m7",
        "diminished": "P1 M2 m3 P4 d5 m6 M6 M7",
        "diminished_half_whole": "P1 m2 m3 M3 A4 P5 M6 m7",
        "chromatic": "P1 m2 M2 m3 M3 P4 A4 P5 m6 M6 m7 M7",
    }.items()
}

#: Canonical scale types returned by :func:`get_scale` (aliases such as ``minor``,
#: ``aeolian``, ``ionian``, ``harmonic minor`` or ``whole-half`` are accepted too).
SCALE_TYPES: tuple[str, ...] = tuple(_SCALES)

_ALIASES = {
    "minor": "natural_minor",
    "aeolian": "natural_minor",
    "ionian": "major",
    "harmonic": "harmonic_minor",
    "melodic": "melodic_minor",
    "melodic_minor_ascending": "melodic_minor",
    "jazz_minor": "melodic_minor",
    "pentatonic": "major_pentatonic",
    "pentatonic_major": "major_pentatonic",
    "pentatonic_minor": "minor_pentatonic",
    "minor_blues": "blues",
    "blues_minor": "blues",
    "wholetone": "whole_tone",
    "whole_half": "diminished",
    "whole_half_diminished": "diminished",
    "diminished_whole_half": "diminished",
    "octatonic": "diminished",
    "half_whole": "diminished_half_whole",
    "half_whole_diminished": "diminished_half_whole",
    "diminished_half_whole": "diminished_half_whole",
    "dominant_diminished": "diminished_half_whole",
    "twelve_tone": "chromatic",
}
_SYMMETRIC = {"whole_tone", "diminished", "diminished_half_whole"}
# Chromatic scale: per semitone, the interval names to choose from (fewest accidentals,
# then sharps above a sharp or natural root and flats above a flat root or F).
_CHROMATIC_CHOICES: tuple[tuple[str, ...], ...] = (
    ("P1",),
    ("A1", "m2"),
    ("M2",),
    ("A2", "m3"),
    ("M3",),
    ("P4",),
    ("A4", "d5"),
    ("P5",),
    ("A5", "m6"),
    ("M6",),
    ("A6", "m7"),
    ("M7",),
)
# Mode -> interval from the mode's tonic up to its parent major scale's tonic.
_MODE_OFFSET = {
    "dorian": "m7",
    "phrygian": "m6",
    "lydian": "P5",
    "mixolydian": "P4",
    "locrian": "m2",
}
_DEGREE_BASE = {
    1: "tonic",
    2: "supertonic",
    3: "mediant",
    4: "subdominant",
    5: "dominant",
    6: "submediant",
}


def _degree_name(interval: str) -> str:
    """Name a degree from its interval above the tonic (``m7`` -> ``subtonic``)."""
    quality, number = interval[0], int(interval[1:])
    if number == 7:
        return {"M": "leading tone", "m": "subtonic"}.get(quality, "lowered subtonic")
    base = _DEGREE_BASE[number]
    return {"A": f"raised {base}", "d": f"lowered {base}"}.get(quality, base)


def _normalize_type(scale_type: object) -> str:
    if not isinstance(scale_type, str):
        raise invalid("scale type", scale_type, reason="expected a string")
    key = re.sub(r"[\s\-_]+", "_", scale_type.strip().lower()).strip("_")
    key = key.removesuffix("_scale").removesuffix("_mode")
    key = _ALIASES.get(key, key)
    if key not in _SCALES:
        raise invalid("scale type", scale_type, reason="unknown scale type")
    return key


def _chromatic_degree_name(interval: str) -> str:
    """Name a chromatic-scale degree against the major scale (``m3`` -> lowered mediant)."""
    quality, number = interval[0], int(interval[1:])
    if quality == "m" and number in (2, 3, 6):
        return f"lowered {_DEGREE_BASE[number]}"
    return _degree_name(interval)


def _formula(intervals: tuple[str, ...]) -> str:
    semis = [INTERVAL_SEMITONES[i] for i in intervals] + [12]
    steps = []
    for low, high in itertools.pairwise(semis):
        size = high - low
        steps.append("+".join(["W"] * (size // 2) + ["H"] * (size % 2)))
    return "-".join(steps)


_NAMES_BY_SEMITONE: dict[int, tuple[str, ...]] = {}
for _name, _semis in INTERVAL_SEMITONES.items():
    if _semis < 12:
        _NAMES_BY_SEMITONE[_semis] = (*_NAMES_BY_SEMITONE.get(_semis, ()), _name)
_NAMES_BY_SEMITONE[1] = (*_NAMES_BY_SEMITONE[1], "A1")  # Db-D in the half-whole scale


def _symmetric_spelling(root: str, intervals: tuple[str, ...]) -> tuple[str, ...]:
    """Re-choose interval names for a symmetric scale to minimise accidentals.

    Interval numbers must not decrease (letters ascend; one letter may repeat, which an
    eight-note scale needs).  Ties keep the table's own spelling.
    """
    semis = [INTERVAL_SEMITONES[i] for i in intervals]
    best: tuple[int, int, tuple[str, ...]] | None = None
    for combo in itertools.product(*(_NAMES_BY_SEMITONE[s] for s in semis)):
        numbers = [int(name[1:]) for name in combo]
        steps = [b - a for a, b in itertools.pairwise(numbers)]
        if any(s < 0 for s in steps) or steps.count(0) > max(0, len(semis) - 7):
            continue
        cost = accidental_count(spell_above(root, name) for name in combo)
        changed = sum(a != b for a, b in zip(combo, intervals, strict=True))
        if best is None or (cost, changed) < best[:2]:
            best = (cost, changed, combo)
    return intervals if best is None else best[2]


def _chromatic_spelling(root: str) -> tuple[str, ...]:
    """Interval names for the chromatic scale on ``root``: the ascending sharp form
    above sharp and natural roots, the flat form above flat roots and F, and the other
    spelling wherever that one needs fewer accidentals (no double accidentals)."""
    flats = "b" in root or root == "F"
    out = []
    for choices in _CHROMATIC_CHOICES:

        def cost(name: str) -> tuple[int, int]:
            note = spell_above(root, name)
            wrong_way = ("#" in note) if flats else ("b" in note)
            return accidental_count([note]), int(wrong_way)

        out.append(min(choices, key=cost))
    return tuple(out)


def _related(root: str, scale_type: str) -> tuple[str | None, str | None]:
    """Relative and parallel keys (or scales) where they are conventional."""
    if scale_type == "major":
        return f"{spell_above(root, 'M6')} minor", f"{root} minor"
    if scale_type in ("natural_minor", "harmonic_minor", "melodic_minor"):
        return f"{spell_above(root, 'm3')} major", f"{root} major"
    if scale_type == "major_pentatonic":
        return f"{spell_above(root, 'M6')} minor pentatonic", f"{root} minor pentatonic"
    if scale_type == "minor_pentatonic":
        return f"{spell_above(root, 'm3')} major pentatonic", f"{root} major pentatonic"
    if scale_type in _MODE_OFFSET:
        return f"{spell_above(root, _MODE_OFFSET[scale_type])} major", None
    return None, None


def get_scale(root: str, type: str) -> ScaleInfo:
    """Spell a scale and describe its formula, degrees and related keys.

    Args:
        root: Tonic note, e.g. ``"D"``, ``"F#"``, ``"Bb"``.
        type: Scale type; case, spaces and hyphens are ignored (``"harmonic minor"``).
            One of :data:`SCALE_TYPES`; ``minor``/``aeolian`` mean ``natural_minor`` and
            ``ionian`` means ``major``.  ``melodic_minor`` is the ascending form.

    Returns:
        The scale; ``type`` is the canonical name.

    Raises:
        InvalidInputError: If the root is not a note name or the type is unknown.

    Example:
        >>> get_scale("D", "dorian").formula
        'W-H-W-W-W-H-W'
    """
    tonic = parse_note(root)
    if tonic.octave is not None:
        raise invalid("note", root, reason="a scale root takes no octave")
    scale_type = _normalize_type(type)
    intervals = _SCALES[scale_type]
    formula = _formula(intervals)
    root_name = tonic.name
    if scale_type in _SYMMETRIC:
        intervals = _symmetric_spelling(root_name, intervals)
    elif scale_type == "chromatic":
        intervals = _chromatic_spelling(root_name)
    notes = [spell_above(root_name, i) for i in intervals]
    # Two notes on one degree (the diminished scale's b6 and 6): the lower one is "lowered".
    doubled = len({int(i[1:]) for i in intervals}) < len(intervals)
    namer = _chromatic_degree_name if doubled else _degree_name
    degrees = tuple(
        ScaleDegree(number=n, note=note, name=namer(iv), interval=iv)
        for n, (note, iv) in enumerate(zip(notes, intervals, strict=True), start=1)
    )
    relative, parallel = _related(root_name, scale_type)
    return ScaleInfo(
        root=root_name,
        type=scale_type,
        notes=tuple(notes),
        intervals=intervals,
        formula=formula,
        degrees=degrees,
        relative=relative,
        parallel=parallel,
    )
