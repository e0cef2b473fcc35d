"""The one place in the package that imports music21.

Everything music21 does for us goes through the small functions below, which take and
return plain strings in *our* spelling (``Bb``, ``F#``, ``Ebb``, ``G##``) — never music21
objects.  music21 spells flats with ``-`` (``B-``); :func:`to_m21` and :func:`from_m21`
convert both ways.

music21 is imported lazily on first use (it takes about half a second), so importing
:mod:`music_reasoning.theory` stays cheap.  Results are cached: every function here is
pure.

Quirks worked around elsewhere in the theory layer (kept here as the record):

* ``harmony.ChordSymbol("Bb7")`` reads the ``b`` of ``Bb`` as part of the chord kind and
  builds B major with an added A; ``"Cmaj9"`` raises; ``"Cm7b5"`` reports the kind
  ``minor-seventh``.  We therefore parse chord symbols ourselves and only use music21 to
  spell intervals.
* ``roman.romanNumeralFromChord`` returns figures such as ``bVII7#5#3`` (Bb7 in C),
  ``viiob753`` (Bdim7), ``iv54`` (Csus4), ``vi65`` (C6), and calls G7 in A minor
  ``V7/III``.  We take only the scale degree and its alteration from music21's ``Key`` and
  compose the numeral from our own chord-quality table.
* Pitches without an octave default to octave 4, so a chord of bare names is stacked in
  one octave; :func:`chord_root_and_name` assigns ascending octaves itself.
"""

from __future__ import annotations

from functools import cache, lru_cache
from types import ModuleType
from typing import Any

__all__ = [
    "chord_root_and_name",
    "from_m21",
    "interval_name",
    "key_degree",
    "key_sharps",
    "to_m21",
    "transpose",
]


_PLAIN_INTERVALS = ("P1", "m2", "M2", "m3", "M3", "P4", "A4", "P5", "m6", "M6", "m7", "M7")


@cache
def _m21() -> ModuleType:
    """Import music21 once, on first use."""
    import music21  # type: ignore[import-untyped,unused-ignore]

    mod: ModuleType = music21
    return mod


def to_m21(name: str) -> str:
    """Convert our spelling (``Bb``, ``F##``) to music21's (``B-``, ``F##``)."""
    return name[0] + name[1:].replace("b", "-")


def from_m21(name: str) -> str:
    """Convert music21's spelling (``B-``, ``E--``) to ours (``Bb``, ``Ebb``)."""
    return name[0] + name[1:].replace("-", "b")


def _pitch(name: str, octave: int = 4) -> Any:
    p = _m21().pitch.Pitch(to_m21(name))
    p.octave = octave
    return p


@lru_cache(maxsize=4096)
def transpose(name: str, interval: str) -> str:
    """Spell the note ``interval`` above ``name`` (e.g. ``("Bb", "M3") -> "D"``).

    Args:
        name: A validated note name in our spelling, without octave.
        interval: A music21 interval name such as ``M3``, ``d7`` or ``A11``.

    Returns:
        The note name (no octave) in our spelling; triple accidentals are simplified to
        the nearest plain enharmonic.
    """
    p = _pitch(name).transpose(interval)
    if p.accidental is not None and abs(p.accidental.alter) > 2:
        p = p.getEnharmonic() if abs(p.getEnharmonic().alter) <= 2 else p.simplifyEnharmonic()
    return from_m21(str(p.name))


@lru_cache(maxsize=4096)
def interval_name(low: str, high: str) -> str:
    """Name the ascending interval from ``low`` up to ``high`` within one octave (``m3``)."""
    a = _pitch(low)
    b = _pitch(high)
    while b.ps <= a.ps:
        b.octave += 1
    while b.ps - a.ps >= 12:
        b.octave -= 1
    try:
        name: str = _m21().interval.Interval(a, b).name
    except _m21().exceptions21.Music21Exception:
        # music21 cannot name e.g. Fbb -> B## (a quadruply augmented fourth).
        name = _PLAIN_INTERVALS[round(b.ps - a.ps) % 12]
    return name


@cache
def _key(tonic: str, mode: str) -> Any:
    m21_tonic = to_m21(tonic)
    return _m21().key.Key(m21_tonic.lower() if mode == "minor" else m21_tonic, mode)


@lru_cache(maxsize=4096)
def key_degree(tonic: str, mode: str, note: str) -> tuple[int, int]:
    """Return the scale degree (1-7) of ``note`` in a key and its alteration in semitones.

    ``("C", "major", "Bb") -> (7, -1)``; minor keys measure against natural minor, so
    ``("A", "minor", "G#") -> (7, 1)``.
    """
    key = _key(tonic, mode)
    try:
        degree, accidental = key.getScaleDegreeAndAccidentalFromPitch(_pitch(note))
    except _m21().exceptions21.Music21Exception:
        # Far-fetched spellings (Cbb in A## major) need more than a double accidental.
        degree = ("CDEFGAB".index(note[0]) - "CDEFGAB".index(tonic[0])) % 7 + 1
        diff = _pitch(note).pitchClass - key.pitchFromDegree(degree).pitchClass
        return degree, (diff + 6) % 12 - 6
    alter = 0 if accidental is None else round(float(accidental.alter))
    return int(degree), alter


@cache
def key_sharps(tonic: str, mode: str) -> int:
    """Return the key signature: positive for sharps, negative for flats."""
    sharps: int = _key(tonic, mode).sharps
    return sharps


@lru_cache(maxsize=1024)
def chord_root_and_name(notes: tuple[str, ...]) -> tuple[str, str]:
    """Ask music21 for the root and common name of an arbitrary set of notes.

    Used only when no chord type of ours matches.  Notes are stacked in ascending
    octaves in the given order (music21 would otherwise put them all in octave 4).

    Returns:
        ``(root, common_name)`` with the root in our spelling.
    """
    pitches = []
    octave = 3
    previous = None
    for name in notes:
        p = _pitch(name, octave)
        while previous is not None and p.ps <= previous.ps:
            p.octave += 1
        pitches.append(p)
        previous = p
    try:
        c = _m21().chord.Chord(pitches)
        return from_m21(str(c.root().name)), str(c.commonName)
    except _m21().exceptions21.Music21Exception:
        return notes[0], "unidentified"
