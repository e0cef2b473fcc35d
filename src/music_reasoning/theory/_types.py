"""Typed facts returned by the theory layer: frozen dataclasses with ``to_dict()``.

These are the only shapes that leave :mod:`music_reasoning.theory`; no music21 object is
ever exposed.  Note names use ``#`` and ``b`` (``Bb``, ``F#``, ``Ebb``); intervals use the
usual quality+number names (``P1``, ``m3``, ``M3``, ``d5``, ``m7``, ``M9``, ``A11``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "AnalyzedChord",
    "Cadence",
    "ChordInfo",
    "Pattern",
    "ProgressionInfo",
    "ScaleDegree",
    "ScaleInfo",
]


def _plain(value: Any) -> Any:
    """Turn tuples into lists recursively so the result is JSON-ready."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class ChordInfo:
    """What a chord is.

    Attributes:
        root: Root note (``G``).
        quality: Chord type in words (``dominant seventh``).
        symbol: Lead-sheet symbol, with ``/bass`` when the bass is not the root (``C/E``).
        name: Root and quality (``G dominant seventh``).
        notes: Chord tones from the root upwards in stacking order (``G B D F``); a bass
            that is not a chord tone is appended last.
        bass: Lowest note.
        intervals: Interval of each of ``notes`` above the root (``P1 M3 P5 m7``).
        inversion: 0 in root position, 1 with the third in the bass, and so on; ``None``
            when the bass is not a chord tone (``F/G``).
        alternatives: Other valid readings as symbols (``Am7/C`` for ``C6``).
        confidence: 1.0 for an exact, unambiguous chord type; lower when tones are
            missing, extra tensions had to be assumed, or readings tie.
    """

    root: str
    quality: str
    symbol: str
    name: str
    notes: tuple[str, ...]
    bass: str
    intervals: tuple[str, ...]
    inversion: int | None
    alternatives: tuple[str, ...] = ()
    confidence: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ScaleDegree:
    """One degree of a scale: ``number`` 1-based, ``note``, ``name`` and ``interval``."""

    number: int
    note: str
    name: str
    interval: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ScaleInfo:
    """A scale spelled from a root.

    Attributes:
        root: Tonic note.
        type: Canonical scale type (``natural_minor``).
        notes: One octave, without repeating the tonic.
        intervals: Interval of each note above the root.
        formula: Steps between consecutive notes up to the octave: ``W`` whole step,
            ``H`` half step, ``W+H`` three semitones (``W-H-W-W-H-W+H-H``).
        degrees: Every note with its degree number and functional name.
        relative: The relative key or scale (``A minor`` for C major) when meaningful.
        parallel: The parallel key or scale (``C minor`` for C major) when meaningful.
    """

    root: str
    type: str
    notes: tuple[str, ...]
    intervals: tuple[str, ...]
    formula: str
    degrees: tuple[ScaleDegree, ...]
    relative: str | None = None
    parallel: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class AnalyzedChord:
    """One chord of a progression read in the detected key.

    Attributes:
        position: Index of the chord in the input.
        input: The symbol as given.
        chord: The symbol respelled for the key (``A#`` becomes ``Bb`` in F major).
        notes: Chord tones spelled for the key.
        roman: Roman numeral (``ii7``, ``V7``, ``Imaj7``, ``bVII7``, ``V7/vi``, ``viiø7``,
            ``I6`` for a first inversion).
        function: ``tonic``, ``predominant``, ``dominant`` or ``other``.
    """

    position: int
    input: str
    chord: str
    notes: tuple[str, ...]
    roman: str
    function: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Cadence:
    """A cadence: ``type`` (authentic, plagal, half, deceptive, backdoor) and where."""

    type: str
    positions: tuple[int, ...]
    chords: tuple[str, ...]
    romans: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named progression pattern found in the input.

    Attributes:
        name: ``ii-V-I``, ``I-V-vi-IV``, ``12-bar blues``, ``backdoor ii-V`` ...
        genre: The style it suggests (``jazz``, ``pop``, ``blues`` ...).
        confidence: 0-1; lower for looser matches (triads instead of sevenths, partial).
        key: The key the pattern implies (a ii-V-I names its target).
        positions: Chord indices of the first occurrence.
        occurrences: How many times it occurs.
    """

    name: str
    genre: str
    confidence: float
    key: str
    positions: tuple[int, ...]
    occurrences: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ProgressionInfo:
    """A chord progression analysed in its most likely key.

    Attributes:
        key: ``C major`` or ``A minor`` style key name.
        confidence: 0-1 confidence in ``key`` (1.0 when the caller supplied the key).
        analysis: One entry per input chord.
        cadences: Cadences in order of position.
        patterns: Named patterns, best first.
        alternative_keys: Other plausible keys, best first (most chords fit, score close).
        alternative_confidences: The confidence of each alternative key, in order.
    """

    key: str
    confidence: float
    analysis: tuple[AnalyzedChord, ...]
    cadences: tuple[Cadence, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    alternative_keys: tuple[str, ...] = ()
    alternative_confidences: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[no-any-return]
