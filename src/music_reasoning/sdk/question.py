"""Route a plain question to the theory layer it is about, then explain it grounded.

"What notes are in a G7 chord?" names one chord symbol: it is answered as
``chord.explain("G7")``.  "How does Dm7 G7 Cmaj7 work?" names several: a progression.
"Spell D dorian" / "the A harmonic minor scale" name a scale.  A question that names
none of them is not answered here (``None``): the caller may ask the model alone.
"""

from __future__ import annotations

import re

from music_reasoning.errors import InvalidInputError
from music_reasoning.sdk._types import ExplanationResult
from music_reasoning.sdk.api import chord, progression, scale
from music_reasoning.theory import build_chord

__all__ = ["explain_question", "find_subject"]

_ROOT = r"[A-G](?:#|b|♯|♭)?"
_SCALE_RE = re.compile(
    rf"(?<![\w#])({_ROOT}) (?i:((?:natural |harmonic |melodic )?minor|major|ionian|dorian"
    r"|phrygian|lydian|mixolydian|aeolian|locrian|(?:major |minor )?pentatonic|blues"
    r"|whole[ -]tone|diminished)(?: (scale|mode|chord|triad|key))?)\b"
    r"(?! (?:second|third|fourth|fifth|sixth|seventh|ninth|interval))"
)
_SYMBOL_RE = re.compile(rf"(?<![\w#/])({_ROOT}[\w#+°ø()/]*)(?=[\s,.;:!?)]|$)")


def find_subject(question: str) -> tuple[str, list[str]] | None:
    """What the question is about: ``("chord", ["G7"])``, ``("scale", ["D", "dorian"])``,
    ``("progression", ["Dm7", "G7", "Cmaj7"])``, or None."""
    m = _SCALE_RE.search(question)
    if m and (m.group(3) or "").lower() not in ("chord", "triad"):
        return "scale", [m.group(1), m.group(2).lower().replace("-", " ")]
    if m:  # "the C major chord", "an A minor triad"
        return "chord", [m.group(1) + ("m" if m.group(2).lower().endswith("minor") else "")]
    symbols = []
    for s in _SYMBOL_RE.finditer(question):
        token = s.group(1)
        if token == "A" and not re.match(r"\s+chord", question[s.end() :]):
            continue  # the article
        try:
            build_chord(token)
        except InvalidInputError:
            continue
        symbols.append(token)
    if len(symbols) > 1:
        return "progression", symbols
    if symbols:
        return "chord", symbols[:1]
    return None


def explain_question(question: str, *, use_cache: bool = True) -> ExplanationResult | None:
    """Answer a question about a chord, scale or progression from the facts (None: it
    names none; bad input raises ``INVALID_INPUT`` as the SDK calls do)."""
    subject = find_subject(question)
    if subject is None:
        return None
    kind, words = subject
    if kind == "scale":
        return scale.explain(words[0], words[1], use_cache=use_cache)
    if kind == "progression":
        return progression.analyze(words, use_cache=use_cache)
    return chord.explain(words[0], use_cache=use_cache)
