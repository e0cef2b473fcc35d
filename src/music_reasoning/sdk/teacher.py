"""A teacher's explanation of a chord, scale or progression: deterministic and instant.

Every sentence is a template filled from facts the theory layer computes
(:mod:`music_reasoning.theory` and :mod:`music_reasoning.theory.harmony`); nothing is
written about a specific chord.  "G7 resolves to C" is there because
:func:`~music_reasoning.theory.resolution` computed it.

Flow::

    ChordInfo / ScaleInfo / ProgressionInfo, level
        -> facts (keys_containing, resolution, substitutes, diatonic_chords,
           voice_leading, get_scale of the reference scale ...)
        -> sections of sentences, written through a _Writer that records every note,
           chord symbol, key and numeral it names
        -> Lesson (sections, text, names for the verifier)

Levels add to each other: ``beginner`` (the notes, what the chord or scale is built
from, where a chord goes, the key), ``intermediate`` (+ functions, keys, resolutions,
cadences, secondary dominants, borrowed chords), ``advanced`` (+ inversions,
substitutes, voice leading, degree-by-degree detail).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import (
    AnalyzedChord,
    ChordInfo,
    ProgressionInfo,
    ScaleInfo,
    build_chord,
    chords_on_tonic,
    diatonic_chords,
    get_scale,
    interval_between,
    keys_containing,
    realize_numeral,
    resolution,
    substitutes,
    voice_leading,
)
from music_reasoning.theory.harmony import DiatonicChord, KeyPlacement, ToneMotion
from music_reasoning.theory.notes import pitch_class, spell_above

__all__ = [
    "LEVELS",
    "Lesson",
    "Level",
    "check_level",
    "interval_words",
    "teach_chord",
    "teach_progression",
    "teach_scale",
]

Level = Literal["beginner", "intermediate", "advanced"]
#: The levels, simplest first.
LEVELS: tuple[Level, ...] = get_args(Level)

_QUALITY_WORDS = {"P": "perfect", "M": "major", "m": "minor", "A": "augmented", "d": "diminished"}
_NUMBER_WORDS = {
    1: "unison",
    2: "second",
    3: "third",
    4: "fourth",
    5: "fifth",
    6: "sixth",
    7: "seventh",
    8: "octave",
    9: "ninth",
    11: "eleventh",
    13: "thirteenth",
}
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}
# Abbreviated figured bass of the generic intervals above the bass.
_FIGURES = {"5/3": "", "6/3": "6", "6/4": "6/4", "7/5/3": "7", "6/5/3": "6/5", "6/4/3": "4/3"}
_FIGURES["6/4/2"] = "4/2"
# Named patterns: (name, mode, degrees, in seventh chords when the chord has a seventh);
# chords come from the key's diatonic chords.
_PATTERNS: tuple[tuple[str, str, tuple[int, ...], bool], ...] = (
    ("ii-V-I", "major", (2, 5, 1), True),
    ("I-V-vi-IV", "major", (1, 5, 6, 4), False),
    ("I-IV-V", "major", (1, 4, 5), False),
    ("ii-V-i", "minor", (2, 5, 1), True),
    ("i-iv-V", "minor", (1, 4, 5), False),
)
_STEP_WORDS = {"W": "whole step", "H": "half step", "W+H": "step and a half"}


@dataclass(frozen=True, slots=True)
class Lesson:
    """A teacher's explanation, in sections of sentences.

    Attributes:
        kind: ``chord``, ``scale`` or ``progression``.
        subject: What it explains (``G7``, ``D dorian``, ``Am F C G``).
        level: ``beginner``, ``intermediate`` or ``advanced``.
        sections: ``(heading, sentences)`` pairs in reading order.
        notes: Every note name the lesson states.
        symbols: Every chord symbol it states (each builds with ``build_chord``).
        keys: Every key or scale it names (``C major``, ``D dorian``).
        numerals: Every roman numeral it states.
    """

    kind: str
    subject: str
    level: Level
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    notes: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    numerals: frozenset[str] = frozenset()

    @property
    def names(self) -> frozenset[str]:
        """Chord symbols, keys and numerals the lesson names (for a verifier)."""
        return self.symbols | self.keys | self.numerals

    @property
    def text(self) -> str:
        """The whole explanation: one paragraph per section, headed."""
        return "\n\n".join(f"{head}\n{' '.join(lines)}" for head, lines in self.sections)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (sets as sorted lists, plus ``text``)."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "level": self.level,
            "sections": [{"heading": h, "sentences": list(s)} for h, s in self.sections],
            "text": self.text,
            "notes": sorted(self.notes),
            "symbols": sorted(self.symbols),
            "keys": sorted(self.keys),
            "numerals": sorted(self.numerals),
        }


def check_level(level: object) -> Level:
    """``level`` if it is one of :data:`LEVELS`.

    Raises:
        InvalidInputError: any other value.
    """
    for known in LEVELS:
        if level == known:
            return known
    raise InvalidInputError(
        f"Invalid level {level!r}",
        suggestion=f"Use one of: {', '.join(LEVELS)}.",
        details={"token": str(level), "kind": "level"},
    )


class _Writer:
    """Collects sections and records every name a sentence uses."""

    def __init__(self, kind: str, subject: str, level: Level) -> None:
        self.kind, self.subject, self.level = kind, subject, check_level(level)
        self.sections: list[tuple[str, tuple[str, ...]]] = []
        self.notes: set[str] = set()
        self.symbols: set[str] = set()
        self.keys: set[str] = set()
        self.numerals: set[str] = set()

    def at_least(self, level: Level) -> bool:
        return LEVELS.index(self.level) >= LEVELS.index(level)

    def section(self, heading: str, sentences: Iterable[str]) -> None:
        lines = tuple(s for s in sentences if s)
        if lines:
            self.sections.append((heading, lines))

    def n(self, note: str) -> str:
        self.notes.add(note)
        return note

    def ns(self, notes: Iterable[str]) -> str:
        return _join([self.n(x) for x in notes])

    def c(self, symbol: str) -> str:
        self.symbols.add(symbol)
        return symbol

    def k(self, key: str) -> str:
        self.keys.add(key)
        return key

    def r(self, numeral: str) -> str:
        self.numerals.add(numeral)
        return numeral

    def lesson(self) -> Lesson:
        return Lesson(
            kind=self.kind,
            subject=self.subject,
            level=self.level,
            sections=tuple(self.sections),
            notes=frozenset(self.notes),
            symbols=frozenset(self.symbols),
            keys=frozenset(self.keys),
            numerals=frozenset(self.numerals),
        )


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


_ROMAN_START = re.compile(
    r"[b#]?(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i)(?=$|[-\s0-9/°ø+]|maj|add|sus)"
)


def _a(word: str) -> str:
    """``an`` before a vowel sound, letter names included ("an F#", "an E minor")."""
    if _ROMAN_START.match(word):  # numerals are read as numbers: "a ii-V-I", "a IV chord"
        return f"a {word}"
    letter = word[:1] in "AEFHLMNRSX" and word[1:2] in ("", " ", "#", "b", "-")
    vowel = word[:1] in "aeioAEIO" or letter
    return f"an {word}" if vowel else f"a {word}"


def _pcs(notes: Iterable[str]) -> set[int]:
    return {pitch_class(n) for n in notes}


def _nth(number: int) -> str:
    """2 -> ``2nd``, 3 -> ``3rd``, 6 -> ``6th``."""
    return (
        f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number if number < 20 else number % 10, 'th') }"
    )


def interval_words(interval: str) -> str:
    """An interval's name in words (``m3`` -> ``minor third``, ``P1`` -> ``perfect unison``)."""
    quality, number = interval[0], int(interval[1:])
    return f"{_QUALITY_WORDS.get(quality, quality)} {_NUMBER_WORDS.get(number, str(number))}"


