"""Claim readers: statements the verifier checks as a whole, not name by name.

:func:`.verify.find_contradictions` checks that every note, chord, numeral and key an
explanation *names* belongs to the facts.  A sentence can name only true things and still
be false ("Its step formula is W-H-W-W-W-W-H-W"), so each reader here finds one kind of
statement, works out what it is about, and asks the theory layer whether it holds::

    text ─► sentences ─► reader (formula, note list, count, relative, degree ...)
                            │ parses a claim?  no ─► nothing (prose is not a claim)
                            ▼
                         subject: named in the sentence ("C melodic minor", "G7")
                            │     or else the facts' own subject ("its notes ...")
                            ▼
                         theory layer / facts ─► false? one message

A statement a reader cannot parse is never a contradiction; one it parses and finds false
always is.  Text reaches the readers already normalized (``F sharp`` -> ``F#``, ``♭`` ->
``b``) by :mod:`.verify`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from music_reasoning.errors import MusicReasoningError
from music_reasoning.sdk._chord_claims import _garbled, _qualities, _roots
from music_reasoning.sdk._claim_text import _sentences
from music_reasoning.sdk._harmony_claims import (
    _DEGREE_OF_RE,
    _cadence_pairs,
    _chord_numerals,
    _degrees,
    _functions,
    _patterns,
    _resolutions,
)
from music_reasoning.sdk._scale_claims import (
    _RELATED_RES,
    _counts,
    _enharmonic_matches,
    _enharmonics,
    _formulas,
    _interval_formulas,
    _note_lists,
    _relatives,
    _same_as,
)
from music_reasoning.sdk.facts import Facts

__all__ = ["claim_problems", "own_terms"]

# ---------------------------------------------------------------------------- all of them

_READERS: tuple[Callable[[str, Facts], Iterator[str]], ...] = (
    _formulas,
    _interval_formulas,
    _note_lists,
    _counts,
    _relatives,
    _same_as,
    _degrees,
    _functions,
    _cadence_pairs,
    _patterns,
    _resolutions,
    _enharmonics,
    _chord_numerals,
    _qualities,
    _roots,
    _garbled,
)


def own_terms(text: str) -> str:
    """``text`` with the claims checked on their own terms blanked out.

    "The relative minor of Eb major is C minor", "C# is the same as Db" and "G is the
    dominant of C" are true or false whatever the subject, so the keys and notes they name
    are not the subject's (see :func:`.verify.find_contradictions`).
    """
    spans = [m.span() for m in _RELATED_RES[0].finditer(text)]
    spans += [m.span() for m in _RELATED_RES[1].finditer(text) if m.group(5)]
    spans += [m.span() for m in _DEGREE_OF_RE.finditer(text)]
    spans += [m.span() for m in _enharmonic_matches(text)]
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def claim_problems(text: str, facts: Facts) -> list[str]:
    """One message per statement in ``text`` that a reader parses and finds false."""
    problems: list[str] = []
    for sentence in _sentences(text):
        for reader in _READERS:
            try:
                problems.extend(reader(sentence, facts))
            except MusicReasoningError:  # a claim the theory layer cannot read
                continue
    return list(dict.fromkeys(problems))
