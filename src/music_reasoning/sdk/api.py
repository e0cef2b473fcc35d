"""``chord``, ``scale`` and ``progression``: the SDK's entry points.

Each call parses the input with the theory layer first (bad input raises
``INVALID_INPUT``), then asks the process-wide :class:`~.hybrid.Hybrid` for an
explanation.  :func:`configure` replaces that default (tier, mode, backends, cache).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from music_reasoning.config import load_settings
from music_reasoning.sdk._types import ExplanationResult
from music_reasoning.sdk.backends import LocalBackend
from music_reasoning.sdk.cache import ExplanationCache
from music_reasoning.sdk.cloud import CloudClient
from music_reasoning.sdk.facts import chord_facts, progression_facts, scale_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.teacher import Level, teach_chord, teach_progression, teach_scale
from music_reasoning.sdk.telemetry import Telemetry
from music_reasoning.theory import (
    ChordInfo,
    analyze_progression,
    build_chord,
    get_scale,
    identify_chord,
)

__all__ = [
    "build_hybrid",
    "chord",
    "configure",
    "default_hybrid",
    "parse_chord",
    "progression",
    "scale",
]

_default: Hybrid | None = None
_default_lock = threading.Lock()


def configure(**options: Any) -> Hybrid:
    """Replace the default hybrid with ``Hybrid(**options)`` (missing parts from settings)."""
    global _default
    hybrid = build_hybrid(**options)
    with _default_lock:
        _default = hybrid
    return hybrid


def default_hybrid() -> Hybrid:
    """The process-wide hybrid, built from settings on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = build_hybrid()
        return _default


def build_hybrid(**options: Any) -> Hybrid:
    """A Hybrid with the parts the settings ask for; ``options`` override any of them."""
    settings = options.pop("settings", None) or load_settings()
    if "local" not in options:
        options["local"] = LocalBackend()
    if "weaknesses" not in options and isinstance(options["local"], LocalBackend):
        options["weaknesses"] = options["local"].weaknesses()
    if "cloud" not in options:
        options["cloud"] = CloudClient.from_settings(settings)
    if "cache" not in options and settings.cache_enabled:
        options["cache"] = ExplanationCache(max_entries=settings.cache_max_entries)
    if "telemetry" not in options and settings.telemetry:
        options["telemetry"] = Telemetry(settings)
    return Hybrid(settings=settings, **options)


def parse_chord(notes_or_symbol: str | Sequence[str]) -> ChordInfo:
    """Read a chord symbol (``G7``, ``C/E``) or notes (``"C E G"``, ``["C", "E", "G"]``).

    Raises:
        InvalidInputError: the input is neither, naming the offending token.
    """
    if isinstance(notes_or_symbol, str):
        tokens = notes_or_symbol.replace(",", " ").split()
        if len(tokens) == 1:
            return build_chord(tokens[0])
        return identify_chord(tokens)
    return identify_chord(list(notes_or_symbol))


class _Chord:
    def explain(
        self,
        notes_or_symbol: str | Sequence[str],
        *,
        use_cache: bool = True,
        temperature: float | None = None,
        level: Level = "intermediate",
    ) -> ExplanationResult:
        """Explain one chord given as a symbol or as notes, at a teaching ``level``."""
        info = parse_chord(notes_or_symbol)
        lesson = teach_chord(info, level)
        return default_hybrid().explain(
            info, chord_facts(info), use_cache=use_cache, temperature=temperature, lesson=lesson
        )

    def explain_batch(
        self,
        items: Sequence[str | Sequence[str]],
        *,
        use_cache: bool = True,
        temperature: float | None = None,
        level: Level = "intermediate",
    ) -> list[ExplanationResult]:
        """Explain many chords, in order; the local model answers them in parallel."""
        infos = [parse_chord(item) for item in items]
        lessons = [teach_chord(info, level) for info in infos]
        return default_hybrid().explain_many(
            [(info, chord_facts(info)) for info in infos],
            use_cache=use_cache,
            temperature=temperature,
            lessons=lessons,
        )


class _Scale:
    def explain(
        self,
        root: str,
        type: str = "major",
        *,
        use_cache: bool = True,
        temperature: float | None = None,
        level: Level = "intermediate",
    ) -> ExplanationResult:
        """Explain a scale or mode (``scale.explain("D", "dorian")``)."""
        info = get_scale(root, type)
        lesson = teach_scale(info, level)
        return default_hybrid().explain(
            info, scale_facts(info), use_cache=use_cache, temperature=temperature, lesson=lesson
        )


class _Progression:
    def analyze(
        self,
        chords: str | Sequence[str],
        *,
        key: str | None = None,
        use_cache: bool = True,
        temperature: float | None = None,
        level: Level = "intermediate",
    ) -> ExplanationResult:
        """Analyse a progression (``"Dm7 G7 Cmaj7"`` or a list) and explain it."""
        symbols = chords.replace(",", " ").split() if isinstance(chords, str) else list(chords)
        info = analyze_progression(symbols, key=key)
        lesson = teach_progression(info, level)
        return default_hybrid().explain(
            info,
            progression_facts(info),
            use_cache=use_cache,
            temperature=temperature,
            lesson=lesson,
        )


chord = _Chord()
scale = _Scale()
progression = _Progression()
