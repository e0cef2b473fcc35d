"""Keys for progression analysis: chord facts, candidate keys, scoring, spelling.

Key detection scores all 24 major/minor keys.  For a key with tonic ``t``::

    3.0 x mean diatonic fit of the chords       (share of chord tones in the key;
                                                 minor admits raised 7th, and the
                                                 raised 6th at 0.75)
  + 1.5 if the first chord is the tonic chord   (x0.75 for a sus/power tonic or a
  + 2.0 if the last chord is the tonic chord     final Picardy I, else x0.5 when only
                                                 the root matches)
  + 1.5 per V -> I or backdoor bVII7 -> I (1.0 per vii° -> I), at most 3.0
  + 1.0 if a major-third chord sits on the fifth degree (a dominant)
  + 0.5 per V -> vi and per IV -> I
  + 1.0 x share of chords that are the tonic chord
  + the confidences of named patterns that resolve to this key, at most 2.0

Confidence is ``fit x (0.5 + 0.5 x tanh(margin / 2)) x brevity`` with ``margin`` the lead
over the runner-up key and ``brevity = min(1, 0.5 + n / 8)`` for ``n`` chords (a lone
chord says little about its key).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from functools import cached_property

from music_reasoning.theory import _backend
from music_reasoning.theory._chord_table import INTERVAL_SEMITONES
from music_reasoning.theory._symbols import ChordSpec
from music_reasoning.theory.notes import enharmonic_spellings, invalid, pitch_class, spell_above

__all__ = ["ChordItem", "Key", "detect_key", "parse_key", "respell"]

_MAJOR = {0: 1.0, 2: 1.0, 4: 1.0, 5: 1.0, 7: 1.0, 9: 1.0, 11: 1.0}
_MINOR = {0: 1.0, 2: 1.0, 3: 1.0, 5: 1.0, 7: 1.0, 8: 1.0, 10: 1.0, 11: 1.0, 9: 0.75}
_DEFAULT_TONIC = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
_DOUBLE_TONIC_RE = re.compile(
    r"\s*([A-Ga-g](?:##|x|bb|♯♯|♭♭|\U0001d12a|\U0001d12b))"
    r"\s*(?:major|minor|maj|min|m|M|dur|moll)?\s*",
    re.IGNORECASE,
)
_KEY_RE = re.compile(
    r"\s*([A-Ga-g][#b♯♭]?)\s*(major|minor|maj|min|m|M|dur|moll)?\s*", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Key:
    """A major or minor key: ``tonic`` spelled, ``mode`` ``major``/``minor``."""

    tonic: str
    mode: str

    @property
    def pc(self) -> int:
        """Pitch class of the tonic."""
        return pitch_class(self.tonic)

    @property
    def name(self) -> str:
        """``C major`` style name."""
        return f"{self.tonic} {self.mode}"

    def weight(self, pc: int) -> float:
        """How diatonic a pitch class is in this key (0-1)."""
        table = _MAJOR if self.mode == "major" else _MINOR
        return table.get((pc - self.pc) % 12, 0.0)

    def diatonic(self, pcs: frozenset[int]) -> bool:
        """Whether every pitch class belongs to the key (minor: raised 6th/7th allowed)."""
        return all(self.weight(pc) > 0 for pc in pcs)


@dataclass(frozen=True)
class ChordItem:
    """One chord of a progression with the facts the analysis needs (cached)."""

    position: int
    input: str
    spec: ChordSpec

    @cached_property
    def root_pc(self) -> int:
        """Pitch class of the root."""
        return pitch_class(self.spec.root)

    @cached_property
    def offsets(self) -> frozenset[int]:
        """Chord tones as semitones above the root (mod 12)."""
        return self.spec.pcs

    @cached_property
    def pcs(self) -> frozenset[int]:
        """Absolute pitch classes of the chord tones."""
        return frozenset((self.root_pc + o) % 12 for o in self.offsets)

    @cached_property
    def third(self) -> str:
        """``major``, ``minor`` or ``none`` (sus and power chords)."""
        if "M3" in self.spec.intervals:
            return "major"
        if "m3" in self.spec.intervals:
            return "minor"
        return "none"

    @cached_property
    def diminished(self) -> bool:
        """Minor third and diminished fifth (dim, dim7, half-diminished)."""
        return self.third == "minor" and "d5" in self.spec.intervals

    @cached_property
    def dominant(self) -> bool:
        """Major third and minor seventh (7, 9, 13, 7b9 ...)."""
        return self.third == "major" and "m7" in self.spec.intervals

    @cached_property
    def has_seventh(self) -> bool:
        """Has any kind of seventh."""
        return any(i in self.spec.intervals for i in ("m7", "M7", "d7"))

    def rel(self, key: Key) -> int:
        """Root as semitones above the key's tonic."""
        return (self.root_pc - key.pc) % 12


