"""What the SDK returns: :class:`ExplanationResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from music_reasoning.errors import MusicReasoningError

__all__ = ["ErrorInfo", "ExplanationResult", "Source"]

Source = Literal["local", "cloud", "cache", "deterministic"]


@dataclass(frozen=True)
class ErrorInfo:
    """Why there is no AI explanation: a stable ``code``, a message and a suggestion."""

    code: str
    message: str
    suggestion: str

    @classmethod
    def from_error(cls, exc: MusicReasoningError) -> ErrorInfo:
        return cls(exc.code, exc.message, exc.suggestion)

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "suggestion": self.suggestion}


@dataclass(frozen=True)
class ExplanationResult:
    """A grounded explanation.

    Attributes:
        data: The theory layer's result (``ChordInfo``, ``ScaleInfo`` or
            ``ProgressionInfo``) — always present, always correct.
        explanation: Prose for a person, or ``None`` when no explanation could be made
            (``error`` says why).
        error: Why AI was not used or failed; ``None`` on success.
        source: ``local`` or ``cloud`` (the model wrote it and it passed verification),
            ``cache`` (an earlier verified answer), ``deterministic`` (built from the
            facts: the tier allows no AI, a model's known weakness, an answer that kept
            contradicting the facts, or every backend failed).
        verified: True when every note, chord and numeral in ``explanation`` agrees
            with ``data``.
        corrections: What was changed on the way, in words (a regeneration, a
            replacement, a fallback), oldest first.
        metrics: Model, token counts and timings of the call that wrote the text.
        lesson: The teacher's explanation built from the facts alone (a
            :class:`~music_reasoning.sdk.teacher.Lesson`, correct by construction), at
            the level asked for; its text follows the model's verified words in
            ``explanation``, or stands alone when no model words could be used.
    """

    data: Any
    explanation: str | None
    source: Source
    verified: bool
    error: ErrorInfo | None = None
    corrections: tuple[str, ...] = ()
    metrics: dict[str, Any] | None = field(default=None, compare=False)
    lesson: Any = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``data`` through its own ``to_dict()``)."""
        return {
            "data": self.data.to_dict(),
            "explanation": self.explanation,
            "source": self.source,
            "verified": self.verified,
            "error": self.error.to_dict() if self.error else None,
            "corrections": list(self.corrections),
            "metrics": self.metrics,
            "lesson": self.lesson.to_dict() if self.lesson is not None else None,
        }