def _interval_words(interval: str) -> str:
    """As :func:`interval_words`, but a chord's unison is its root."""
    return "root" if interval == "P1" else interval_words(interval)


def _semitones(low: str, high: str, number: int) -> int:
    size = (pitch_class(high) - pitch_class(low)) % 12
    return size + 12 if number > 8 else size


def _degree_mark(interval: str) -> str:
    """``m3`` -> ``b3``, ``A4`` -> ``#4``, ``M6`` -> ``6`` (degrees against major)."""
    quality, number = interval[0], int(interval[1:])
    perfect = number % 7 in (1, 4, 5)
    flat = quality in ("m", "d") if not perfect else quality == "d"
    if quality == "d" and not perfect:
        return f"bb{number}"
    return ("b" if flat else "#" if quality == "A" else "") + str(number)


def _parses(symbol: str) -> bool:
    try:
        build_chord(symbol)
    except InvalidInputError:
        return False
    return True


def _motion_words(w: _Writer, m: ToneMotion) -> str:
    if m.semitones == 0:
        return f"{w.n(m.source)} stays"
    direction = "up" if m.semitones > 0 else "down"
    steps = abs(m.semitones)
    size = {1: "a half step", 2: "a whole step"}.get(steps, f"{steps} semitones")
    return f"{w.n(m.source)} moves {direction} {size} to {w.n(m.target)}"