def parse_key(text: object) -> Key:
    """Parse ``"C major"``, ``"A minor"``, ``"Bb"``, ``"F#m"`` into a :class:`Key`.

    Raises:
        InvalidInputError: If the text names no key.
    """
    if not isinstance(text, str):
        raise invalid("key", text, reason="expected a string")
    match = _KEY_RE.fullmatch(text) if len(text) <= 32 else None
    if match is None:
        double = _DOUBLE_TONIC_RE.fullmatch(text) if len(text) <= 32 else None
        if double is not None:  # F## major: a theoretical key, with no usable signature
            names = enharmonic_spellings(pitch_class(double.group(1)))
            same = " or ".join([n for n in names if len(n) == 1] or names)
            raise invalid(
                "key",
                text,
                reason="a key's tonic takes at most one sharp or flat (a double "
                f"accidental makes a theoretical key); use the same sound as {same}",
            )
        raise invalid("key", text, reason="expected a tonic and major/minor")
    tonic = match.group(1)[0].upper() + match.group(1)[1:].replace("♯", "#").replace("♭", "b")
    word = match.group(2) or "major"
    minor = word == "m" or word.lower() in ("minor", "min", "moll")
    return Key(tonic, "minor" if minor else "major")


def _tonic_name(pc: int, mode: str, items: list[ChordItem]) -> str:
    for item in items:
        name = item.spec.root
        if item.root_pc == pc and abs(_backend.key_sharps(name, mode)) <= 7:
            return name
    return _DEFAULT_TONIC[mode][pc]


def _tonic_match(item: ChordItem, key: Key, *, final: bool = False) -> float:
    if item.rel(key) != 0 or item.diminished:
        return 0.0
    wanted = "major" if key.mode == "major" else "minor"
    if item.third == wanted:
        return 1.0
    # A sus/power tonic, or a final Picardy major tonic in minor, still sounds like home.
    picardy = final and key.mode == "minor"
    return 0.75 if item.third == "none" or picardy else 0.5


def _score(key: Key, items: list[ChordItem], pattern_bonus: float) -> tuple[float, float]:
    fits = [sum(key.weight(pc) for pc in it.pcs) / len(it.pcs) for it in items]
    fit = sum(fits) / len(fits)
    score = 3.0 * fit
    last = items[-1]
    score += 1.5 * _tonic_match(items[0], key) + 2.0 * _tonic_match(last, key, final=True)
    cadential = 0.0
    for a, b in itertools.pairwise(items):
        to_tonic = _tonic_match(b, key, final=b is last) >= 0.75
        if to_tonic and a.rel(key) == 7 and a.third == "major":
            cadential += 1.5
        elif to_tonic and a.rel(key) == 11 and a.diminished:
            cadential += 1.0
        elif to_tonic and a.rel(key) == 10 and a.dominant and b.third == "major":
            cadential += 1.5
        elif (to_tonic and a.rel(key) == 5) or (
            a.rel(key) == 7 and a.third == "major" and b.rel(key) in (8, 9)
        ):
            score += 0.5
    score += min(cadential, 3.0)
    if any(it.rel(key) == 7 and it.third == "major" for it in items):
        score += 1.0
    score += sum(_tonic_match(it, key) >= 0.75 for it in items) / len(items)
    return score + min(pattern_bonus, 2.0), fit


