"""Named progression patterns and cadences.

Patterns are matched on root motion and chord quality, independently of the detected
key: each names the key it implies (the target of a ii-V-I, the I of a pop loop), which
also feeds key detection.

=================  ================================  ========  ==========================
name               roots (from the first chord)      genre     confidence
=================  ================================  ========  ==========================
ii-V-I             m  +5 M  +10 M                    jazz      0.7 + 7ths (to 1.0)
ii-V-i             m/ø +5 M +10 m                    jazz      same
backdoor ii-V      iv7 +5 bVII7 +7 I                 jazz      0.7 + 7ths (to 1.0)
I-V-vi-IV          and its rotations (vi-IV-I-V...)  pop       0.9, 1.0 if it is the song
I-vi-IV-V          '50s progression                  doo-wop   same
I-vi-ii-V          turnaround                        jazz      same
i-bVII-bVI-V       Andalusian cadence                flamenco  same
I-IV-V             three-chord                       rock      0.6
12-bar blues       I I I I IV IV I I V IV I I/V      blues     0.8 + 0.2 x share of 7ths
=================  ================================  ========  ==========================

Cadences (in the detected key): authentic V(7)/vii° -> I anywhere; plagal IV/iv -> I
anywhere; backdoor bVII7 -> I (with a preceding iv included); deceptive V -> vi/VI/bVI at
the end or V7 -> vi anywhere; half when the progression ends on V.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from music_reasoning.theory._keys import ChordItem, Key

__all__ = ["PatternMatch", "find_cadences", "find_patterns"]

_Check = Callable[[ChordItem], bool]


def _major(c: ChordItem) -> bool:
    return c.third == "major" and "A5" not in c.spec.intervals


def _minor(c: ChordItem) -> bool:
    return c.third == "minor" and not c.diminished


def _minor_or_half(c: ChordItem) -> bool:
    return c.third == "minor"


def _not_dim(c: ChordItem) -> bool:
    return not c.diminished


@dataclass(frozen=True, slots=True)
class _Shape:
    name: str
    genre: str
    steps: tuple[tuple[int, _Check], ...]  # (semitones above the first root, check)
    tonic_step: int
    mode: str
    base: float
    group: str = ""


@dataclass(frozen=True, slots=True)
class PatternMatch:
    """A pattern occurrence set: implied tonic (pc, spelled) and mode, where, how sure."""

    name: str
    genre: str
    confidence: float
    tonic_pc: int
    tonic: str
    mode: str
    positions: tuple[int, ...]
    occurrences: int
    group: str


def _loop(
    names: tuple[str, ...],
    offsets: tuple[int, ...],
    checks: tuple[_Check, ...],
    genre: str,
    mode: str,
    group: str,
) -> list[_Shape]:
    shapes = []
    for k in range(len(names)):
        rot = list(range(k, len(names))) + list(range(k))
        first = offsets[rot[0]]
        steps = tuple(((offsets[i] - first) % 12, checks[i]) for i in rot)
        shapes.append(
            _Shape("-".join(names[i] for i in rot), genre, steps, rot.index(0), mode, 0.9, group)
        )
    return shapes


_SHAPES: list[_Shape] = [
    _Shape("ii-V-I", "jazz", ((0, _minor), (5, _major), (10, _major)), 2, "major", 0.7),
    _Shape("ii-V-i", "jazz", ((0, _minor_or_half), (5, _major), (10, _minor)), 2, "minor", 0.7),
    _Shape("backdoor ii-V", "jazz", ((0, _minor), (5, _major), (7, _major)), 2, "major", 0.7),
    *_loop(("I", "V", "vi", "IV"), (0, 7, 9, 5), (_major, _major, _minor, _major),
           "pop", "major", "axis"),
    *_loop(("I", "vi", "IV", "V"), (0, 9, 5, 7), (_major, _minor, _major, _major),
           "doo-wop", "major", "fifties"),
    _Shape("I-vi-ii-V", "jazz", ((0, _major), (9, _minor), (2, _minor), (7, _major)),
           0, "major", 0.9),
    _Shape("i-bVII-bVI-V", "flamenco", ((0, _minor), (10, _major), (8, _major), (7, _major)),
           0, "minor", 0.9),
    _Shape("I-IV-V", "rock", ((0, _major), (5, _major), (7, _major)), 0, "major", 0.6),
]  # fmt: skip
_BLUES = (
    (0, 0, 0, 0, 5, 5, 0, 0, 7, 5, 0, 0),
    (0, 0, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7),
    (0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0, 0),
    (0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7),
)


def _seventh_bonus(shape: _Shape, window: list[ChordItem]) -> float:
    if shape.name in ("ii-V-I", "ii-V-i"):
        return (
            0.1 * window[0].has_seventh + 0.15 * window[1].dominant + 0.05 * window[2].has_seventh
        )
    if shape.name == "backdoor ii-V":
        return 0.15 * window[0].has_seventh + 0.15 * window[1].dominant
    return 0.0


def _matches(shape: _Shape, window: list[ChordItem]) -> bool:
    first = window[0].root_pc
    return all(
        (c.root_pc - first) % 12 == off and check(c)
        for c, (off, check) in zip(window, shape.steps, strict=True)
    )


def _blues(items: list[ChordItem]) -> list[PatternMatch]:
    starts = []
    for start in range(len(items) - 11):
        window = items[start : start + 12]
        first = window[0].root_pc
        rel = tuple((c.root_pc - first) % 12 for c in window)
        if rel in _BLUES and all(_not_dim(c) for c in window):
            starts.append(start)
    if not starts:
        return []
    window = items[starts[0] : starts[0] + 12]
    share = sum(c.dominant for c in window) / 12
    return [
        PatternMatch(
            "12-bar blues", "blues", round(0.8 + 0.2 * share, 2), window[0].root_pc,
            window[0].spec.root, "minor" if window[0].third == "minor" else "major",
            tuple(range(starts[0], starts[0] + 12)), len(starts), "blues",
        )
    ]  # fmt: skip


def find_patterns(items: list[ChordItem]) -> list[PatternMatch]:
    """Find every named pattern; one entry per pattern (and per loop family), best first."""
    found: dict[str, PatternMatch] = {}
    for shape in _SHAPES:
        size = len(shape.steps)
        starts = [s for s in range(len(items) - size + 1) if _matches(shape, items[s : s + size])]
        if not starts:
            continue
        window = items[starts[0] : starts[0] + size]
        confidence = shape.base + _seventh_bonus(shape, window)
        if (
            shape.group
            and len(items) == size * len(starts)
            and starts == list(range(0, len(items), size))
        ):
            confidence = 1.0
        tonic = window[shape.tonic_step]
        found[shape.name] = PatternMatch(
            shape.name, shape.genre, round(min(confidence, 1.0), 2), tonic.root_pc,
            tonic.spec.root, shape.mode, tuple(range(starts[0], starts[0] + size)),
            len(starts), shape.group,
        )  # fmt: skip
    best_in_group: dict[str, PatternMatch] = {}
    for match in found.values():
        if not match.group:
            continue
        current = best_in_group.get(match.group)
        if current is None or (match.occurrences, -match.positions[0]) > (
            current.occurrences,
            -current.positions[0],
        ):
            best_in_group[match.group] = match
    kept = [m for m in found.values() if not m.group or best_in_group[m.group] is m]
    kept += _blues(items)
    return sorted(kept, key=lambda m: (-m.confidence, m.positions[0]))


def find_cadences(items: list[ChordItem], key: Key) -> list[tuple[str, tuple[int, ...]]]:
    """Return ``(type, positions)`` for every cadence in ``key``, in order."""
    out: list[tuple[str, tuple[int, ...]]] = []
    last = len(items) - 1
    for i in range(1, len(items)):
        a, b = items[i - 1], items[i]
        ra, rb = a.rel(key), b.rel(key)
        if rb == 0 and not b.diminished:
            if (ra == 7 and a.third == "major") or (ra == 11 and a.diminished):
                out.append(("authentic", (i - 1, i)))
            elif ra == 5 and a.third != "none":
                out.append(("plagal", (i - 1, i)))
            elif ra == 10 and a.dominant and b.third == "major":
                before = items[i - 2] if i >= 2 else None
                if before is not None and before.rel(key) == 5 and before.third == "minor":
                    out.append(("backdoor", (i - 2, i - 1, i)))
                else:
                    out.append(("backdoor", (i - 1, i)))
        elif ra == 7 and a.third == "major" and (i == last or a.dominant):
            deceptive = (rb == 9 and b.third == "minor") or (rb == 8 and b.third == "major")
            if deceptive:
                out.append(("deceptive", (i - 1, i)))
    if len(items) >= 2 and items[last].rel(key) == 7 and items[last].third in ("major", "none"):
        out.append(("half", (last - 1, last)))
    return out