# --- chords ------------------------------------------------------------------------------


def _key_chord(tonic: str, mode: str, degree: int, *, sevenths: bool) -> DiatonicChord:
    """The usual chord on a degree: minor keys take V and vii from harmonic minor."""
    scale = "major" if mode == "major" else "natural_minor"
    if mode == "minor" and degree in (5, 7):
        scale = "harmonic_minor"
    return diatonic_chords(tonic, scale, sevenths=sevenths)[degree - 1]


def _chord_built(w: _Writer, info: ChordInfo) -> list[str]:
    tones = list(zip(info.notes, info.intervals, strict=True))
    out = []
    parts = [
        f"the {_interval_words(iv)} {w.n(n)} ({_semitones(info.root, n, int(iv[1:]))} semitones)"
        for n, iv in tones[1:]
    ]
    out.append(f"Counted up from the root {w.n(info.root)}, it has {_join(parts)}.")
    if w.at_least("intermediate"):
        marks = "-".join(_degree_mark(iv) for _, iv in tones)
        semis = ", ".join(str(_semitones(info.root, n, int(iv[1:]))) for n, iv in tones)
        out.append(f"Its formula is {marks} ({semis} semitones above the root).")
        steps = [(a, b, interval_between(a, b)) for (a, _), (b, _) in itertools.pairwise(tones)]
        thirds = [f"{_a(_interval_words(iv))} from {w.n(a)} to {w.n(b)}" for a, b, iv in steps]
        if steps and all(iv[1:] == "3" for _, _, iv in steps):
            out.append(f"It is a stack of thirds: {_join(thirds)}.")
        elif steps:
            out.append(f"Between neighbouring tones it has {_join(thirds)}.")
    roles = dict((iv, n) for n, iv in tones)
    if "M3" in roles:
        out.append(f"The major third {w.n(roles['M3'])} makes it a major-type chord.")
    elif "m3" in roles:
        out.append(f"The minor third {w.n(roles['m3'])} makes it a minor-type chord.")
    elif len(tones) > 1:
        out.append("It has no third, so it is neither major nor minor.")
    for iv, word in (
        ("m7", "minor seventh"),
        ("M7", "major seventh"),
        ("d7", "diminished seventh"),
    ):
        if iv in roles and w.at_least("intermediate"):
            out.append(f"The {word} {w.n(roles[iv])} makes it a seventh chord.")
    return out


def _chord_bass(w: _Writer, info: ChordInfo) -> list[str]:
    if info.bass == info.root:
        return [f"With the root {w.n(info.root)} lowest, it is in root position."]
    upper = info.symbol.split("/")[0]
    if info.inversion is None and info.bass in info.notes:  # Am/G: the G adds a seventh
        if not _parses(upper):
            return [f"Its lowest note is {w.n(info.bass)}."]
        return [
            f"Its bass {w.n(info.bass)} is not in the {w.c(upper)} triad: "
            f"it adds a tone below it, which the notes above count."
        ]
    if info.inversion is None:
        return [f"Its bass {w.n(info.bass)} is not a chord tone: it sounds under the chord."]
    which = _ORDINALS.get(info.inversion, f"{info.inversion}th")
    return [f"With {w.n(info.bass)} in the bass it is in {which} inversion."]


