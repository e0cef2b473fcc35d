"""Claims about what a chord is: its quality in words and its root.

"Caug is a minor augmented chord" names only true notes and symbols, yet an augmented
chord has a major third; "Db is a major triad with the notes Db, Gb and Ab" calls the
chord Db something it is not; "Fm7 is its root" gives a chord for a note.  The words of a
description each ask for something in the chord's intervals (``minor`` a minor third,
``seventh`` a seventh, ``triad`` three notes, ...); words the reader does not know ask
for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from music_reasoning.sdk._claim_text import _NOTE, _SUFFIX, _chord, _Subject
from music_reasoning.sdk.facts import Facts

_SYMBOL = rf"{_NOTE}(?:{_SUFFIX})?(?:/{_NOTE})?"
_DESCRIPTION_RE = re.compile(
    rf"(?<![\w#/])(?P<sym>{_SYMBOL})(?![\w#/+°ø]) is (?:an? |the )(?:{_NOTE} )?"
    r"(?P<words>(?:[A-Za-z][\w-]* ){0,3}?)(?P<noun>chord|triad)\b"
)
# "Dm is a minor seventh with the notes D, F and A": the chord's type without "chord"
# (not "C to Bb is a minor seventh": an interval, see _qualities)
_ELIDED_RE = re.compile(
    rf"(?<![\w#/])(?P<sym>{_SYMBOL})(?![\w#/+°ø]) is an? (?P<words>(?:[A-Za-z][\w-]* ){{0,2}}?)"
    r"(?P<noun>seventh)(?=,? with\b|[.;]|$)"
)
_NOT_A_ROOT_CLAIM = r"(?![\s-]position)(?! of)"  # "a root-position chord", "the root of"
_ROOT_RE = re.compile(
    rf"(?<![\w#/])(?P<sym>{_SYMBOL})(?![\w#/+°ø]) is (?:its|the|a) root\b{_NOT_A_ROOT_CLAIM}"
)
# "A major seventh chord with the notes A, C#, E and G# is a root": a chord is no root
_WITH_NOTES = rf"\b(?:chord|triad) with the notes {_NOTE}(?:(?:, | and ){_NOTE})*"
_CHORD_IS_ROOT_RE = re.compile(rf"{_WITH_NOTES} is (?:a|the|its) root\b{_NOT_A_ROOT_CLAIM}")
# "A diminished chord with the notes A, C and Eb is a minor seventh": the facts' chord
_LISTED_IS_RE = re.compile(
    rf"{_WITH_NOTES} is an? (?P<words>(?:[A-Za-z][\w-]* ){{0,2}}?)(?P<noun>seventh|chord|triad)\b"
)
# "Edm7 is its root", "ab is its root", "It is its root" (not "the chord is its root")
_NOT_A_NOTE_ROOT_RE = re.compile(
    rf"(?<![\w#/])([A-G][\w#]*|[a-g][#b]?|It|it)(?![\w#]) is its root\b{_NOT_A_ROOT_CLAIM}"
)
# "Fm major": a chord symbol whose quality the next word contradicts
_SYMBOL_THEN_QUALITY_RE = re.compile(
    rf"(?<![\w#/])(?P<sym>{_NOTE}{_SUFFIX})(?![\w#/+°ø]) (?P<word>major|minor)\b"
    r"(?![ -](?:\d+(?:st|nd|rd|th)|second|third|fourth|fifth|sixth|seventh|ninth|eleventh"
    r"|thirteenth|interval|key|scale|mode)\b)"
)
_FIRST_SYMBOL_RE = re.compile(rf"(?<![\w#/])({_SYMBOL})(?![\w#/+°ø])")
_SEVENTHS = ("m7", "M7", "d7")


_TRIAD_QUALITIES = frozenset({"major", "minor"})
_ALTERED_QUALITIES = frozenset({"diminished", "augmented"})
# not "sixth": "a major sixth chord" (C6) and "a minor sixth chord" (Cm6) are chord names
_INTERVAL_SIZES = frozenset({"second", "third", "fourth", "fifth", "octave", "unison"})
_INTERVAL_QUALITIES = _TRIAD_QUALITIES | _ALTERED_QUALITIES | {"perfect"}
_SIZE_WORDS = frozenset({"semitone", "half-step", "whole-step"})
_QUARTAL = frozenset({"P1", "P4", "m7", "m3"})  # C F Bb (Eb): stacked perfect fourths


def _wants(words: list[str], noun: str, chord: _Subject) -> str | None:
    """The first word of a description the chord does not fit, or None.

    Besides what each word asks of the intervals: "minor diminished", "major
    augmented" and "major dominant" name no chord quality (unless a seventh follows the
    first two: "augmented major seventh"), "a major third chord" names an interval, and
    "a semitone ... chord" a distance."""
    has = set(chord.intervals)
    seventh = any(i in has for i in _SEVENTHS)
    words = " ".join(words).replace("half diminished", "half-diminished").split()
    words = [w for w in words if w != "fully"]  # "fully diminished seventh"
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else noun
        then = words[i + 2] if i + 2 < len(words) else noun
        pair = {word, after}
        if pair & _TRIAD_QUALITIES and pair & _ALTERED_QUALITIES and then not in ("seventh", "7th"):
            return f"{word} {after}"
        if pair == {"major", "dominant"}:  # "a major dominant seventh chord"
            return f"{word} {after}"  # ("a minor dominant" is v in minor: asks M3 below)
        if word in _SIZE_WORDS:
            return word
        # "Asus4 is a fourth chord": a sus4 is no stack of fourths (C F Bb is)
        suspended = i > 0 and words[i - 1] == "suspended"
        if word == "fourth" and after == noun and not suspended and not has <= _QUARTAL:
            return word
        if i + 2 == len(words) and after in _INTERVAL_SIZES and word in _INTERVAL_QUALITIES:
            # "a major third chord"; but C5 is "a perfect fifth chord", Caug "an augmented
            # fifth chord": named by the interval they are built on
            named = {"perfect fifth": "P5", "augmented fifth": "A5"}.get(f"{word} {after}")
            if named is None or named not in has:
                return f"{word} {after}"
        if word == "major" and after in ("seventh", "7th"):
            ok = "M7" in has
        elif word == "minor" and after in ("seventh", "7th"):
            ok = "m7" in has and "m3" in has
        elif word == "dominant" and after in ("seventh", "7th"):
            ok = "M3" in has and "m7" in has
        elif word == "diminished" and after in ("seventh", "7th"):
            ok = "d7" in has
        else:
            ok = {
                "major": "M3" in has,
                "minor": "m3" in has,
                "dominant": "M3" in has,
                "diminished": "d5" in has,
                "half-diminished": "d5" in has and "m7" in has,
                "augmented": "A5" in has,
                "suspended": not {"M3", "m3"} & has,
                "seventh": seventh,
                "7th": seventh,
            }.get(word, True)
        if not ok:
            return word
    if noun == "triad" and len(chord.notes) != 3:
        return "triad"
    return None


def _qualities(sentence: str, facts: Facts) -> Iterator[str]:
    """ "Caug is a minor augmented chord": each quality word must fit the chord."""
    own = _chord(facts.subject) if facts.kind == "chord" else None
    elided = [
        m
        for m in _ELIDED_RE.finditer(sentence)
        if not re.search(r"\b(?:to|and|from|between)\s+$", sentence[: m.start()])
    ]
    if own is not None:
        for m in _LISTED_IS_RE.finditer(sentence):
            words = m.group("words").lower().split()
            wrong = _wants(words, m.group("noun"), own)
            if wrong is not None:
                said = " ".join([*words, m.group("noun")])
                yield f"calls {own.name} a {said}; it is {own.name} ({' '.join(own.intervals)})"
    for m in [*_DESCRIPTION_RE.finditer(sentence), *elided]:
        chord = _chord(m.group("sym"))
        if own is not None and m.group("sym") == own.root and own.name != own.root:
            # "Db is a suspended fourth chord" about Dbsus4: the symbol Db is a major triad
            yield f"calls {own.name} by its root {own.root}, which is the {own.root} major triad"
            continue
        if chord is None:
            continue
        words = m.group("words").lower().split()
        wrong = _wants(words, m.group("noun"), chord)
        if wrong is not None:
            said = " ".join([*words, m.group("noun")])
            sound = " ".join(chord.intervals)
            yield f"calls {m.group('sym')} a {said}; it is {chord.name} ({sound})"


def _roots(sentence: str, facts: Facts) -> Iterator[str]:
    """ "..., and C is its root": the root of the chord the sentence is about; a chord
    called a root; a chord symbol called major or minor against its own quality."""
    for m in _CHORD_IS_ROOT_RE.finditer(sentence):
        yield f"calls a chord a root ({m.group(0)!r}); a root is a note"
    for m in _NOT_A_NOTE_ROOT_RE.finditer(sentence):
        if not re.fullmatch(_NOTE, m.group(1)):  # "Edm7 is its root", "It is its root"
            yield f"calls {m.group(1)} its root; a root is a note"
    for m in _SYMBOL_THEN_QUALITY_RE.finditer(sentence):
        chord = _chord(m.group("sym"))
        third = "M3" if m.group("word") == "major" else "m3"
        if chord is not None and third not in chord.intervals:
            yield f"calls {m.group('sym')} {m.group('word')}; it is {chord.name}"
    for m in _ROOT_RE.finditer(sentence):
        first = _FIRST_SYMBOL_RE.search(sentence)
        about = first.group(1) if first is not None and first.start() < m.start() else None
        chord = _chord(about) if about else None
        if chord is None and facts.kind == "chord":
            chord = _chord(facts.subject)
        if chord is None:
            continue
        if m.group("sym") != chord.root:
            yield f"calls {m.group('sym')} the root of {chord.name}; it is {chord.root}"


# a letter A-G and one lower-case letter that is neither a flat, a minor chord nor a word
_GARBLED_RE = re.compile(r"(?<![\w#/-])([A-G][ac-ln-z])(?![\w#])")
# English words and abbreviations of that shape
_WORDS = frozenset(
    [
        "Ad",
        "Ag",
        "Ah",
        "Ai",
        "Al",
        "An",
        "Ar",
        "As",
        "At",
        "Aw",
        "Ax",
        "Ay",
        "Be",
        "Bi",
        "By",
        "Ca",
        "Cf",
        "Ci",
        "Co",
        "Cu",
        "Da",
        "De",
        "Di",
        "Do",
        "Dr",
        "Du",
        "Dy",
        "Ed",
        "Ef",
        "Eh",
        "El",
        "En",
        "Er",
        "Es",
        "Ex",
        "Fa",
        "Fe",
        "Fl",
        "Fo",
        "Fr",
        "Fy",
        "Ga",
        "Gi",
        "Go",
        "Gr",
        "Gu",
    ]
)
_NOTE_VS_CHORD_RE = re.compile(
    rf"(?<![\w#/])(?P<a>{_NOTE})(?![\w#/]) is an? (?:semitone|half step|whole step|tone)"
    rf" (?:lower|higher|above|below)(?: than)? (?P<b>{_NOTE}(?:{_SUFFIX}))(?![\w#])"
)


def _garbled(sentence: str, facts: Facts) -> Iterator[str]:
    """A word where a note or chord belongs that is neither ("Dg is the ii chord"), and
    a note measured against a chord ("Eb is a semitone lower than Ebsus4")."""
    for m in _GARBLED_RE.finditer(sentence):
        if m.group(1) not in _WORDS:
            yield f"names {m.group(1)}, which is no note or chord"
    for m in _NOTE_VS_CHORD_RE.finditer(sentence):
        yield f"measures the note {m.group('a')} against the chord {m.group('b')}"
