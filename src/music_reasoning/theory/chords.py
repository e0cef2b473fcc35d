"""Chords: identify a set of notes, or build a chord from its symbol.

Identification matches the input's pitch classes against every known chord type on every
input note as a candidate root (see :mod:`._chord_table`).  A reading may leave out
omittable tones (usually the fifth; the ninth and eleventh of 11th/13th chords) or add
tensions above a seventh chord (b9, 9, #9, 11, #11, b13, 13).  Readings rank by:

1. score: 1.0 exact; x0.85 per missing tone; x0.8 per assumed tension;
2. root in the bass (so ``C E G A`` is ``C6`` and ``A C E G`` is ``Am7``);
3. simpler chord type first.

The winner's confidence is its score, times 0.9 when another root ties and the bass does
not decide.  Sets that fit no chord type fall back to music21's root finder with
confidence 0.3.  Spelling keeps the input's spelling when it is already a correct
spelling of the chord, else picks the enharmonic root with the fewest accidentals
(``A# D F`` becomes ``Bb D F``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import _backend
from music_reasoning.theory._chord_table import (
    INTERVAL_SEMITONES,
    TEMPLATES,
    TENSION_BY_OFFSET,
    ChordTemplate,
)
from music_reasoning.theory._symbols import ChordSpec, derive_mods, make_spec, parse_symbol
from music_reasoning.theory._types import ChordInfo
from music_reasoning.theory.notes import (
    LETTER_PC,
    Note,
    accidental_count,
    enharmonic_spellings,
    parse_note,
    pitch_class,
    split_tokens,
)

__all__ = ["build_chord", "full_intervals", "identify_chord", "spec_to_info"]

MAX_CHORD_NOTES = 24
_ALTERNATIVE_MIN_SCORE = 0.7
_MAX_ALTERNATIVES = 4
_ODD_ROOTS = frozenset({"B#", "E#", "Cb", "Fb"})


@dataclass(frozen=True, slots=True)
class _Reading:
    root_pc: int
    template: ChordTemplate
    index: int
    present: tuple[str, ...]
    tensions: tuple[tuple[str, str], ...]
    score: float

    def rank(self, bass_pc: int) -> tuple[float, bool, int]:
        return (-self.score, self.root_pc != bass_pc, self.index)


def _tensions(
    extras: set[int], offsets: set[int], template: ChordTemplate
) -> list[tuple[str, str]] | None:
    out = []
    for off in sorted(extras):
        if off not in TENSION_BY_OFFSET:
            return None
        if off == 3 and 4 not in template.offsets:
            return None
        if off in (6, 8) and 7 not in offsets:
            return None
        out.append(TENSION_BY_OFFSET[off])
    return out


def _readings(pcs: list[int]) -> list[_Reading]:
    """Every way to read the pitch classes as (root, chord type [, tensions])."""
    readings = []
    for root in pcs:
        offsets = {(pc - root) % 12 for pc in pcs}
        for index, template in enumerate(TEMPLATES):
            semis = {i: INTERVAL_SEMITONES[i] % 12 for i in template.intervals}
            required = {s for i, s in semis.items() if i not in template.omittable}
            if not required <= offsets:
                continue
            extras = offsets - set(semis.values())
            if len(extras) > 3:
                continue
            tensions = _tensions(extras, offsets, template) if extras else []
            if tensions is None:
                continue
            present = tuple(i for i, s in semis.items() if s in offsets)
            missing = len(template.intervals) - len(present)
            score = 0.85**missing * 0.8 ** len(tensions)
            readings.append(_Reading(root, template, index, present, tuple(tensions), score))
    return readings


def _spell_reading(reading: _Reading, spellings: dict[int, str]) -> ChordSpec:
    """Turn a reading into a spec on the best spelling of its root."""
    intervals = set(reading.present) | {iv for _, iv in reading.tensions}
    mods = derive_mods(reading.template, intervals | set(reading.template.intervals))
    given = spellings[reading.root_pc]
    spec = make_spec(given, intervals, base=reading.template, mods=mods)
    if set(spec.notes()) <= set(spellings.values()):
        return spec
    options = [given, *(n for n in enharmonic_spellings(reading.root_pc) if n != given)]
    specs = [make_spec(name, intervals, base=reading.template, mods=mods) for name in options]

    def cost(candidate: ChordSpec) -> int:
        extra = 0 if candidate.root == given else 2
        if candidate.root in _ODD_ROOTS or len(candidate.root) > 2:
            extra += 2
        return accidental_count(candidate.notes()) + extra

    return min(specs, key=cost)


def full_intervals(spec: ChordSpec, *, with_base: bool) -> tuple[str, ...]:
    """Chord tones that count for inversions, in stacking order.

    With ``with_base`` the base chord's omitted tones are included, so a seventh chord
    without its fifth still has the seventh in third inversion.
    """
    tones = set(spec.intervals) | (set(spec.base.intervals) if with_base else set())
    return tuple(sorted(tones, key=lambda i: INTERVAL_SEMITONES[i]))


def spec_to_info(
    spec: ChordSpec,
    *,
    bass: str,
    full: tuple[str, ...],
    alternatives: tuple[str, ...] = (),
    confidence: float = 1.0,
) -> ChordInfo:
    """Spell a spec into the public :class:`ChordInfo` (inversion from ``bass``)."""
    notes = spec.notes()
    intervals = spec.intervals
    by_pc = {pitch_class(n): (n, iv) for n, iv in zip(notes, intervals, strict=True)}
    bass_pc = pitch_class(bass)
    inversion: int | None
    if bass_pc in by_pc:
        bass, bass_interval = by_pc[bass_pc]
        inversion = full.index(bass_interval)
    else:
        inversion = None
        notes += (bass,)
        intervals += (_backend.interval_name(spec.root, bass),)
    slash = "" if bass_pc == pitch_class(spec.root) else f"/{bass}"
    return ChordInfo(
        root=spec.root,
        quality=spec.quality,
        symbol=f"{spec.root}{spec.suffix}{slash}",
        name=f"{spec.root} {spec.quality}",
        notes=notes,
        bass=bass,
        intervals=intervals,
        inversion=inversion,
        alternatives=alternatives,
        confidence=round(confidence, 2),
    )


def _alternatives(
    readings: list[_Reading], chosen_root: int, bass: str, spellings: dict[int, str]
) -> tuple[str, ...]:
    bass_pc = pitch_class(bass)
    out: list[str] = []
    for reading in sorted(readings, key=lambda r: r.rank(bass_pc)):
        if (
            reading.root_pc == chosen_root
            or reading.tensions
            or reading.score < _ALTERNATIVE_MIN_SCORE
        ):
            continue
        spec = _spell_reading(reading, spellings)
        bass_name = next((n for n in spec.notes() if pitch_class(n) == bass_pc), bass)
        slash = "" if reading.root_pc == bass_pc else f"/{bass_name}"
        symbol = f"{spec.root}{spec.suffix}{slash}"
        if symbol not in out:
            out.append(symbol)
        if len(out) == _MAX_ALTERNATIVES:
            break
    return tuple(out)


def _absolute(note: Note) -> int:
    return (note.octave or 0) * 12 + LETTER_PC[note.letter] + note.alter


def identify_chord(notes: Sequence[str]) -> ChordInfo:
    """Name the chord formed by ``notes``.

    The first note is the bass (when every note carries an octave, e.g. ``"E3"``, the
    lowest one is).  Duplicate pitch classes are ignored.

    Args:
        notes: Note names such as ``["E", "G", "C"]`` (a single string of names separated
            by spaces or commas is accepted too).

    Returns:
        The best reading; ``alternatives`` lists other readings (``C6`` -> ``Am7/C``).

    Raises:
        InvalidInputError: If a note name is invalid (the message names it) or fewer than
            two different pitch classes are given.

    Example:
        >>> identify_chord(["E", "G", "C"]).symbol
        'C/E'
    """
    tokens = split_tokens(notes, "note")
    if len(tokens) > MAX_CHORD_NOTES:
        raise InvalidInputError(
            f"Too many notes ({len(tokens)}); at most {MAX_CHORD_NOTES} are accepted",
            details={"count": len(tokens), "limit": MAX_CHORD_NOTES},
        )
    parsed = [parse_note(t, position=i) for i, t in enumerate(tokens)]
    spellings: dict[int, str] = {}
    for note in parsed:
        spellings.setdefault(note.pc, note.name)
    if len(spellings) < 2:
        raise InvalidInputError(
            f"A chord needs at least two different pitch classes, got {tokens!r}",
            suggestion="Pass two or more different note names, e.g. ['C', 'E', 'G'].",
            details={"token": " ".join(tokens), "notes": tokens},
        )
    if all(n.octave is not None for n in parsed):
        bass_note = min(parsed, key=_absolute)
    else:
        bass_note = parsed[0]
    bass = spellings[bass_note.pc]
    pcs = list(spellings)
    readings = _readings(pcs)
    if not readings:
        return _fallback(list(spellings.values()), bass)
    readings.sort(key=lambda r: r.rank(bass_note.pc))
    best = readings[0]
    confidence = best.score
    if len(readings) > 1:
        second = readings[1]
        if second.score == best.score and best.root_pc != bass_note.pc:
            confidence *= 0.9
    spec = _spell_reading(best, spellings)
    return spec_to_info(
        spec,
        bass=bass,
        full=full_intervals(spec, with_base=not spec.mods),
        alternatives=_alternatives(readings, best.root_pc, bass, spellings),
        confidence=confidence,
    )


def _fallback(names: list[str], bass: str) -> ChordInfo:
    """Describe a note set that fits no chord type, using music21's root finder."""
    ordered = [bass, *(n for n in names if n != bass)]
    root, common_name = _backend.chord_root_and_name(tuple(ordered))
    if pitch_class(root) not in {pitch_class(n) for n in names}:
        root = bass
    root = next(n for n in names if pitch_class(n) == pitch_class(root))
    pairs = sorted(
        ((_backend.interval_name(root, n) if n != root else "P1", n) for n in names),
        key=lambda p: (
            INTERVAL_SEMITONES.get(p[0], (pitch_class(p[1]) - pitch_class(root)) % 12),
            p[0],
        ),
    )
    intervals = tuple(p[0] for p in pairs)
    full_notes = tuple(p[1] for p in pairs)
    symbol = f"{root}({','.join(intervals[1:])})"
    quality = common_name.lower() or "unidentified"
    if len(names) == 2:  # music21 names a dyad by its interval ("minor seventh")
        quality = f"{quality} dyad"
    return ChordInfo(
        root=root,
        quality=quality,
        symbol=symbol if bass == root else f"{symbol}/{bass}",
        name=f"{root} {quality}",
        notes=full_notes,
        bass=bass,
        intervals=intervals,
        inversion=None if bass != root else 0,
        alternatives=(),
        confidence=0.3,
    )


def build_chord(symbol: str) -> ChordInfo:
    """Build a chord from a lead-sheet symbol.

    Args:
        symbol: E.g. ``"C"``, ``"Am"``, ``"G7"``, ``"Cmaj7"``, ``"F#m7b5"``, ``"Bb7"``,
            ``"C7b9"``, ``"C7(b9,#11)"``, ``"C6/9"`` or a slash chord such as ``"C/E"``.

    Returns:
        The chord with its notes spelled from the root; for a slash chord, ``bass`` and
        ``inversion`` follow the bass note (``C/E`` -> inversion 1).

    Raises:
        InvalidInputError: If the symbol cannot be parsed; the message names it.

    Example:
        >>> build_chord("Bb7").notes
        ('Bb', 'D', 'F', 'Ab')
    """
    spec = parse_symbol(symbol)
    bass = spec.bass or spec.root
    notes = spec.notes()
    spellings = {pitch_class(n): n for n in notes}
    spellings.setdefault(pitch_class(bass), bass)
    alternatives = _alternatives(
        _readings(list(spellings)), pitch_class(spec.root), bass, spellings
    )
    return spec_to_info(
        spec, bass=bass, full=full_intervals(spec, with_base=False), alternatives=alternatives
    )
