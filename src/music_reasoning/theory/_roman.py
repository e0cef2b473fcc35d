"""Roman numerals and harmonic functions of chords in a key.

The scale degree and its alteration come from music21's ``Key`` (through
:func:`._backend.key_degree`); the rest is composed from our chord table, because
``roman.romanNumeralFromChord`` produces figures like ``bVII7#5#3`` and ``viiob753``.

Conventions::

    case        upper for a major/augmented/no third, lower for minor/diminished
    suffix      7, maj7, ø7, o7, o, +, +7, sus4, add6, 9, 7b9 ... (see _chord_table)
    inversions  triads 6 / 64; seventh chords 65 / 43 / 42 (V65, Imaj65, viiø43)
    alterations flat/sharp roots relative to the key's scale (bVII7, bVI, #iv°); in
                minor the raised leading tone carries no sharp (vii°, V)
    applied     dominant-type chords that are not diatonic and point a fifth down to a
                diatonic chord other than the tonic: V7/ii, V/V, V7/vi; diminished chords a
                half step below one: viio7/V.  In major, a dominant seventh on the tonic
                stays I7 (blues); in minor a major tonic triad is a Picardy I, while a
                dominant seventh on the tonic is V7/iv.

Functions: tonic (I, vi, iii; i, III), predominant (ii, IV, iv, bVI, bII; ii°, iv, VI),
dominant (V, vii°, applied chords, bVII7 of the backdoor cadence, bII7 tritone
substitute) and other.
"""

from __future__ import annotations

from music_reasoning.theory import _backend
from music_reasoning.theory._keys import ChordItem, Key
from music_reasoning.theory._symbols import ChordSpec

__all__ = ["applied_target", "function_of", "roman_numeral"]

_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
_MAJOR_TARGETS = {2: "ii", 4: "iii", 5: "IV", 7: "V", 9: "vi"}
_MINOR_TARGETS = {3: "III", 5: "iv", 7: "V", 8: "VI", 10: "VII"}
_TRIADS = {"maj", "min", "dim", "aug"}
_FIGURES = {
    False: {1: "6", 2: "64"},
    True: {1: "65", 2: "43", 3: "42"},
}


def applied_target(item: ChordItem, key: Key) -> tuple[str, int] | None:
    """Return ``(target numeral, kind)`` when the chord is an applied (secondary) chord.

    ``kind`` is 5 for a secondary dominant and 7 for a secondary leading-tone chord.
    """
    if key.diatonic(item.pcs):
        return None
    targets = _MAJOR_TARGETS if key.mode == "major" else _MINOR_TARGETS
    rel = item.rel(key)
    if (
        item.third == "major"
        and "M7" not in item.spec.intervals
        and "A5" not in item.spec.intervals
    ):
        if rel == 0 and (key.mode == "major" or not item.dominant):
            return None  # I7 of a blues; a Picardy I in minor
        target = (rel + 5) % 12
        if target in targets:
            return targets[target], 5
    if item.diminished:
        target = (rel + 1) % 12
        if target in targets:
            return targets[target], 7
    return None


def _suffix(spec: ChordSpec, inversion: int | None) -> str:
    base = spec.base
    mods = "".join(spec.mods)
    if mods and base.roman_suffix[-1:].isdigit() and mods[0].isdigit():
        mods = f"({','.join(spec.mods)})"
    suffix = base.roman_suffix + mods
    if not inversion or spec.mods:
        return suffix
    if base.seventh and inversion in _FIGURES[True]:
        head, _, tail = suffix.rpartition("7")
        return head + _FIGURES[True][inversion] + tail
    if base.key in _TRIADS and inversion in _FIGURES[False]:
        return suffix + _FIGURES[False][inversion]
    return suffix


def _numeral(degree: int, upper: bool) -> str:
    numeral = _NUMERALS[degree - 1]
    return numeral if upper else numeral.lower()


def roman_numeral(item: ChordItem, spec: ChordSpec, key: Key, inversion: int | None) -> str:
    """Roman numeral of a chord (already respelled for ``key``) in ``key``.

    Args:
        item: The chord with its facts.
        spec: The chord respelled for the key.
        key: The key.
        inversion: 0 root position, 1 first inversion ...; ``None`` for a foreign bass.
    """
    suffix = _suffix(spec, inversion)
    upper = item.third != "minor"
    applied = applied_target(item, key)
    if applied is not None:
        target, kind = applied
        head = "V" if kind == 5 else "vii"
        return f"{head}{suffix}/{target}"
    degree, alter = _backend.key_degree(key.tonic, key.mode, spec.root)
    if key.mode == "minor" and degree == 7 and alter == 1:
        alter = 0
    accidental = "#" * alter if alter > 0 else "b" * -alter
    return f"{accidental}{_numeral(degree, upper)}{suffix}"


def function_of(item: ChordItem, key: Key, next_item: ChordItem | None) -> str:
    """Harmonic function: ``tonic``, ``predominant``, ``dominant`` or ``other``."""
    if applied_target(item, key) is not None:
        return "dominant"
    rel = item.rel(key)
    resolves = next_item is not None and next_item.rel(key) == 0
    if key.mode == "major":
        table = {
            0: "tonic",
            9: "tonic",
            4: "tonic",
            2: "predominant",
            5: "predominant",
            8: "predominant",
        }
        if rel == 7 or (rel == 11 and item.diminished):
            return "dominant"
        if rel in (10, 1) and item.dominant:
            return "dominant" if rel == 10 or resolves else "other"
        if rel == 1 and item.third == "major":
            return "predominant"
    else:
        table = {0: "tonic", 3: "tonic", 2: "predominant", 5: "predominant", 8: "predominant"}
        if rel in (7, 10, 11):
            return "dominant"
        if rel == 1 and item.third == "major":
            return "dominant" if item.dominant and resolves else "predominant"
    return table.get(rel, "other")
