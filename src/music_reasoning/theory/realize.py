"""Realize roman numerals as chord symbols in a key: ``V7/V`` in C major -> ``D7``.

The inverse of :mod:`._roman`, with the same conventions::

    numeral     [b|#] I..VII | i..vii      case gives the third: upper major, lower minor
    quality     (none) triad   o/° dim   + aug   7   maj7/M7   ø/ø7/m7b5   o7/°7   +7
                9   sus4   7sus4   add9
                upper 7 is a dominant seventh (V7, the blues I7); lower 7 a minor seventh;
                lower maj7 a minor-major seventh
    figures     triads 6 / 64, sevenths 65 / 43 / 42 -> a slash chord (I6 -> C/E);
                a seventh figure implies the seventh (V65 = V7 over its third)
    roots       degrees of the major scale in major, of the natural minor in minor, where a
                lower-case vii (vii°, viiø7, vii°7) stands on the raised leading tone
    applied     X/Y: X realized in the key of Y's root (V7/V in C: V7 of G -> D7;
                vii°7/V -> F#dim7), the key's mode from Y's case

Roots are spelled by interval above the tonic (bVII in C is Bb, not A#), so every
numeral has one spelling in every key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory._keys import Key, parse_key
from music_reasoning.theory.chords import build_chord
from music_reasoning.theory.notes import spell_above

__all__ = ["RealizedChord", "parse_key_name", "realize_numeral", "realize_progression"]

_NUMERAL_RE = re.compile(
    r"(?P<acc>[b#♭♯]?)(?P<num>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<quality>ø7|ø|m7b5|o7|°7|\+7|maj7|maj|M7|7sus4|sus4|add9|o|°|\+|7|9)?"
    r"(?P<figure>65|64|43|42|6)?"
)
_DEGREE = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
_MAJOR_STEPS = ("P1", "M2", "M3", "P4", "P5", "M6", "M7")
_MINOR_STEPS = ("P1", "M2", "m3", "P4", "P5", "m6", "m7")
_FLAT = {"P": "d", "M": "m", "m": "d", "A": "P"}
_SHARP = {"P": "A", "m": "M", "M": "A", "d": "m"}
# (quality mark, upper case) -> chord-symbol suffix.
_SUFFIX = {
    ("", True): "",
    ("", False): "m",
    ("o", False): "dim",
    ("+", True): "aug",
    ("7", True): "7",
    ("7", False): "m7",
    ("maj7", True): "maj7",
    ("maj7", False): "mMaj7",
    ("ø7", False): "m7b5",
    ("o7", False): "dim7",
    ("+7", True): "aug7",
    ("9", True): "9",
    ("9", False): "m9",
    ("sus4", True): "sus4",
    ("7sus4", True): "7sus4",
    ("add9", True): "add9",
    ("add9", False): "madd9",
}
_MARK_ALIASES = {"°": "o", "°7": "o7", "ø": "ø7", "m7b5": "ø7", "M7": "maj7"}
# Inversion figure -> which chord tone (by index) is in the bass.
_FIGURE_BASS = {"6": 1, "64": 2, "65": 1, "43": 2, "42": 3}


@dataclass(frozen=True)
class RealizedChord:
    """One numeral realized in a key: ``V7`` in C major -> ``G7`` (G B D F)."""

    numeral: str
    symbol: str
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"numeral": self.numeral, "symbol": self.symbol, "notes": list(self.notes)}


def _bad(numeral: object, reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"Invalid roman numeral {numeral!r}: {reason}",
        suggestion="Use e.g. 'I', 'ii7', 'V7', 'bVII', 'vii°7', 'V7/V', 'I6' or 'bII7'.",
        details={"token": str(numeral), "kind": "roman numeral"},
    )


def parse_key_name(key: str | Key) -> Key:
    """A key from ``"Eb"``, ``"F# minor"``, ``"Am"`` (or a parsed key, returned as is).

    Raises:
        InvalidInputError: If the text names no key.
    """
    return key if isinstance(key, Key) else parse_key(key)


def _root(acc: str, num: str, key: Key) -> str:
    degree = _DEGREE[num.lower()]
    steps = _MAJOR_STEPS if key.mode == "major" else _MINOR_STEPS
    interval = steps[degree - 1]
    if key.mode == "minor" and degree == 7 and num.islower() and not acc:
        interval = "M7"  # the raised leading tone of vii°
    if acc in ("b", "♭"):
        interval = _FLAT[interval[0]] + interval[1:]
    elif acc in ("#", "♯"):
        interval = _SHARP[interval[0]] + interval[1:]
    return spell_above(key.tonic, interval)


def _realize_one(numeral: str, key: Key) -> str:
    match = _NUMERAL_RE.fullmatch(numeral)
    if match is None:
        raise _bad(numeral, "not a numeral")
    num, figure = match["num"], match["figure"] or ""
    mark = _MARK_ALIASES.get(match["quality"] or "", match["quality"] or "")
    if figure in ("65", "43", "42") and mark in ("", "o", "+", "maj"):
        mark += "7"  # V65, vii°43, Imaj65: the figure implies the seventh
    suffix = _SUFFIX.get((mark, num.isupper()))
    if suffix is None:
        raise _bad(
            numeral,
            f"{mark!r} does not go with a {'upper' if num.isupper() else 'lower'}-case numeral",
        )
    seventh = mark in ("7", "maj7", "ø7", "o7", "+7", "7sus4", "9")
    if figure and (seventh != (figure in ("65", "43", "42")) or mark in ("9", "sus4", "7sus4")):
        raise _bad(numeral, f"figure {figure!r} does not fit the chord")
    root = _root(match["acc"], num, key)
    symbol = root + suffix
    if figure:
        notes = build_chord(symbol).notes
        symbol += "/" + notes[_FIGURE_BASS[figure]]
    return symbol


def realize_numeral(numeral: str, key: str | Key = "C major") -> RealizedChord:
    """Realize one roman numeral in a key as a chord symbol and its notes.

    Args:
        numeral: ``I``, ``ii7``, ``V7``, ``bVII``, ``vii°7``, ``V7/V``, ``I6``, ``bII7`` ...
        key: ``"C major"``, ``"Bb"``, ``"F# minor"``, ``"Am"`` or a parsed key.

    Returns:
        The chord (``V7/V`` in C major -> ``D7``: D F# A C).

    Raises:
        InvalidInputError: If the numeral or the key cannot be read.

    Example:
        >>> realize_numeral("bII7", "C").symbol
        'Db7'
    """
    if not isinstance(numeral, str) or not numeral.strip() or len(numeral) > 32:
        raise _bad(numeral, "expected a short string")
    k = parse_key_name(key)
    text = numeral.strip()
    head, slash, target = text.partition("/")
    if slash:
        target_root = _realize_one(target, k)
        if "/" in target_root:
            raise _bad(numeral, "an applied chord's target takes no inversion")
        upper = target.lstrip("b#♭♯")[:1].isupper()
        root = build_chord(target_root).root
        symbol = _realize_one(head, Key(root, "major" if upper else "minor"))
    else:
        symbol = _realize_one(text, k)
    info = build_chord(symbol)
    return RealizedChord(text, symbol, info.notes)


def realize_progression(
    numerals: Sequence[str], key: str | Key = "C major"
) -> tuple[RealizedChord, ...]:
    """Realize roman numerals in a key: ``["I", "IV", "V"]`` in C -> C, F, G.

    Raises:
        InvalidInputError: If a numeral or the key cannot be read.
    """
    k = parse_key_name(key)
    return tuple(realize_numeral(n, k) for n in numerals)
