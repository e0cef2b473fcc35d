"""Deterministic music theory: chords, scales and progressions as typed facts.

This package is the only part of music-reasoning that imports music21 (lazily, in
:mod:`._backend`); everything it returns is one of our frozen dataclasses, each with a
``to_dict()``.  Bad input of any kind raises :class:`~music_reasoning.errors.InvalidInputError`
naming the offending token (``details["token"]``).

Layout::

    notes.py         note-name parsing, pitch classes, spelling helpers
    _chord_table.py  chord types: intervals, names, symbol suffixes, roman marks
    _symbols.py      chord-symbol grammar -> ChordSpec
    chords.py        identify_chord, build_chord
    scales.py        get_scale
    _keys.py         key candidates, scoring and key-aware spelling
    _roman.py        roman numerals and harmonic functions
    _patterns.py     named patterns (ii-V-I, I-V-vi-IV, 12-bar blues ...) and cadences
    progressions.py  analyze_progression
    harmony.py       diatonic chords, keys of a chord, resolutions, voice leading, substitutes
    realize.py       roman numerals -> chord symbols in a key (V7/V in C -> D7)
    _types.py        the returned dataclasses
    _backend.py      the music21 adapter

Example:
    >>> from music_reasoning.theory import build_chord, get_scale
    >>> build_chord("G7").notes
    ('G', 'B', 'D', 'F')
    >>> get_scale("D", "dorian").formula
    'W-H-W-W-W-H-W'
"""

from __future__ import annotations

from music_reasoning.theory._chord_table import TEMPLATES as _TEMPLATES
from music_reasoning.theory._types import (
    AnalyzedChord,
    Cadence,
    ChordInfo,
    Pattern,
    ProgressionInfo,
    ScaleDegree,
    ScaleInfo,
)
from music_reasoning.theory.chords import build_chord, identify_chord
from music_reasoning.theory.harmony import (
    ChordSubstitute,
    DiatonicChord,
    KeyPlacement,
    Resolution,
    ToneMotion,
    VoiceLeading,
    chords_on_tonic,
    common_tones,
    diatonic_chords,
    interval_between,
    keys_containing,
    resolution,
    substitutes,
    voice_leading,
)
from music_reasoning.theory.progressions import analyze_progression
from music_reasoning.theory.realize import RealizedChord, realize_numeral, realize_progression
from music_reasoning.theory.scales import SCALE_TYPES, get_scale

#: Chord qualities :func:`identify_chord` and :func:`build_chord` know by name.
CHORD_QUALITIES: tuple[str, ...] = tuple(t.quality for t in _TEMPLATES)

__all__ = [
    "CHORD_QUALITIES",
    "SCALE_TYPES",
    "AnalyzedChord",
    "Cadence",
    "ChordInfo",
    "ChordSubstitute",
    "DiatonicChord",
    "KeyPlacement",
    "Pattern",
    "ProgressionInfo",
    "RealizedChord",
    "Resolution",
    "ScaleDegree",
    "ScaleInfo",
    "ToneMotion",
    "VoiceLeading",
    "analyze_progression",
    "build_chord",
    "chords_on_tonic",
    "common_tones",
    "diatonic_chords",
    "get_scale",
    "identify_chord",
    "interval_between",
    "keys_containing",
    "realize_numeral",
    "realize_progression",
    "resolution",
    "substitutes",
    "voice_leading",
]
