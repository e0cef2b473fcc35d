"""The hybrid SDK: deterministic facts, explained by a model, checked against the facts.

Layout::

    api.py       chord / scale / progression entry points, the default Hybrid
    question.py  explain_question: a plain question routed to its chord, scale or progression
    concepts.py  explain_concept: the concept knowledge base (concepts.toml), examples in any key
    hybrid.py    the decision path: tiers, weaknesses, cache, backends, verification
    facts.py     theory results -> prompt facts, checkable sets, deterministic sentences
    verify.py    finds the notes, chords and numerals an explanation names
    tiers.py     tiers, modes, the daily cloud quota
    backends.py  the local engine as a text backend
    _types.py    ExplanationResult, ErrorInfo

Example:
    >>> from music_reasoning.sdk import chord
    >>> result = chord.explain("G7")
    >>> result.data.notes
    ('G', 'B', 'D', 'F')
"""

from __future__ import annotations

from music_reasoning.sdk._types import ErrorInfo, ExplanationResult
from music_reasoning.sdk.api import chord, configure, default_hybrid, progression, scale
from music_reasoning.sdk.concepts import ConceptInfo, explain_concept
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.question import explain_question
from music_reasoning.sdk.tiers import MODES, TIERS

__all__ = [
    "MODES",
    "TIERS",
    "ConceptInfo",
    "ErrorInfo",
    "ExplanationResult",
    "Hybrid",
    "chord",
    "configure",
    "default_hybrid",
    "explain_concept",
    "explain_question",
    "progression",
    "scale",
]
