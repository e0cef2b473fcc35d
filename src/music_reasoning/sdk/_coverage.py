"""Teaching points: what a good explanation of a chord, scale, progression or concept states.

The points are computed from the theory layer's facts, never from a lesson's wording, so
the eval can ask of any text (the teacher's, the model's, the raw model's) how much of
what a teacher would cover it covers::

    ChordInfo       -> notes, intervals (formula or every interval name), keys (first
                       key and numeral), function, resolution (dominant-type chords)
    ScaleInfo       -> notes, steps (W-H formula), character (the degrees that differ
                       from major / natural minor), relative, parallel
    ProgressionInfo -> key, numerals, functions, cadences, patterns, secondary
                       dominants and borrowed chords (each when there are any)
    concept         -> definition, example (the first example realized in the key)

A point is a set of alternative :class:`Need` s; it is stated when one of them is met in
full.  A need reads notes, chord symbols and numerals the way the verifier does (by
pitch class, by sound, without quality figures) and words case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from music_reasoning.sdk.verify import _roman_key, chord_sound, extract_claims, normalize
from music_reasoning.theory import (
    ChordInfo,
    ProgressionInfo,
    ScaleInfo,
    get_scale,
    keys_containing,
    realize_numeral,
    resolution,
)
from music_reasoning.theory.notes import pitch_class

__all__ = [
    "Need",
    "TeachingPoint",
    "chord_points",
    "concept_points",
    "progression_points",
    "scale_points",
    "stated",
]

_QUALITY_WORDS = {"P": "perfect", "M": "major", "m": "minor", "A": "augmented", "d": "diminished"}
_NUMBER_WORDS = {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh"}
_NUMBER_WORDS |= {8: "octave", 9: "ninth", 11: "eleventh", 13: "thirteenth"}
_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")
_BARE_RE = re.compile(r"[A-G](?:bb|##|#|b)?")
_DEGREE_MARK = {"P": "", "M": "", "m": "b", "d": "b", "A": "#"}


@dataclass(frozen=True)
class Need:
    """What one way of stating a point names: notes (pitch classes), chord symbols,
    numerals and words (case-insensitive substrings); all of them."""

    notes: frozenset[int] = frozenset()
    symbols: tuple[str, ...] = ()
    romans: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    written: tuple[str, ...] = ()  # numerals as written, figures and all
    together: bool = False  # all of it in one sentence ("V7 in C major")

    def met_by(self, text: str, claims: _Read) -> bool:
        if self.together:
            alone = replace(self, together=False)
            return any(alone.met_by(s, _Read.of(s)) for s in _SENTENCE_RE.split(text))
        if not self.notes <= claims.notes:
            return False
        if not all(_roman_key(r) in claims.romans or _written(r, text) for r in self.romans):
            return False
        for s in self.symbols:  # a triad named by its root letter ("resolves to C") counts
            bare = _BARE_RE.fullmatch(s) is not None and pitch_class(s) in claims.notes
            if not bare and chord_sound(s) not in claims.sounds:
                return False
        if not all(_written(r, text) for r in self.written):
            return False
        lower = text.lower()
        return all(w.lower() in lower for w in self.words)


def _written(numeral: str, text: str) -> bool:
    """A numeral written as such: a bare ``I`` or one the claim reader leaves aside
    (``viio``) still counts where it stands alone."""
    return re.search(rf"(?<![\w/]){re.escape(numeral)}(?![\w/])", text) is not None


@dataclass(frozen=True)
class _Read:
    notes: frozenset[int]
    romans: frozenset[tuple[str, str, str]]
    sounds: frozenset[object]

    @classmethod
    def of(cls, text: str) -> _Read:
        claims = extract_claims(normalize(text))
        return cls(
            frozenset(pitch_class(n) for n in claims.notes),
            frozenset(_roman_key(r) for r in claims.romans),
            frozenset(chord_sound(s) for s in claims.symbols),
        )


@dataclass(frozen=True)
class TeachingPoint:
    """One thing an explanation should state, in any of several ways."""

    name: str
    options: tuple[Need, ...]

    def stated_by(self, text: str, claims: _Read | None = None) -> bool:
        """Whether ``text`` states this point in one of its ways."""
        read = claims if claims is not None else _Read.of(text)
        return any(o.met_by(text, read) for o in self.options)


def stated(points: Iterable[TeachingPoint], text: str) -> dict[str, bool]:
    """Each point's name and whether ``text`` states it."""
    read = _Read.of(text)
    return {p.name: p.stated_by(text, read) for p in points}


def _pcs(notes: Iterable[str]) -> frozenset[int]:
    return frozenset(pitch_class(n) for n in notes)


def _one(name: str, **need: object) -> TeachingPoint:
    return TeachingPoint(name, (Need(**need),))  # type: ignore[arg-type]


def _interval_words(interval: str) -> str:
    return f"{_QUALITY_WORDS[interval[0]]} {_NUMBER_WORDS[int(interval[1:])]}"


