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
from typing import Any

from music_reasoning.sdk import ExplanationResult, Hybrid, explain_concept, explain_question
from music_reasoning.sdk.api import build_hybrid, parse_chord
from music_reasoning.sdk.facts import chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.teacher import Level, teach_chord, teach_progression, teach_scale
from music_reasoning.theory import analyze_progression, get_scale

__all__ = ["MusicService", "split_chords"]


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

    def chord(
        self,
        chord: str | Sequence[str],
        *,
        mode: str | None,
        level: Level,
        temperature: float | None,
        use_cache: bool,
    ) -> ExplanationResult:
        info = parse_chord(chord)
        return self.hybrid(mode).explain(
            info,
            chord_facts(info),
            use_cache=use_cache,
            temperature=temperature,
            lesson=teach_chord(info, level),
        )

    def scale(
        self,
        root: str,
        kind: str,
        *,
        mode: str | None,
        level: Level,
        temperature: float | None,
        use_cache: bool,
    ) -> ExplanationResult:
        info = get_scale(root, kind)
        return self.hybrid(mode).explain(
            info,
            scale_facts(info),
            use_cache=use_cache,
            temperature=temperature,
            lesson=teach_scale(info, level),
        )

    def progression(
        self,
        chords: str | Sequence[str],
        *,
        key: str | None,
        mode: str | None,
        level: Level,
        temperature: float | None,
        use_cache: bool,
    ) -> ExplanationResult:
        info = analyze_progression(split_chords(chords), key=key)
        return self.hybrid(mode).explain(
            info,
            progression_facts(info),
            use_cache=use_cache,
            temperature=temperature,
            lesson=teach_progression(info, level),
        )

    def question(
        self,
        question: str,
        *,
        mode: str | None,
        level: Level,
        temperature: float | None,
        use_cache: bool,
    ) -> ExplanationResult | None:
        return explain_question(
            question,
            hybrid=self.hybrid(mode),
            use_cache=use_cache,
            temperature=temperature,
            level=level,
        )

    def concept(self, concept: str, *, key: str | None, level: Level) -> ExplanationResult:
        return explain_concept(concept, key=key, level=level)
