"""Words the model may not write, computed from the facts: the verifier's rules, before decoding.

The local engine bans these words while it samples (see ``GenerationParams.banned_words``),
so the contradictions the verifier catches most often -- a note, chord, numeral or key
that the facts do not contain -- are never written; the verifier still checks every
answer afterwards.

What is banned, for a subject's :class:`~.facts.Facts`:

* every note name ``A``-``G`` with ``#``/``b`` whose pitch class is not among the facts'
  notes -- except the bare ``A``, which is also the article (``A#``, ``Ab`` are banned, and
  ``A`` where the verifier reads the note: before a comma, "and", "is" ...);
* chord symbols on those roots (``F#m``, ``F#7`` ...), and chord symbols on allowed roots
  whose sound is none of the facts' chords (``Gm`` for G7);
* roman numerals (with ``b``/``#``) not among the facts' numerals, compared as the
  verifier does (without figures); a bare ``I``, ``i`` or ``v`` only after a dash
  (``-I``), as the verifier reads them only in dashed sequences;
* "X major" / "X minor" where X is an allowed note but not a key or chord of the facts;
* for a chord, the descriptions in words the verifier refuses for it: "a minor" (and "a
  major", "a diminished", "an augmented") where the chord lacks that quality's interval
  ("Caug is a minor augmented chord"), pairs that name no chord's quality ("a minor
  diminished", "a major augmented", "a major dominant"), and "a minor seventh chord"
  (major, dominant, diminished) where it is not one ("Dm is a minor seventh chord").

``allowed_words`` lists what must stay writable where a banned word is its beginning
(``F`` banned and ``F#`` allowed in D major; "D minor" banned, "D minor seventh" fine
where the facts have a minor seventh chord).

Set ``MUSIC_REASONING_CONSTRAIN=0`` to switch the constraint off (to measure it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from music_reasoning.sdk._chord_claims import _wants
from music_reasoning.sdk._claim_text import _chord
from music_reasoning.sdk.facts import Facts
from music_reasoning.sdk.verify import chord_sound
from music_reasoning.theory.notes import pitch_class

__all__ = ["WordConstraint", "constraint_enabled", "word_constraint"]

CONSTRAIN_ENV = "MUSIC_REASONING_CONSTRAIN"

_LETTERS = "ABCDEFG"
_ACCIDENTALS = ("", "#", "b")
#: Chord suffixes a short explanation writes (the symbols on banned or wrong roots).
_SUFFIXES = ("m", "7", "m7", "maj7", "M7", "dim", "dim7", "aug", "+", "6", "m6", "9", "sus4")
#: Figures after a banned numeral whose tokens may differ from the bare numeral's.
_FIGURES = ("7", "\u00b0", "\u00f87")
_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
_BARE = {"I", "i", "v"}  # the pronoun, an abbreviation: numerals only in a dashed sequence
#: What the verifier reads as following the note A rather than the article.
_NOTE_ENDS = (",", ".", ";", ":", ")")
_NOTE_FOLLOWERS = ("and", "or", "to", "is", "are", "was", "with", "plus", "then", "as", "in", "(")
_RARE = {"E#", "B#", "Cb", "Fb"}


@dataclass(frozen=True)
class WordConstraint:
    """Words to keep out of an answer, and the words that must stay writable."""

    banned: tuple[str, ...]
    allowed: tuple[str, ...]


def constraint_enabled() -> bool:
    """Whether decoding is constrained (``MUSIC_REASONING_CONSTRAIN``: default on, 0 off)."""
    return os.environ.get(CONSTRAIN_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def _numeral_parts(roman: str) -> tuple[str, str] | None:
    """(accidental, numeral) of ``bVII7``, ``V7/V`` -> None (secondaries are kept as given)."""
    if "/" in roman:
        return None
    acc = roman[:1] if roman[:1] in "b#" else ""
    rest = roman[len(acc) :]
    for numeral in sorted((*_NUMERALS, *(n.lower() for n in _NUMERALS)), key=len, reverse=True):
        if rest.startswith(numeral) and not rest[len(numeral) : len(numeral) + 1].isalpha():
            return acc, numeral
    return None


def word_constraint(facts: Facts) -> WordConstraint:
    """The words an explanation of ``facts`` may not write (see the module notes)."""
    return _constraint(facts)


@lru_cache(maxsize=256)
def _constraint(facts: Facts) -> WordConstraint:
    banned: list[str] = []
    allowed: list[str] = []
    notes = [letter + acc for letter in _LETTERS for acc in _ACCIDENTALS]
    # E#, B#, Cb and Fb are banned where they sound wrong but never offered as the way
    # on from a banned E, B or C ("E" must not be forced into "E#" for an F).
    good = [n for n in notes if pitch_class(n) in facts.notes and n not in _RARE]
    bad = [n for n in notes if pitch_class(n) not in facts.notes]
    allowed += good
    banned += [n for n in bad if n != "A"]
    if "A" in bad:  # the article never comes before a comma or "and": there A is the note
        banned += [f"A{p}" for p in _NOTE_ENDS] + [f"A {w}" for w in _NOTE_FOLLOWERS]
    banned += [n + s for n in bad for s in _SUFFIXES]
    sounds = {s for s in (chord_sound(x) for x in facts.symbols) if s is not None}
    allowed += sorted(facts.symbols)
    for root in good:
        for suffix in _SUFFIXES:
            sound = chord_sound(root + suffix)
            if sound is not None and sound not in sounds:
                banned.append(root + suffix)
    romans = {p for p in (_numeral_parts(r) for r in facts.romans) if p is not None}
    allowed += sorted(facts.romans)
    for numeral in (*_NUMERALS, *(n.lower() for n in _NUMERALS)):
        for acc in _ACCIDENTALS:
            if (acc, numeral) in romans:
                continue
            word = acc + numeral
            if word in _BARE:
                banned.append("-" + word)
                continue
            banned += [word, *(word + f for f in _FIGURES)]
    for root in good:
        if root == "A":  # "A major triad ..." is the article
            continue
        for kind in ("major", "minor"):
            if (pitch_class(root), kind) in facts.names:
                continue
            banned.append(f"{root} {kind}")
            allowed += [f"{root} {q}" for q in facts.qualities if q.startswith(kind + " ")]
    if facts.kind == "chord":
        wrong, right = _qualities(facts.subject)
        banned += wrong
        allowed += right
    return WordConstraint(tuple(dict.fromkeys(banned)), tuple(dict.fromkeys(allowed)))


#: Descriptions of a chord in words, asked of the verifier's reader (``_wants``).
_QUALITY_WORDS = ("major", "minor", "diminished", "augmented")
_QUALITY_PAIRS = ("minor diminished", "major diminished", "major augmented", "minor augmented")
_SEVENTHS = ("minor seventh", "major seventh", "dominant seventh", "diminished seventh")
#: The interval each seventh's name also names ("C7 has a minor seventh, Bb").
_SEVENTH_INTERVAL = {"minor": "m7", "major": "M7", "diminished": "d7"}


def _qualities(symbol: str) -> tuple[list[str], list[str]]:
    """(banned, allowed) descriptions of a chord in words: the ones the verifier refuses
    for it ("Caug is a minor augmented chord", "Dm is a minor seventh chord"), decided by
    the verifier's own reader, so the two never drift apart.

    A quality word or pair is banned bare ("a minor" for Caug), and so is a seventh
    the chord lacks ("a minor seventh" for Dm); where it has the interval but is not
    that chord ("a minor seventh" of C7), only "a minor seventh chord" is banned, and
    "a minor seventh" stays writable even when "a minor" is banned ("C7 has a minor
    seventh")."""
    chord = _chord(symbol)
    if chord is None:
        return [], []
    banned: list[str] = []
    allowed: list[str] = []
    for phrase in (*_QUALITY_WORDS, *_QUALITY_PAIRS, "major dominant"):
        if _wants(phrase.split(), "chord", chord) is not None:
            banned.append(f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}")
    for phrase in _SEVENTHS:
        wrong = _wants(phrase.split(), "chord", chord) is not None
        if _SEVENTH_INTERVAL.get(phrase.split()[0]) in chord.intervals:
            allowed.append(f"a {phrase}")  # the interval is there
            if wrong:
                banned += [f"a {phrase} chord", f"a {phrase} triad"]
        elif wrong:  # "Dm is a minor seventh": without the noun the verifier still reads it
            banned.append(f"a {phrase}")
    return banned, allowed