def _inversions(w: _Writer, info: ChordInfo, base: str) -> list[str]:
    if info.inversion is None and info.bass != info.root:
        return []  # a bass outside the named chord (Am/G): its positions are another chord's
    tones = [n for n, iv in zip(info.notes, info.intervals, strict=True) if int(iv[1:]) <= 7]
    if len(tones) > 4 or len(tones) < 3:
        return []
    parts = []
    for i, bass in enumerate(tones):
        symbol = base if i == 0 else f"{base}/{bass}"
        if not _parses(symbol):
            return []
        above = sorted(
            {int(interval_between(bass, t)[1:]) for t in tones if t != bass}, reverse=True
        )
        figure = _FIGURES.get("/".join(map(str, above)), "/".join(map(str, above)))
        name = "root position" if i == 0 else f"{_ORDINALS[i]} inversion"
        fig = f", figure {figure}" if figure else ""
        parts.append(f"{name} {w.c(symbol)} (bass {w.n(bass)}{fig})")
    return [f"Its positions: {_join(parts)}."]


def _placements(w: _Writer, places: tuple[KeyPlacement, ...], *, limit: int) -> str:
    parts = []
    for p in places[:limit]:
        scales = " and ".join(s.replace("_", " ") for s in p.scales)
        scales = "" if p.mode == "major" else f"{scales}, "
        spelled = f", spelled {w.c(p.symbol)}" if p.respelled else ""
        parts.append(f"{w.r(p.numeral)} in {w.k(p.key)} ({scales}{p.function} function{spelled})")
    return _join(parts)


def _chord_keys(w: _Writer, symbol: str) -> list[str]:
    places = keys_containing(symbol)
    if not places:
        return ["No major, natural minor or harmonic minor key contains all of its notes."]
    first = next((p for p in places if not p.respelled), places[0])
    if not w.at_least("intermediate"):
        spelled = f" (spelled {w.c(first.symbol)})" if first.respelled else ""
        return [
            f"It belongs to {w.k(first.key)}, where it is the {w.r(first.numeral)} chord{spelled}."
        ]
    major = tuple(p for p in places if p.mode == "major")
    minor = tuple(p for p in places if p.mode == "minor")
    limit = 4 if w.at_least("advanced") else 2
    out = []
    if major:
        out.append(f"In major keys it is {_placements(w, major, limit=limit)}.")
    if minor:
        out.append(f"In minor keys it is {_placements(w, minor, limit=limit)}.")
    return out


def _chord_resolution(w: _Writer, symbol: str) -> list[str]:
    res = resolution(symbol)
    if res is None:
        return []
    target = res.targets[0]
    leading = res.tendencies[0]
    if not w.at_least("intermediate"):
        return [
            f"It pulls toward {w.c(target)}: its {w.n(leading.source)} rises a half step "
            f"to {w.n(leading.target)}."
        ]
    kind = "a fifth below" if res.kind == "dominant" else "a half step above"
    out = [
        f"As {_a(res.kind)} chord it resolves to the chord whose root is {kind}: "
        f"{w.c(target)} (or {w.c(res.targets[1])})."
    ]
    moves = [f"the {m.role} {_motion_words(w, m)}" for m in res.tendencies]
    out.append(f"Its tendency tones lead there: {_join(moves)}.")
    if res.tritone is not None and res.tritone_interval is not None:
        low, high = res.tritone
        ends = {m.source: m.target for m in res.tendencies}
        out.append(
            f"{w.n(low)} and {w.n(high)} are a tritone apart "
            f"({_interval_words(res.tritone_interval)} from {low} up to {high})."
        )
        if w.at_least("advanced") and low in ends and high in ends:
            out.append(
                f"With {low} below {high} the tritone contracts to {w.n(ends[low])}-"
                f"{w.n(ends[high])}; with {high} below {low} it expands to "
                f"{ends[high]}-{ends[low]}."
            )
    return out


def _chord_progressions(w: _Writer, symbol: str, seventh: bool) -> list[str]:
    out = []
    seen: set[str] = set()
    for place in keys_containing(symbol)[:3]:
        for name, mode, degrees, jazz in _PATTERNS:
            if mode != place.mode or place.degree not in degrees or name in seen:
                continue
            own = _key_chord(place.tonic, mode, place.degree, sevenths=seventh and jazz)
            if {pitch_class(n) for n in own.notes} - {
                pitch_class(n) for n in build_chord(place.symbol).notes
            }:
                continue  # the key's chord on that degree is not this chord
            chords = []
            for d in degrees:
                chord = _key_chord(place.tonic, mode, d, sevenths=seventh and jazz)
                chords.append(place.symbol if d == place.degree else chord.symbol)
            seen.add(name)
            shown = " - ".join(w.c(c) for c in chords)
            out.append(f"In {w.k(place.key)} it is part of {w.r(name)}: {shown}.")
    return out[:3]


