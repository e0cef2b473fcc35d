"""Chord progressions: key, roman numerals, functions, cadences and named patterns.

Pipeline: parse every symbol (:func:`._symbols.parse_symbol`), find named patterns
(:mod:`._patterns`), score the 24 keys (:mod:`._keys`, patterns count as evidence), then
read every chord in the winning key (:mod:`._roman`) with its spelling adjusted to the
key, and list the cadences.  Pass ``key=`` to skip detection.
"""

from __future__ import annotations

from collections.abc import Sequence

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory._keys import ChordItem, Key, detect_key, parse_key, respell
from music_reasoning.theory._patterns import find_cadences, find_patterns
from music_reasoning.theory._roman import applied_target, function_of, roman_numeral
from music_reasoning.theory._symbols import parse_symbol
from music_reasoning.theory._types import AnalyzedChord, Cadence, Pattern, ProgressionInfo
from music_reasoning.theory.chords import full_intervals, spec_to_info
from music_reasoning.theory.notes import split_tokens

__all__ = ["analyze_progression"]

MAX_PROGRESSION_CHORDS = 256


def _analyze_chord(item: ChordItem, key: Key, next_item: ChordItem | None) -> AnalyzedChord:
    applied = applied_target(item, key)
    leading_to = None
    if applied is not None and applied[1] == 7:
        leading_to = (item.root_pc + 1) % 12
    spec = respell(item, key, leading_tone_of=leading_to)
    info = spec_to_info(
        spec, bass=spec.bass or spec.root, full=full_intervals(spec, with_base=False)
    )
    return AnalyzedChord(
        position=item.position,
        input=item.input,
        chord=info.symbol,
        notes=info.notes,
        roman=roman_numeral(item, spec, key, info.inversion),
        function=function_of(item, key, next_item),
    )


def analyze_progression(chords: Sequence[str], *, key: str | None = None) -> ProgressionInfo:
    """Analyse a chord progression in its most likely key.

    Args:
        chords: Chord symbols in order, e.g. ``["Dm7", "G7", "Cmaj7"]`` (one string
            separated by spaces, commas or ``|`` is accepted too).
        key: Analyse in this key instead of detecting one (``"C major"``, ``"A minor"``,
            ``"Bb"``, ``"F#m"``).  Short progressions are often ambiguous: ``C A7 Dm`` on
            its own reads as D minor (VII V7 i); with ``key="C major"`` A7 is ``V7/ii``.

    Returns:
        Key, confidence, one :class:`AnalyzedChord` per chord, cadences and patterns.

    Raises:
        InvalidInputError: If the list is empty or too long, a symbol is invalid (the
            message names it and its position), or ``key`` is not a key.

    Example:
        >>> info = analyze_progression(["Dm7", "G7", "Cmaj7"])
        >>> info.key, [a.roman for a in info.analysis]
        ('C major', ['ii7', 'V7', 'Imaj7'])
    """
    tokens = split_tokens(chords, "chord symbol")
    if not tokens:
        raise InvalidInputError(
            "A progression needs at least one chord symbol",
            suggestion="Pass chord symbols such as ['Dm7', 'G7', 'Cmaj7'].",
            details={"token": "", "count": 0},
        )
    if len(tokens) > MAX_PROGRESSION_CHORDS:
        raise InvalidInputError(
            f"Too many chords ({len(tokens)}); at most {MAX_PROGRESSION_CHORDS} are accepted",
            details={"count": len(tokens), "limit": MAX_PROGRESSION_CHORDS},
        )
    items = [ChordItem(i, token, parse_symbol(token, position=i)) for i, token in enumerate(tokens)]
    matches = find_patterns(items)
    runners: tuple[tuple[Key, float], ...] = ()
    if key is not None:
        chosen, confidence = parse_key(key), 1.0
    else:
        evidence: dict[tuple[int, str], float] = {}
        for m in matches:
            evidence[(m.tonic_pc, m.mode)] = evidence.get((m.tonic_pc, m.mode), 0.0) + m.confidence
        chosen, confidence, runners = detect_key(items, evidence)
    analysis = tuple(
        _analyze_chord(item, chosen, items[i + 1] if i + 1 < len(items) else None)
        for i, item in enumerate(items)
    )
    cadences = tuple(
        Cadence(
            type=kind,
            positions=positions,
            chords=tuple(analysis[p].chord for p in positions),
            romans=tuple(analysis[p].roman for p in positions),
        )
        for kind, positions in find_cadences(items, chosen)
    )
    patterns = tuple(
        Pattern(
            name=m.name,
            genre=m.genre,
            confidence=m.confidence,
            key=chosen.name
            if (m.tonic_pc, m.mode) == (chosen.pc, chosen.mode)
            else f"{m.tonic} {m.mode}",
            positions=m.positions,
            occurrences=m.occurrences,
        )
        for m in matches
    )
    return ProgressionInfo(
        key=chosen.name,
        confidence=confidence,
        analysis=analysis,
        cadences=cadences,
        patterns=patterns,
        alternative_keys=tuple(k.name for k, _ in runners),
        alternative_confidences=tuple(c for _, c in runners),
    )