def chord_points(info: ChordInfo) -> tuple[TeachingPoint, ...]:
    """Notes, intervals, keys, function and (for a dominant-type chord) resolution."""
    points = [_one("notes", notes=_pcs(info.notes))]
    upper = [iv for iv in info.intervals if iv != "P1" and int(iv[1:]) in _NUMBER_WORDS]
    marks = "-".join(_DEGREE_MARK[iv[0]] + iv[1:] for iv in info.intervals)
    points.append(
        TeachingPoint(
            "intervals",
            (
                Need(words=(" ".join(info.intervals),)),
                Need(words=(marks,)),
                Need(words=tuple(_interval_words(iv) for iv in upper)),
            ),
        )
    )
    base = info.symbol.split("/")[0] if info.bass != info.root else info.symbol
    places = keys_containing(base)
    if places:
        first = places[0]
        points.append(_one("keys", written=(first.numeral,), words=(first.key,), together=True))
        fn = first.function
        points.append(
            TeachingPoint(
                "function",
                tuple(Need(words=(f"{fn} {w}",)) for w in ("function", "chord", "role")),
            )
        )
    res = resolution(base)
    if res is not None:
        points.append(_one("resolution", symbols=(res.targets[0],), words=("resolve",)))
    return tuple(points)


def _reference(info: ScaleInfo) -> str:
    if info.type == "major":
        return "natural_minor"
    if info.type == "minor_pentatonic" or (len(info.notes) == 7 and "m3" in info.intervals):
        return "natural_minor"
    return "major"


def scale_points(info: ScaleInfo) -> tuple[TeachingPoint, ...]:
    """Notes, step formula, what differs from major / natural minor, relative, parallel."""
    points = [
        _one("notes", notes=_pcs(info.notes)),
        _one("steps", words=(info.formula,)),
    ]
    ref_type = _reference(info)
    ref = get_scale(info.root, ref_type)
    mine, theirs = _pcs(info.notes), _pcs(ref.notes)
    differing = {n for n in info.notes if pitch_class(n) not in theirs}
    differing |= {n for n in ref.notes if pitch_class(n) not in mine}
    if differing:
        ref_name = f"{info.root} {ref_type.replace('_', ' ')}"
        points.append(_one("character", notes=_pcs(differing), words=(ref_name,)))
    if info.relative:
        points.append(_one("relative", words=(info.relative,)))
    if info.parallel:
        points.append(_one("parallel", words=(info.parallel,)))
    return tuple(points)


def _borrowed(info: ProgressionInfo) -> list[tuple[str, str]]:
    """(chord, parallel key) of each chord from the parallel key, not from this one."""
    tonic, mode = info.key.split()
    own = ("major",) if mode == "major" else ("natural_minor", "harmonic_minor", "melodic_minor")
    own_pcs = frozenset().union(*(_pcs(get_scale(tonic, s).notes) for s in own))
    other_pcs = _pcs(get_scale(tonic, "natural_minor" if mode == "major" else "major").notes)
    parallel = f"{tonic} {'minor' if mode == 'major' else 'major'}"
    return [
        (a.chord, parallel)
        for a in info.analysis
        if "/" not in a.roman and not _pcs(a.notes) <= own_pcs and _pcs(a.notes) <= other_pcs
    ]


def progression_points(info: ProgressionInfo) -> tuple[TeachingPoint, ...]:
    """Key, numerals, functions, and cadences, patterns, secondary dominants and
    borrowed chords when the progression has them."""
    points = [
        _one("key", words=(info.key,)),
        _one("numerals", romans=tuple(a.roman for a in info.analysis)),
    ]
    functions = tuple(dict.fromkeys(a.function for a in info.analysis if a.function != "other"))
    if functions:
        points.append(_one("functions", words=functions))
    if info.cadences:
        words = tuple(f"{c.type} cadence" for c in info.cadences)
        points.append(_one("cadences", words=words))
    if info.patterns:
        points.append(_one("patterns", words=tuple(p.name for p in info.patterns)))
    secondary = [a for a in info.analysis if "/" in a.roman]
    if secondary:
        targets = tuple(
            realize_numeral(a.roman.split("/", 1)[1], info.key).symbol for a in secondary
        )
        romans = tuple(a.roman for a in secondary)
        alone = len(secondary) == 1  # one: its numeral and target in one sentence
        points.append(_one("secondary dominants", romans=romans, symbols=targets, together=alone))
    borrowed = _borrowed(info)
    if borrowed:
        symbols = tuple(c for c, _ in borrowed)
        points.append(_one("borrowed chords", symbols=symbols, words=("borrowed", borrowed[0][1])))
    return tuple(points)


def concept_points(
    definition: str, chords: Iterable[str], notes: Iterable[str]
) -> tuple[TeachingPoint, ...]:
    """A concept's definition and its first example realized (chords, or else notes)."""
    chords, notes = tuple(chords), tuple(notes)
    example: tuple[Need, ...]
    if chords:
        example = (Need(symbols=chords),)
    else:  # "G A B C" reads its "A" as the article: the notes in order count too
        example = (Need(notes=_pcs(notes)), Need(words=(" ".join(notes),)))
    return (_one("definition", words=(definition,)), TeachingPoint("example", example))
