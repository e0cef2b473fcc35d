"""Shared vocabulary of the claim readers: note and numeral patterns, sentences, and
the subject a claim is about (see :mod:`._claims`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from music_reasoning.errors import MusicReasoningError
from music_reasoning.sdk.facts import Facts
from music_reasoning.theory import build_chord, get_scale
from music_reasoning.theory.notes import pitch_class

_NOTE = r"[A-G](?:bb|##|#|b)?"
_BARE_NOTE = rf"(?<![\w#/])({_NOTE})(?![\w#+°ø/])"
_SUFFIX = r"(?:maj|min|dim|aug|sus|add|m|M|ø|°|\+|\d+|b(?=\d)|#(?=\d))+"
_SYMBOL = rf"{_NOTE}(?:{_SUFFIX})?(?:/{_NOTE})?"
_CHORD_RE = re.compile(rf"(?<![\w#/])({_NOTE}{_SUFFIX}(?:/{_NOTE})?|{_NOTE}/{_NOTE})(?![\w#/])")
_NUMERAL = r"[b#]?(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i)(?:ø|°|\+|maj|M|\d+)*"
_ROMAN = rf"{_NUMERAL}(?:/[b#]?(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i))?"
_ITEM = rf"(?:{_SYMBOL}|{_ROMAN})"
_NEGATION_RE = re.compile(r"\b(?:not|never|unlike|rather than|instead of|than|n't|no)\b|n't\b")
_NUMBERS = {
    w: i
    for i, w in enumerate(
        (
            *("zero", "one", "two", "three", "four", "five", "six"),
            *("seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen"),
            *("fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
        )
    )
}
_NUMBER = rf"(\d+|{'|'.join(sorted(_NUMBERS, key=len, reverse=True))})"


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _pc(name: str) -> int | None:
    try:
        return pitch_class(name)
    except MusicReasoningError:
        return None


# ---------------------------------------------------------------------------- subjects


@dataclass(frozen=True)
class _Subject:
    """What a claim is about: a scale, a key or a chord, with what the theory says of it."""

    name: str
    kind: str  # "scale", "chord" or "progression"
    root: str = ""
    notes: tuple[str, ...] = ()
    formula: str | None = None
    intervals: tuple[str, ...] = ()
    relative: str | None = None
    parallel: str | None = None


_SCALE_WORDS = (
    "(?i:major pentatonic|minor pentatonic|pentatonic major|pentatonic minor|natural minor|"
    "harmonic minor|melodic minor|whole[- ]tone|diminished half[- ]whole|diminished whole[- ]half|"
    "half[- ]whole diminished|whole[- ]half diminished|half[- ]whole|whole[- ]half|"
    "major|minor|ionian|dorian|"
    "phrygian|lydian|mixolydian|aeolian|locrian|blues|diminished|octatonic|pentatonic|chromatic)"
)
_MODES = {"ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian"}
_MENTION_RE = re.compile(
    rf"(?<![\w#/])(?:({_NOTE}) )?({_SCALE_WORDS})(?: (scale|mode|key|chord|triad))?(?![\w#-])"
    r"(?! (?:second|third|fourth|fifth|sixth|seventh|ninth|eleventh|thirteenth|\d+th|add"
    r"|interval))",
)


def _scale(root: str, kind: str) -> _Subject | None:
    try:
        info = get_scale(root, kind)
    except MusicReasoningError:
        return None
    return _Subject(
        f"{root} {kind.lower()}",
        "scale",
        info.root,
        info.notes,
        info.formula,
        info.intervals,
        info.relative,
        info.parallel,
    )


def _chord(symbol: str) -> _Subject | None:
    try:
        info = build_chord(symbol)
    except MusicReasoningError:
        return None
    return _Subject(info.symbol, "chord", info.root, info.notes, None, info.intervals)


def _own(facts: Facts) -> _Subject:
    """The facts' own subject (what "it", "its notes" and "the scale" refer to)."""
    return _Subject(
        facts.key or facts.subject,
        facts.kind,
        facts.tonic or "",
        facts.members,
        facts.formula,
        facts.interval_formula,
        facts.relative,
        facts.parallel,
    )


def _mention(m: re.Match[str], facts: Facts) -> _Subject | None:
    """A scale, key or chord named in words ("C melodic minor", "the major scale")."""
    note, kind, noun = m.group(1), m.group(2).lower(), (m.group(3) or "").lower()
    if note is None and not noun and kind not in _MODES and "pentatonic" not in kind:
        return None  # a bare "major" or "minor" is a quality, not a subject
    if note and note[0] != m.group(1)[0].upper():
        return None
    chordish = noun in {"chord", "triad"} or (
        not noun and facts.kind == "chord" and kind in {"major", "minor", "diminished"}
    )
    if chordish:
        if note is None:
            return None
        return _chord(note + {"major": "", "minor": "m", "diminished": "dim"}.get(kind, "?"))
    return _scale(note or facts.tonic or "C", kind)


def _subject_before(sentence: str, end: int, facts: Facts, *, skip: int = -1) -> _Subject:
    """The last scale, key or chord named before ``end`` (else the facts' own subject)."""
    found: list[tuple[int, _Subject]] = []
    for m in _MENTION_RE.finditer(sentence[:end]):
        if m.start() == skip:
            continue
        subject = _mention(m, facts)
        if subject is not None:
            found.append((m.start(), subject))
    for m in _CHORD_RE.finditer(sentence[:end]):
        if m.start() == skip:
            continue
        subject = _chord(m.group(1))
        if subject is not None:
            found.append((m.start(), subject))
    if not found:
        return _own(facts)
    return max(found, key=lambda pair: pair[0])[1]


_STARTERS = frozenset(
    (
        *("its", "it", "the", "this", "that", "these", "those", "in", "an", "unlike", "here"),
        *("there", "both", "each", "from", "moving", "and", "so", "then", "when", "with"),
        *("because", "since", "as", "however", "also", "thus"),
    )
)


def _sentences(text: str) -> Iterator[str]:
    """Sentences, with a capitalized first word in lower case ("Its notes" -> "its notes")
    so that readers match it; note names and chords keep their capital."""
    for m in re.finditer(r"[^.!?;\n]+(?:[.!?;]+|$)", text):
        sentence = m.group(0)
        first = re.match(r"(\W*)([A-Z][a-z]+)\b", sentence)
        if first and first.group(2).lower() in _STARTERS:
            start = first.start(2)
            sentence = sentence[:start] + sentence[start].lower() + sentence[start + 1 :]
        yield sentence


def _pcs(notes: tuple[str, ...]) -> frozenset[int]:
    return frozenset(p for p in (_pc(n) for n in notes) if p is not None)


def _list(notes: tuple[str, ...] | list[str]) -> str:
    return ", ".join(notes)
