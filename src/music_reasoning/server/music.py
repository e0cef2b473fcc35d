"""The SDK behind the music endpoints: one :class:`~music_reasoning.sdk.Hybrid` per mode.

Each hybrid is built once, on first use, with the server's model as its local backend,
so its model calls go to the same engine as the OpenAI routes.  The calls block (they
run the theory layer and maybe the model): routes run them on worker threads.

A chord, scale or progression is explained the way the SDK's own entry points do it:
the theory layer's data, its facts and the teacher's lesson, handed to
:meth:`Hybrid.explain` (``sdk.chord.explain`` always uses the process-wide hybrid, and
the server needs its own per mode).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from music_reasoning.sdk import ExplanationResult, Hybrid, explain_concept, explain_question
from music_reasoning.sdk.api import build_hybrid, parse_chord
from music_reasoning.sdk.facts import Facts, chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.teacher import (
    Lesson,
    Level,
    teach_chord,
    teach_progression,
    teach_scale,
)
from music_reasoning.theory import analyze_progression, get_scale

__all__ = ["ExplainOptions", "MusicService", "split_chords"]


@dataclass(frozen=True)
class ExplainOptions:
    """How to explain: SDK ``mode`` (None: the settings'), teaching ``level``, sampling."""

    mode: str | None = None
    level: Level = "intermediate"
    temperature: float | None = None
    use_cache: bool = True


def split_chords(chords: str | Sequence[str]) -> list[str]:
    """``"Dm7 G7, Cmaj7"`` or a list, as a list of chord symbols."""
    if isinstance(chords, str):
        return chords.replace(",", " ").split()
    return [c.strip() for c in chords]


class MusicService:
    """Grounded explanations with the server's model.

    Args:
        model: the model the hybrids' local backend uses (None: the default model).
        hybrid_factory: builds a hybrid for a mode (a test seam; default: the SDK's).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        hybrid_factory: Callable[[str | None], Hybrid] | None = None,
    ) -> None:
        self.model = model
        self._factory = hybrid_factory or self._build
        self._hybrids: dict[str | None, Hybrid] = {}
        self._lock = threading.Lock()

    def _build(self, mode: str | None) -> Hybrid:
        from music_reasoning.sdk.backends import LocalBackend

        options: dict[str, Any] = {"local": LocalBackend(self.model)}
        if mode is not None:
            options["mode"] = mode
        return build_hybrid(**options)

    def hybrid(self, mode: str | None) -> Hybrid:
        """The hybrid for ``mode`` (None: the settings' mode), built once."""
        with self._lock:
            if mode not in self._hybrids:
                self._hybrids[mode] = self._factory(mode)
            return self._hybrids[mode]

    def _explain(
        self, info: Any, facts: Facts, lesson: Lesson, options: ExplainOptions
    ) -> ExplanationResult:
        return self.hybrid(options.mode).explain(
            info,
            facts,
            use_cache=options.use_cache,
            temperature=options.temperature,
            lesson=lesson,
        )

    def chord(self, chord: str | Sequence[str], options: ExplainOptions) -> ExplanationResult:
        info = parse_chord(chord)
        return self._explain(info, chord_facts(info), teach_chord(info, options.level), options)

    def scale(self, root: str, kind: str, options: ExplainOptions) -> ExplanationResult:
        info = get_scale(root, kind)
        return self._explain(info, scale_facts(info), teach_scale(info, options.level), options)

    def progression(
        self, chords: str | Sequence[str], key: str | None, options: ExplainOptions
    ) -> ExplanationResult:
        info = analyze_progression(split_chords(chords), key=key)
        lesson = teach_progression(info, options.level)
        return self._explain(info, progression_facts(info), lesson, options)

    def question(self, question: str, options: ExplainOptions) -> ExplanationResult | None:
        return explain_question(
            question,
            hybrid=self.hybrid(options.mode),
            use_cache=options.use_cache,
            temperature=options.temperature,
            level=options.level,
        )

    def concept(self, concept: str, *, key: str | None, level: Level) -> ExplanationResult:
        return explain_concept(concept, key=key, level=level)
