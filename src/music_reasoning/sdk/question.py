"""Route a plain question to the theory subject it names, then explain it grounded.

"What notes are in a G7 chord?" names one chord symbol: it is answered as a chord.
"How does Dm7 G7 Cmaj7 work?" names several: a progression.  "Spell D dorian" or "the
A harmonic minor scale" name a scale; "the B diminished triad" a chord.

A question that names a concept ("What is a tritone substitution?", "explain the plagal
cadence in E flat") and, once the key it names is set aside, no chord, scale or
progression is answered from the concept knowledge base (:mod:`.concepts`), its examples
realized in that key.  "How does the tritone sub of G7 work?" names a chord: the chord
routing comes first.  When a question is still unclear ("an E flat seventh") it is not
guessed at: ``None``, and the caller may ask the model alone.
"""

from __future__ import annotations

import re
from typing import Any

from music_reasoning.errors import InvalidInputError
from music_reasoning.sdk._types import ExplanationResult
from music_reasoning.sdk.api import default_hybrid, parse_chord
from music_reasoning.sdk.concepts import explain_concept, find_concept, find_key
from music_reasoning.sdk.facts import chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.teacher import (
    Level,
    check_level,
    teach_chord,
    teach_progression,
    teach_scale,
)
from music_reasoning.theory import analyze_progression, build_chord, get_scale

__all__ = ["explain_question", "find_subject"]

_MAX_CHARS = 1000
_ROOT = r"[A-G](?:#|b|♯|♭)?"
_SPELLED_RE = re.compile(r"\b([A-G])[ -](sharp|flat)\b")
# Chord qualities in words, longest first, and the symbol suffix each stands for.
_QUALITY_SUFFIX = {
    "half-diminished seventh": "m7b5",
    "half-diminished": "m7b5",
    "diminished seventh": "dim7",
    "dominant seventh": "7",
    "major seventh": "maj7",
    "minor seventh": "m7",
    "diminished": "dim",
    "augmented": "aug",
    "major": "",
    "minor": "m",
}
_CHORD_WORDS_RE = re.compile(
    rf"(?<![\w#])({_ROOT}) (?i:({'|'.join(_QUALITY_SUFFIX)}) (?:chord|triad)s?)\b"
)
_SCALE_RE = re.compile(
    rf"(?<![\w#])({_ROOT}) (?i:((?:major |minor )?pentatonic|(?:natural |harmonic |melodic )?"
    r"minor|major|ionian|dorian|phrygian|lydian|mixolydian|aeolian|locrian|blues"
    r"|whole[ -]tone|diminished)(?: (?:scale|mode|key))?)\b"
    r"(?! (?:an? )?(?i:second|third|fourth|fifth|sixth|seventh|ninth|interval|chord|triad|7th))"
)
_SYMBOL_RE = re.compile(rf"(?<![\w#/])({_ROOT}[\w#+°ø()/]*)(?=[\s,.;:!?)]|$)")
# After a bare root these words mean the question names something not read here.
_UNCLEAR_AFTER_ROOT = re.compile(
    r"\s+(?i:major|minor|diminished|augmented|dominant|half|seventh|sixth|ninth|sus\w*"
    r"|flat|sharp|7th|key)\b"
)
_UNCLEAR_BEFORE_ROOT = re.compile(r"(?i:\bkey of|\bin)\s+$")
_WORDS_NOT_CHORDS = {"Do", "Go", "Be", "Bee", "Ad", "Add", "Dad", "Cab", "Ebb"}


def _spell(m: re.Match[str]) -> str:
    return m.group(1) + ("#" if m.group(2) == "sharp" else "b")


def find_subject(question: str) -> tuple[str, list[str]] | None:
    """What the question is about: ``("chord", ["G7"])``, ``("scale", ["D", "dorian"])``,
    ``("progression", ["Dm7", "G7", "Cmaj7"])``, or None when it names none clearly."""
    if len(question) > _MAX_CHARS:
        return None
    text = _SPELLED_RE.sub(_spell, question)
    text = re.sub(r"(?<=[\w#+)])[-\u2013\u2014\u2192](?=[A-G])", " ", text)  # Dm7-G7-C
    m = _CHORD_WORDS_RE.search(text)
    if m:
        return "chord", [m.group(1) + _QUALITY_SUFFIX[m.group(2).lower()]]
    m = _SCALE_RE.search(text)
    if m:
        return "scale", [m.group(1), m.group(2).lower().replace("-", " ")]
    symbols = []
    for s in _SYMBOL_RE.finditer(text):
        token = s.group(1)
        bare = len(token) <= 2 and token[1:] in ("", "#", "b", "♯", "♭")
        if token == "A" and not re.match(r"\s+chord", text[s.end() :]):
            continue  # the article
        if token in _WORDS_NOT_CHORDS or (token == "Am" and s.start() == 0):
            continue  # words, not chords ("Am I right?")
        if bare and (
            _UNCLEAR_AFTER_ROOT.match(text, s.end())
            or _UNCLEAR_BEFORE_ROOT.search(text[: s.start()])
        ):
            return None  # "an E flat seventh", "the ii-V-I in C": not guessed at
        try:
            build_chord(token)
        except InvalidInputError:
            continue
        symbols.append(token)
    if len(symbols) > 1:
        return "progression", symbols
    return ("chord", symbols) if symbols else None


def explain_question(
    question: str,
    *,
    hybrid: Hybrid | None = None,
    use_cache: bool = True,
    temperature: float | None = None,
    level: Level = "intermediate",
) -> ExplanationResult | None:
    """Answer a question about a chord, scale or progression from the facts, with the
    given ``hybrid`` (default: the process-wide one), or about a concept from the
    knowledge base at ``level``.  None: it names none clearly.

    Raises:
        InvalidInputError: as the SDK's chord, scale, progression and concept calls do.
    """
    level = check_level(level)
    concept = find_concept(question)
    subject = find_subject(question)
    if concept is not None:
        concept_id, key = concept
        # "the notes in D dorian" names the scale itself: that beats the Dorian concept
        scale_type = subject[1][1] if subject is not None and subject[0] == "scale" else None
        concept_scale = concept_id.removesuffix("-mode").removesuffix("-scale").replace("-", " ")
        if scale_type != concept_scale:
            rest = find_key(question)[1] if key else question
            if find_subject(rest) is None:  # "in F# minor" is the key, not a scale
                return explain_concept(concept_id, key=key, level=level)
    if subject is None:
        return None
    kind, words = subject
    h = hybrid or default_hybrid()
    options: dict[str, Any] = {"use_cache": use_cache, "temperature": temperature}
    if kind == "scale":
        info = get_scale(words[0], words[1])
        return h.explain(info, scale_facts(info), lesson=teach_scale(info, level), **options)
    if kind == "progression":
        prog = analyze_progression(words)
        lesson = teach_progression(prog, level)
        return h.explain(prog, progression_facts(prog), lesson=lesson, **options)
    chord_info = parse_chord(words[0])
    lesson = teach_chord(chord_info, level)
    return h.explain(chord_info, chord_facts(chord_info), lesson=lesson, **options)