def _chord_substitutes(w: _Writer, symbol: str) -> list[str]:
    out = []
    for sub in substitutes(symbol):
        shared = f": they share {w.ns(sub.shared)}" if sub.shared else ""
        theirs = [n for n in build_chord(sub.symbol).notes if pitch_class(n) in _pcs(sub.shared)]
        if sub.shared and sorted(theirs) != sorted(sub.shared):  # Db7 spells B as Cb
            shared += f" (spelled {w.ns(theirs)} in {w.c(sub.symbol)})"
        out.append(f"{w.c(sub.symbol)} can stand in for it ({sub.relation}){shared}.")
    return out


def teach_chord(info: ChordInfo, level: Level = "intermediate") -> Lesson:
    """Explain a chord the way a teacher would, at ``level``.

    Args:
        info: A chord from :func:`~music_reasoning.theory.build_chord` or
            :func:`~music_reasoning.theory.identify_chord`.
        level: ``beginner``, ``intermediate`` or ``advanced``.

    Raises:
        InvalidInputError: If ``level`` is not a level.

    Example:
        >>> lesson = teach_chord(build_chord("G7"), "beginner")
        >>> "C" in lesson.symbols
        True
    """
    w = _Writer("chord", info.symbol, level)
    parsable = _parses(info.symbol)
    slash = f"/{info.bass}"
    base = info.symbol.removesuffix(slash) if info.bass != info.root else info.symbol
    if parsable:
        w.c(info.symbol)
    w.section(
        "What it is",
        [
            f"{info.symbol} is {_a(info.name)} chord with the notes {w.ns(info.notes)}.",
            f"Its root, the note it is built on and named after, is {w.n(info.root)}.",
            *_chord_bass(w, info),
        ],
    )
    w.section("How it is built", _chord_built(w, info))
    if w.at_least("advanced") and parsable:
        w.section("Inversions", _inversions(w, info, base))
    if not parsable:
        return w.lesson()
    outside = info.inversion is None and info.bass != info.root  # Am/G: the G sounds too
    w.section("Keys", _chord_keys(w, info.symbol if outside else base))
    w.section("Where it goes", _chord_resolution(w, base))
    if w.at_least("intermediate"):
        seventh = any(iv in info.intervals for iv in ("m7", "M7", "d7"))
        w.section("Common progressions", _chord_progressions(w, base, seventh))
    if w.at_least("advanced"):
        if not outside:  # what a substitute shares would leave the bass out
            w.section("Substitutes", _chord_substitutes(w, base))
        res = resolution(base)
        if res is not None:
            lead = voice_leading(base, res.targets[0])
            moves = [_motion_words(w, m) for m in lead.motions]
            w.section(
                "Voice leading",
                [f"Smoothest move to {w.c(res.targets[0])}: {_join(moves)}."],
            )
    return w.lesson()


# --- scales -----------------------------------------------------------------------------

_REFERENCE = {
    "major": "natural_minor",
    "natural_minor": "major",
    "major_pentatonic": "major",
    "minor_pentatonic": "natural_minor",
    "blues": "minor_pentatonic",
}


def _reference(info: ScaleInfo) -> str:
    if info.type in _REFERENCE:
        return _REFERENCE[info.type]
    if len(info.notes) == 7 and "m3" in info.intervals:
        return "natural_minor"
    return "major"


def _scale_name(root: str, scale_type: str) -> str:
    return f"{root} {scale_type.replace('_', ' ')}"


