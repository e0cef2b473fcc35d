"""Follow-up questions in a grounded conversation.

"What notes are in G7?" names a chord and is answered from the facts
(:func:`~music_reasoning.sdk.question.explain_question`).  "Where does it resolve?" names
nothing, yet in a conversation it is about G7: :class:`Conversation` keeps the subject of
the last grounded answer and answers such a follow-up from the part of its lesson the
question asks about ("Resolutions", "Substitutes", ...), at another level when asked
("say that more simply"), or, for a concept, with its examples in a key the follow-up
names ("and in E flat?").  What it cannot place is left to the model with the subject's
facts in context (:meth:`Conversation.context`), and the model's answer is checked
against those facts (:meth:`Conversation.check`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from music_reasoning.sdk._types import ExplanationResult
from music_reasoning.sdk.concepts import ConceptInfo, explain_concept, find_key
from music_reasoning.sdk.facts import Facts, chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.question import explain_question, find_subject
from music_reasoning.sdk.teacher import (
    Lesson,
    Level,
    check_level,
    teach_chord,
    teach_progression,
    teach_scale,
)
from music_reasoning.sdk.verify import find_contradictions
from music_reasoning.theory import ChordInfo, ProgressionInfo, ScaleInfo

__all__ = ["Conversation"]

# What a follow-up asks about, and the lesson sections that answer it (first match wins
# per section; a question may match several topics).
_TOPICS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), headings)
    for pattern, headings in (
        (r"resol|\bgo(es)?\b|\btend|tension|\bpull|\blead", ("Resolutions", "Where it goes")),
        (r"substitut|replace|instead|\bswap", ("Substitutes", "Substitutions")),
        (r"\bkeys?\b|numeral|function|diatonic|belong|roman", ("Keys", "Key", "Chord by chord")),
        (
            r"\bbuil[dt]|\bmade\b|formula|interval|\bspell|\bnotes?\b|construct|\bsteps?\b",
            ("How it is built", "Formula", "The notes"),
        ),
        (r"invert|inversion|\bbass\b", ("Inversions",)),
        (
            r"progression|\bsongs?\b|\bused?\b|\busing\b",
            ("Common progressions", "Where it is used", "Patterns"),
        ),
        (r"differ|compar|characteri|\bsound|special", ("What makes it different",)),
        (r"cadence|\bend(s|ing)?\b", ("Cadences",)),
        (r"voice|common tones?|\bmoves?\b", ("Voice leading",)),
        (r"borrow|interchange", ("Borrowed chords",)),
        (r"secondary", ("Secondary dominants",)),
        (r"degree", ("Degrees",)),
        (r"relative|parallel|related", ("Related keys",)),
        (r"chords in|triads|sevenths|harmoni[sz]", ("Chords in the scale",)),
    )
)
_ABOUT_IT_RE = re.compile(r"\b(it|its|it's|this|that|these|those|them)\b", re.IGNORECASE)
_SIMPLER_RE = re.compile(r"simpl|easier|beginner|plain(er)? (words|english)", re.IGNORECASE)
_DEEPER_RE = re.compile(r"more detail|deeper|advanced|in depth|go further", re.IGNORECASE)


@dataclass
class _Subject:
    result: ExplanationResult
    level: Level


class Conversation:
    """A conversation that answers from the facts and remembers what it is about.

    Args:
        hybrid: The hybrid that explains new subjects (default: the process-wide one).
        level: The level to start at; "simpler" and "in more detail" move it.
        use_cache, temperature: As for :func:`explain_question`.

    A question that names a chord, scale, progression or concept starts a new subject,
    unless it is about the current one ("What can I substitute for *it*?" asks for the
    chord's substitutes, not the concept of substitution).

    Example:
        >>> talk = Conversation(hybrid=Hybrid(mode="deterministic"))
        >>> talk.ask("What is G7?").data.symbol
        'G7'
        >>> talk.ask("Where does it resolve?").lesson.sections[0][0]
        'Where it goes'
    """

    def __init__(
        self,
        *,
        hybrid: Hybrid | None = None,
        level: Level = "intermediate",
        use_cache: bool = True,
        temperature: float | None = None,
    ) -> None:
        self.hybrid = hybrid
        self.level = check_level(level)
        self.use_cache = use_cache
        self.temperature = temperature
        self._subject: _Subject | None = None

    @property
    def subject(self) -> ExplanationResult | None:
        """The last grounded answer: what follow-ups are about."""
        return self._subject.result if self._subject else None

    def reset(self) -> None:
        """Forget the subject."""
        self._subject = None

    def ask(self, question: str) -> ExplanationResult | None:
        """Answer from the facts: a question naming a subject, or a follow-up about the
        current one.  None: neither (the caller may ask the model, see :meth:`context`).

        Raises:
            InvalidInputError: as :func:`explain_question` does.
        """
        if self._subject is not None and _ABOUT_IT_RE.search(question):
            # "What can I substitute for it?" is about the subject, not the concept
            answer = self.follow_up(question) if find_subject(question) is None else None
            if answer is not None:
                return answer
        result = explain_question(
            question,
            hybrid=self.hybrid,
            use_cache=self.use_cache,
            temperature=self.temperature,
            level=self.level,
        )
        if result is not None:
            self._subject = _Subject(result, self.level)
            return result
        return self.follow_up(question)

    def follow_up(self, question: str) -> ExplanationResult | None:
        """Answer ``question`` about the current subject from its facts, or None."""
        if self._subject is None:
            return None
        level = self._level_asked(question)
        if level is not None:
            self.level = level
            result = self._reteach(level)
            if result is not None:
                self._subject = _Subject(result, level)
            return result
        current = self._subject.result
        if isinstance(current.data, ConceptInfo):
            key = find_key(question)[0]
            if key is None:
                return None
            result = explain_concept(current.data.id, key=key, level=self.level)
            self._subject = _Subject(result, self.level)
            return result
        lesson = current.lesson
        if not isinstance(lesson, Lesson):
            return None
        wanted = {h for pattern, headings in _TOPICS if pattern.search(question) for h in headings}
        sections = tuple((h, lines) for h, lines in lesson.sections if h in wanted)
        if not sections and wanted and lesson.level != "advanced":
            # the advanced lesson has every section (substitutes, inversions, ...)
            deeper = self._lesson(current.data, "advanced")
            if deeper is not None:
                lesson = deeper
                sections = tuple((h, lines) for h, lines in lesson.sections if h in wanted)
        if not sections:
            return None
        part = replace(lesson, sections=sections)
        return ExplanationResult(
            data=current.data,
            explanation=part.text,
            source="deterministic",
            verified=True,
            lesson=part,
        )

    def context(self) -> list[tuple[str, str]]:
        """Earlier turns that put the subject's facts before the model: one (question,
        answer) pair built from the facts, or nothing when there is no subject."""
        facts = self._facts()
        if facts is None:
            return []
        return [(facts.prompt(), facts.sentence)]

    def check(self, text: str) -> list[str]:
        """What in the model's ``text`` contradicts the current subject's facts (and its
        lesson); empty when nothing does or there is no subject to check against."""
        facts = self._facts()
        if facts is None or self._subject is None:
            return []
        lesson = self._subject.result.lesson
        checked = facts.widened(lesson) if isinstance(lesson, Lesson) else facts
        return find_contradictions(text, checked)

    # -- internals ------------------------------------------------------------------
    def _level_asked(self, question: str) -> Level | None:
        if _SIMPLER_RE.search(question):
            return "beginner" if self.level != "advanced" else "intermediate"
        if _DEEPER_RE.search(question):
            return "advanced" if self.level != "beginner" else "intermediate"
        return None

    def _reteach(self, level: Level) -> ExplanationResult | None:
        assert self._subject is not None
        data = self._subject.result.data
        if isinstance(data, ConceptInfo):
            return explain_concept(data.id, key=data.key, level=level)
        lesson = self._lesson(data, level)
        if lesson is None:
            return None
        return ExplanationResult(
            data=data, explanation=lesson.text, source="deterministic", verified=True, lesson=lesson
        )

    @staticmethod
    def _lesson(data: object, level: Level) -> Lesson | None:
        if isinstance(data, ChordInfo):
            return teach_chord(data, level)
        if isinstance(data, ScaleInfo):
            return teach_scale(data, level)
        if isinstance(data, ProgressionInfo):
            return teach_progression(data, level)
        return None

    def _facts(self) -> Facts | None:
        data = self._subject.result.data if self._subject else None
        if isinstance(data, ChordInfo):
            return chord_facts(data)
        if isinstance(data, ScaleInfo):
            return scale_facts(data)
        if isinstance(data, ProgressionInfo):
            return progression_facts(data)
        return None