_PLAUSIBLE_FIT = 0.8
_PLAUSIBLE_GAP = 2.0


def detect_key(
    items: list[ChordItem], pattern_keys: dict[tuple[int, str], float]
) -> tuple[Key, float, tuple[tuple[Key, float], ...]]:
    """Pick the most likely key.

    Args:
        items: The parsed chords (at least one).
        pattern_keys: ``(tonic pc, mode) -> summed confidence`` of named patterns.

    Returns:
        ``(key, confidence, runner-up keys with their confidence)``; a runner-up is
        listed only when most of the chords' tones fit it and its score is close.
    """
    scored = []
    for mode in ("major", "minor"):
        for pc in range(12):
            key = Key(_tonic_name(pc, mode, items), mode)
            score, fit = _score(key, items, pattern_keys.get((pc, mode), 0.0))
            scored.append((score, fit, mode == "major", key))
    scored.sort(key=lambda s: (s[0], s[2]), reverse=True)
    best_score, best_fit, _, best = scored[0]
    margin = best_score - scored[1][0]
    brevity = min(1.0, 0.5 + 0.125 * len(items))
    confidence = best_fit * (0.5 + 0.5 * math.tanh(margin / 2.0)) * brevity
    # Other readings a musician would consider: most chords fit, and the score is close.
    # Each gets the same kind of confidence, from its distance below the best.
    runners = tuple(
        (key, alt)
        for score, fit, _, key in scored[1:4]
        for alt in [round(fit * (0.5 - 0.5 * math.tanh((best_score - score) / 2.0)) * brevity, 2)]
        if fit >= _PLAUSIBLE_FIT and best_score - score <= _PLAUSIBLE_GAP and alt >= 0.15
    )
    return best, round(confidence, 2), runners


def _scale_spellings(key: Key) -> dict[int, str]:
    intervals = ["P1", "M2", "M3", "P4", "P5", "M6", "M7"]
    if key.mode == "minor":
        intervals = ["P1", "M2", "m3", "P4", "P5", "m6", "m7", "M6", "M7"]
    out: dict[int, str] = {}
    for iv in intervals:
        out.setdefault((key.pc + INTERVAL_SEMITONES[iv]) % 12, spell_above(key.tonic, iv))
    return out


def spell_in_key(pc: int, key: Key, *, sharp: bool | None = None) -> str:
    """Spell a pitch class for a key: diatonic degrees as in the key, else by signature."""
    diatonic = _scale_spellings(key)
    if pc in diatonic:
        return diatonic[pc]
    options = enharmonic_spellings(pc)
    natural = [o for o in options if len(o) == 1]
    if natural and sharp is None:  # C in D major is bVII (C), not #VI (B#)
        return natural[0]
    if sharp is None:
        sharp = _backend.key_sharps(key.tonic, key.mode) > 0
    wanted = "#" if sharp else "b"
    return next((o for o in options if o.endswith(wanted)), options[0])


def respell(item: ChordItem, key: Key, *, leading_tone_of: int | None = None) -> ChordSpec:
    """Respell a chord's root (and slash bass) for ``key`` (``A#`` -> ``Bb`` in F major).

    Args:
        item: The chord.
        key: The key.
        leading_tone_of: Pitch class of a chord this one leads to by a half step
            (secondary leading-tone chords take the sharp spelling in C major).
    """
    sharp = True if leading_tone_of is not None else None
    root = spell_in_key(item.root_pc, key, sharp=sharp)
    if leading_tone_of is not None:
        root = spell_above(spell_in_key(leading_tone_of, key), "M7")
    bass = item.spec.bass
    if bass is not None:
        bass = spell_in_key(pitch_class(bass), key)
    return item.spec.with_root(root, bass)