def _compare(w: _Writer, info: ScaleInfo) -> list[str]:
    ref_type = _reference(info)
    ref = get_scale(info.root, ref_type)
    ref_name = w.k(_scale_name(info.root, ref_type))
    if len(info.notes) == 7 and len(ref.notes) == 7:
        diffs = []
        for mine, theirs in zip(info.degrees, ref.degrees, strict=True):
            change = (pitch_class(mine.note) - pitch_class(theirs.note) + 6) % 12 - 6
            if change:
                word = "raised" if change > 0 else "lowered"
                number = int(_degree_mark(mine.interval).lstrip("#b"))
                diffs.append(
                    f"a {word} {_nth(number)} degree {w.n(mine.note)} instead of {w.n(theirs.note)}"
                )
        if not diffs:
            return [f"It has the same notes as {ref_name}."]
        return [f"Compared with {ref_name} it has {_join(diffs)}."]
    mine_pcs = {pitch_class(n) for n in info.notes}
    ref_pcs = {pitch_class(n) for n in ref.notes}
    missing = [d for d in ref.degrees if pitch_class(d.note) not in mine_pcs]
    extra = [d for d in info.degrees if pitch_class(d.note) not in ref_pcs]
    parts = []
    if missing:
        parts.append(f"leaves out {_join([f'the {d.name} {w.n(d.note)}' for d in missing])}")
    if extra:
        parts.append(f"adds {_join([f'the {d.name} {w.n(d.note)}' for d in extra])}")
    if not parts:
        return [f"It has the same notes as {ref_name}."]
    return [f"Compared with {ref_name} it {' and '.join(parts)}."]


def _fits_over(w: _Writer, info: ScaleInfo) -> list[str]:
    if info.type == "chromatic":
        return ["It contains every pitch class, so every chord's tones are in it."]
    fits = chords_on_tonic(info.root, info.type)
    if not fits:
        return []
    shown = _join([w.c(s) for s in fits[:3]])
    return [f"Every tone of {shown} is in the scale, so it can be played over those chords."]


def teach_scale(info: ScaleInfo, level: Level = "intermediate") -> Lesson:
    """Explain a scale or mode the way a teacher would, at ``level``.

    Raises:
        InvalidInputError: If ``level`` is not a level.

    Example:
        >>> lesson = teach_scale(get_scale("D", "dorian"), "advanced")
        >>> "C major" in lesson.keys
        True
    """
    name = _scale_name(info.root, info.type)
    w = _Writer("scale", name, level)
    steps = [_STEP_WORDS.get(s, s) for s in info.formula.split("-")]
    w.section(
        "The notes",
        [
            f"{w.k(name)} has {len(info.notes)} notes: {w.ns(info.notes)}.",
            f"Its steps are {info.formula} (W a whole step, H a half step, W+H a step and a "
            f"half), from {w.n(info.root)} up to the next {info.root}.",
            f"That is: {_join(steps)}." if w.at_least("advanced") else "",
        ],
    )
    formula: list[str] = []
    if w.at_least("intermediate"):
        marks = ", ".join(_degree_mark(iv) for iv in info.intervals)
        formula.append(f"Its formula is {marks}, in degrees counted against the major scale.")
        formula.append(f"As intervals above the tonic: {' '.join(info.intervals)}.")
    w.section("Formula", formula)
    w.section("What makes it different", _compare(w, info))
    if w.at_least("intermediate"):
        names = [f"{w.n(d.note)} the {d.name}" for d in info.degrees]
        sentences = [f"Degree by degree: {_join(names)}."]
        last = info.degrees[-1]
        if last.interval == "M7":
            sentences.append(
                f"{last.note} is a leading tone: a half step below the tonic, it leads up to "
                f"{info.root}."
            )
        elif last.interval == "m7" and len(info.notes) == 7:
            sentences.append(
                f"{last.note} is a subtonic: a whole step below the tonic, it has no half-step "
                f"pull to {info.root}."
            )
        w.section("Degrees", sentences)
    chords: list[str] = []
    for sevenths in (False, True) if w.at_least("advanced") else (False,):
        diatonic = diatonic_chords(info.root, info.type, sevenths=sevenths)
        if diatonic and w.at_least("intermediate"):
            listed = ", ".join(f"{w.r(c.numeral)} {w.c(c.symbol)}" for c in diatonic)
            kind = "seventh chords" if sevenths else "triads"
            chords.append(f"Its {kind}, degree by degree: {listed}.")
    if chords and w.at_least("advanced"):
        functions = [c for c in diatonic_chords(info.root, info.type) if c.function]
        if functions:
            groups: dict[str, list[str]] = {}
            for c in functions:
                groups.setdefault(c.function or "", []).append(c.numeral)
            chords.append(
                "By function: "
                + "; ".join(f"{fn} {', '.join(ns)}" for fn, ns in groups.items())
                + "."
            )
    w.section("Chords in the scale", chords)
    related = []
    if info.relative:
        rel_tonic = info.relative.split()[0]
        if info.type in ("dorian", "phrygian", "lydian", "mixolydian", "locrian"):
            parent = get_scale(rel_tonic, "major")
            degree = next(
                d.number for d in parent.degrees if pitch_class(d.note) == pitch_class(info.root)
            )
            related.append(
                f"It uses the notes of {w.k(info.relative)}, starting on its degree {degree}, "
                f"{w.n(info.root)}."
            )
        elif info.type in ("harmonic_minor", "melodic_minor"):  # altered: not the same notes
            related.append(
                f"Its relative key is {w.k(info.relative)}, the relative of "
                f"{w.k(info.root + ' natural minor')}, whose notes this scale alters."
            )
        else:
            related.append(
                f"Its relative is {w.k(info.relative)}: the same notes from {w.n(rel_tonic)}."
            )
    if info.parallel and w.at_least("intermediate"):
        related.append(f"Its parallel is {w.k(info.parallel)}: the same tonic, other notes.")
    w.section("Related keys", related)
    if w.at_least("intermediate"):
        w.section("Where it is used", _fits_over(w, info))
    return w.lesson()


# --- progressions -------------------------------------------------------------------------


def _analysis_line(w: _Writer, a: AnalyzedChord) -> str:
    text = f"{w.c(a.chord)} is {w.r(a.roman)}"
    if w.at_least("intermediate"):
        text += f" ({a.function})"
    if w.at_least("advanced"):
        text += f": {w.ns(a.notes)}"
    return text


def _secondary(w: _Writer, info: ProgressionInfo) -> list[str]:
    out = []
    for i, a in enumerate(info.analysis):
        if "/" not in a.roman:
            continue
        target_numeral = a.roman.split("/", 1)[1]
        target = realize_numeral(target_numeral, info.key)
        head = "dominant" if a.roman.startswith("V") else "leading-tone chord"
        line = (
            f"{w.c(a.chord)} ({w.r(a.roman)}) is the {head} of {w.c(target.symbol)}, the "
            f"{w.r(target_numeral)} chord of {w.k(info.key)}: it tonicises {target.symbol}"
        )
        nxt = info.analysis[i + 1] if i + 1 < len(info.analysis) else None
        if nxt is not None and pitch_class(build_chord(nxt.chord).root) == pitch_class(
            build_chord(target.symbol).root
        ):
            line += ", and goes there next"
        out.append(line + ".")
    return out


def _borrowed(w: _Writer, info: ProgressionInfo) -> list[str]:
    tonic, mode = info.key.split()
    own = ("major",) if mode == "major" else ("natural_minor", "harmonic_minor", "melodic_minor")
    other = "natural_minor" if mode == "major" else "major"
    own_pcs = set().union(*({pitch_class(n) for n in get_scale(tonic, s).notes} for s in own))
    other_pcs = {pitch_class(n) for n in get_scale(tonic, other).notes}
    parallel = f"{tonic} {'minor' if mode == 'major' else 'major'}"
    out = []
    for a in info.analysis:
        pcs = {pitch_class(n) for n in a.notes}
        if "/" in a.roman or pcs <= own_pcs or not pcs <= other_pcs:
            continue
        foreign = [n for n in a.notes if pitch_class(n) not in own_pcs]
        out.append(
            f"{w.c(a.chord)} ({w.r(a.roman)}) is borrowed from the parallel key "
            f"{w.k(parallel)}: {w.ns(foreign)} {'is' if len(foreign) == 1 else 'are'} not in "
            f"{w.k(info.key)}."
        )
    return out


def _tritone_subs(w: _Writer, info: ProgressionInfo) -> list[str]:
    """bII7 chords named for what they are: the dominant's tritone substitute."""
    tonic = info.key.split()[0]
    out = []
    for a in info.analysis:
        if not a.roman.startswith("bII7") or "/" in a.roman:
            continue
        dominant = f"{spell_above(tonic, 'P5')}7"
        shared = [n for n in build_chord(dominant).notes if _pcs([n]) <= _pcs(a.notes)]
        theirs = [n for n in a.notes if _pcs([n]) <= _pcs(shared)]
        spelled = f" ({w.ns(theirs)} in {w.c(a.chord)})" if sorted(theirs) != sorted(shared) else ""
        out.append(
            f"{w.c(a.chord)} ({w.r(a.roman)}) is a tritone substitution for {w.c(dominant)}, "
            f"the {w.r('V7')}: its root is a tritone away, and they share "
            f"{w.ns(shared)}{spelled}."
        )
    return out


def _resolutions(w: _Writer, info: ProgressionInfo) -> list[str]:
    out = []
    seen = set()
    for a, b in zip(info.analysis, info.analysis[1:], strict=False):
        res = resolution(a.chord, b.chord)
        if res is None or (a.chord, b.chord) in seen:
            continue
        if pitch_class(build_chord(b.chord).root) != pitch_class(build_chord(res.targets[0]).root):
            continue
        seen.add((a.chord, b.chord))
        moves = [f"the {m.role} {_motion_words(w, m)}" for m in res.tendencies]
        out.append(f"{w.c(a.chord)} resolves to {w.c(b.chord)}: {_join(moves)}.")
    return out


def _voice_leading(w: _Writer, info: ProgressionInfo) -> list[str]:
    out = []
    seen = set()
    for a, b in zip(info.analysis, info.analysis[1:], strict=False):
        if a.chord == b.chord or (a.chord, b.chord) in seen:
            continue
        seen.add((a.chord, b.chord))
        lead = voice_leading(a.chord, b.chord)
        stay = "stays" if len(lead.common_tones) == 1 else "stay"
        keep = f"{w.ns(lead.common_tones)} {stay}" if lead.common_tones else "no tone stays"
        moves = [_motion_words(w, m) for m in lead.motions if m.semitones]
        tail = f"; {_join(moves)}" if moves else ""
        out.append(f"{w.c(a.chord)} to {w.c(b.chord)}: {keep}{tail}.")
    return out


def teach_progression(info: ProgressionInfo, level: Level = "intermediate") -> Lesson:
    """Explain a chord progression the way a teacher would, at ``level``.

    Raises:
        InvalidInputError: If ``level`` is not a level.

    Example:
        >>> from music_reasoning.theory import analyze_progression
        >>> lesson = teach_progression(analyze_progression("Dm7 G7 Cmaj7"), "beginner")
        >>> "C major" in lesson.keys
        True
    """
    subject = " ".join(a.input for a in info.analysis)
    w = _Writer("progression", subject, level)
    key_lines = [f"The progression is in {w.k(info.key)}."]
    if w.at_least("intermediate"):
        key_lines.append(f"The key detection's confidence is {info.confidence:.2f}.")
        if info.alternative_keys:
            others = _join(
                [
                    f"{w.k(k)} ({c:.2f})"
                    for k, c in zip(
                        info.alternative_keys[:2], info.alternative_confidences, strict=False
                    )
                ]
            )
            key_lines.append(f"Other readings, less likely: {others}.")
    w.section("Key", key_lines)
    w.section(
        "Chord by chord",
        [f"{'; '.join(_analysis_line(w, a) for a in info.analysis)}."],
    )
    named = [
        f"{p.name} ({p.genre}) in {w.k(p.key)}"
        + (f", {p.occurrences} times" if p.occurrences > 1 else "")
        for p in info.patterns
    ]
    label = "patterns" if len(named) > 1 else "pattern"
    w.section("Patterns", [f"It contains the {label} {_join(named)}." if named else ""])
    if w.at_least("intermediate"):
        cadences = [
            f"{' to '.join(w.c(c) for c in cad.chords)} ({'-'.join(w.r(r) for r in cad.romans)}) "
            f"is {_a(cad.type)} cadence"
            for cad in info.cadences
        ]
        w.section("Cadences", [f"{_join(cadences)}." if cadences else ""])
        w.section("Secondary dominants", _secondary(w, info))
        w.section("Borrowed chords", _borrowed(w, info))
        w.section("Substitutions", _tritone_subs(w, info))
        w.section("Resolutions", _resolutions(w, info))
    if w.at_least("advanced"):
        w.section("Voice leading", _voice_leading(w, info))
    return w.lesson()
