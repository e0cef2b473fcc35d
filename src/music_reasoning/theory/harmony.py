"""Harmony facts a teacher explains with: diatonic chords, keys, resolutions, substitutes.

Every function here is pure and returns our own frozen dataclasses; chord symbols are
parsed by :func:`._symbols.parse_symbol` and every symbol returned reads back through
:func:`~music_reasoning.theory.build_chord`.  Numerals and functions in major and minor
keys come from :mod:`._roman`, so they agree with :func:`analyze_progression`.

How each fact is computed::

    diatonic_chords   stack thirds on every degree of a seven-note scale (notes i, i+2,
                      i+4 [, i+6]), name the interval set with the chord table; major and
                      minor-key scales take _roman's numerals and functions, modes take
                      numerals relative to the major scale (D dorian: i ii bIII IV v vio bVII)
    keys_containing   the chord's pitch classes inside a major, natural-minor or
                      harmonic-minor scale, with the root on a degree (24 keys)
    resolution        dominant-type chords (major third + minor seventh) go to the chord a
                      fifth below, leading-tone chords (diminished fifth above the root) to
                      the chord a half step above; the leading tone rises a half step, the
                      seventh and the diminished fifth fall by step; the pair a tritone apart
                      contracts (diminished fifth) or expands (augmented fourth)
    voice_leading     every tone of the first chord to a tone of the second with the least
                      total motion (exhaustive for small chords, nearest tone otherwise),
                      each target tone reached where possible
    substitutes       tritone substitution (same tritone, root a tritone away), relative and
                      mediant chords (three shared tones / two), rootless dominant
                      (leading-tone chord), equivalent diminished sevenths, m6 = m7b5
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from music_reasoning.theory import _backend
from music_reasoning.theory._chord_table import (
    INTERVAL_SEMITONES,
    TEMPLATES,
    template_for,
    template_matching,
)
from music_reasoning.theory._keys import ChordItem, Key
from music_reasoning.theory._roman import function_of, roman_numeral
from music_reasoning.theory._symbols import ChordSpec, parse_symbol
from music_reasoning.theory.notes import accidental_count, parse_note, pitch_class, spell_above
from music_reasoning.theory.scales import get_scale

__all__ = [
    "ChordSubstitute",
    "DiatonicChord",
    "KeyPlacement",
    "Resolution",
    "ToneMotion",
    "VoiceLeading",
    "chords_on_tonic",
    "common_tones",
    "diatonic_chords",
    "interval_between",
    "keys_containing",
    "resolution",
    "substitutes",
    "voice_leading",
]

_KEY_SCALES = ("major", "natural_minor", "harmonic_minor", "melodic_minor")
_TONICS = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
_EXHAUSTIVE_LIMIT = 5000
_DEGREE_ORDER = (1, 5, 4, 2, 6, 3, 7)
_LETTERS = "CDEFGAB"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Dict:
    """``to_dict()`` for the dataclasses below."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of all fields."""
        return _plain(asdict(self))  # type: ignore[call-overload,no-any-return]


@dataclass(frozen=True, slots=True)
class DiatonicChord(_Dict):
    """The chord built on one scale degree.

    Attributes:
        degree: 1-7.
        numeral: Roman numeral (``ii7``, ``V7``, ``viiø7``, ``III+``; ``bVII`` in a mode).
        symbol: Chord symbol (``Dm7``).
        notes: Chord tones from the root.
        quality: Chord type in words.
        function: ``tonic``, ``predominant``, ``dominant`` or ``other`` in major and minor
            keys; ``None`` in modes and other scales.
    """

    degree: int
    numeral: str
    symbol: str
    notes: tuple[str, ...]
    quality: str
    function: str | None


@dataclass(frozen=True, slots=True)
class KeyPlacement(_Dict):
    """Where a chord is diatonic.

    Attributes:
        tonic: Key tonic (``C``).
        mode: ``major`` or ``minor``.
        scales: The scales of that key containing the chord (``natural_minor``,
            ``harmonic_minor``; ``major`` for a major key).
        degree: Scale degree of the chord's root.
        numeral: Roman numeral in the key (``V7``, ``IVmaj7``).
        function: ``tonic``, ``predominant``, ``dominant`` or ``other``.
        symbol: The chord spelled in the key.
        respelled: Whether that spelling differs from the chord as given (``F#`` for
            ``Gb`` in B major; ``E#dim7`` for ``Bdim7`` in F# minor).
    """

    tonic: str
    mode: str
    scales: tuple[str, ...]
    degree: int
    numeral: str
    function: str
    symbol: str
    respelled: bool = False

    @property
    def key(self) -> str:
        """``C major`` / ``A minor``."""
        return f"{self.tonic} {self.mode}"


@dataclass(frozen=True, slots=True)
class ToneMotion(_Dict):
    """One tone moving to the next chord.

    Attributes:
        source: The note (``B``).
        target: Where it goes (``C``).
        semitones: Signed motion, -6..6 (positive is up).
        role: What the tone is (``leading tone``, ``seventh``, ``diminished fifth``,
            ``root`` ...) or ``""`` for plain voice leading.
    """

    source: str
    target: str
    semitones: int
    role: str = ""

    @property
    def kind(self) -> str:
        """``common tone``, ``half step``, ``whole step`` or ``leap``."""
        size = abs(self.semitones)
        return {0: "common tone", 1: "half step", 2: "whole step"}.get(size, "leap")


@dataclass(frozen=True, slots=True)
class Resolution(_Dict):
    """How a dominant-function chord resolves.

    Attributes:
        chord: The chord's symbol.
        kind: ``dominant`` (resolves down a fifth) or ``leading-tone`` (up a half step).
        targets: Target chords, the usual one first (``C``, ``Cm``).
        tendencies: The tendency tones with where they go (to the first target).
        tritone: The two notes a tritone apart (lower-spelled first: ``B``, ``F``), if any.
        tritone_interval: ``d5`` or ``A4`` from the first tritone note up to the second.
    """

    chord: str
    kind: str
    targets: tuple[str, ...]
    tendencies: tuple[ToneMotion, ...]
    tritone: tuple[str, str] | None
    tritone_interval: str | None


@dataclass(frozen=True, slots=True)
class VoiceLeading(_Dict):
    """The smoothest way from one chord to the next.

    Attributes:
        source: First chord symbol.
        target: Second chord symbol.
        common_tones: Notes both chords share (spelled as in the first chord).
        motions: One per tone of the first chord, in its order.
        total: Sum of absolute semitone motions.
    """

    source: str
    target: str
    common_tones: tuple[str, ...]
    motions: tuple[ToneMotion, ...]
    total: int


@dataclass(frozen=True, slots=True)
class ChordSubstitute(_Dict):
    """A chord that can stand in for another.

    Attributes:
        symbol: The substitute (``Db7``).
        relation: ``tritone substitution``, ``relative minor``, ``relative major``,
            ``mediant``, ``rootless dominant``, ``same diminished seventh``,
            ``same notes``.
        shared: Notes of the original chord the substitute also contains.
    """

    symbol: str
    relation: str
    shared: tuple[str, ...]


def _spec(symbol: str) -> ChordSpec:
    return parse_symbol(symbol)


def _symbol(root: str, template_key: str) -> str:
    return root + template_for(template_key).suffix


def _pcs(notes: tuple[str, ...] | list[str]) -> frozenset[int]:
    return frozenset(pitch_class(n) for n in notes)


def _tone_symbol(root: str, notes: tuple[str, ...]) -> tuple[str, str]:
    """Name the chord on ``root`` made of ``notes`` (stacked from the root)."""
    intervals = frozenset("P1" if n == root else _backend.interval_name(root, n) for n in notes)
    template = template_matching(intervals)
    if template is not None:
        return root + template.suffix, template.key
    from music_reasoning.theory.chords import identify_chord

    info = identify_chord(list(notes))
    return info.symbol, ""


def _mode_numeral(interval: str, spec: ChordSpec, degree: int) -> str:
    numeral = ("I", "II", "III", "IV", "V", "VI", "VII")[degree - 1]
    upper = "m3" not in spec.intervals
    accidental = {"m": "b", "d": "b", "A": "#"}.get(interval[0], "")
    if interval in ("P1", "P4", "P5"):
        accidental = ""
    return accidental + (numeral if upper else numeral.lower()) + spec.base.roman_suffix


@lru_cache(maxsize=512)
def diatonic_chords(
    tonic: str, scale: str = "major", *, sevenths: bool = False
) -> tuple[DiatonicChord, ...]:
    """The triads (or seventh chords) built on every degree of a seven-note scale.

    Args:
        tonic: Tonic note (``"C"``).
        scale: A seven-note scale type of :func:`get_scale` (``major``, ``harmonic minor``,
            ``dorian`` ...).
        sevenths: Seventh chords instead of triads.

    Returns:
        One chord per degree; empty for scales without seven notes.

    Raises:
        InvalidInputError: If the tonic or scale type is invalid.

    Example:
        >>> [c.symbol for c in diatonic_chords("C", "major", sevenths=True)][:3]
        ['Cmaj7', 'Dm7', 'Em7']
    """
    info = get_scale(tonic, scale)
    if len(info.notes) != 7:
        return ()
    key: Key | None = None
    if info.type in _KEY_SCALES:
        key = Key(info.root, "major" if info.type == "major" else "minor")
    out = []
    for i in range(7):
        stack = tuple(info.notes[(i + step) % 7] for step in (0, 2, 4, 6)[: 4 if sevenths else 3])
        symbol, _ = _tone_symbol(stack[0], stack)
        spec = _spec(symbol)
        if key is not None:
            item = ChordItem(0, symbol, spec)
            numeral = roman_numeral(item, spec, key, 0)
            function: str | None = function_of(item, key, None)
        else:
            numeral = _mode_numeral(info.intervals[i], spec, i + 1)
            function = None
        out.append(
            DiatonicChord(
                degree=i + 1,
                numeral=numeral,
                symbol=symbol,
                notes=stack,
                quality=spec.quality,
                function=function,
            )
        )
    return tuple(out)


@lru_cache(maxsize=128)
def _scale_pcs(tonic: str, scale: str) -> frozenset[int]:
    return _pcs(get_scale(tonic, scale).notes)


@lru_cache(maxsize=1024)
def keys_containing(symbol: str) -> tuple[KeyPlacement, ...]:
    """The major and minor keys in which a chord is diatonic, with its numeral there.

    A minor key counts when the chord fits its natural or harmonic minor scale
    (``scales`` says which).  Major keys come first, each mode ordered by the chord's
    degree: I, V, IV, ii, vi, iii, vii (so the key where the chord is the tonic leads).

    Args:
        symbol: A chord symbol; a slash bass outside the chord (``C/Bb``) must be in
            the key too.

    Raises:
        InvalidInputError: If the symbol is invalid.

    Example:
        >>> [(p.key, p.numeral) for p in keys_containing("G7")]
        [('C major', 'V7'), ('C minor', 'V7'), ('A minor', 'VII7')]
    """
    given = _spec(symbol)
    spec = given.with_root(given.root, None)
    root_pc = pitch_class(spec.root)
    chord_pcs = frozenset((root_pc + o) % 12 for o in spec.pcs)
    # A bass outside the chord (C/Bb) sounds too: the key must hold it as well.
    extra = None if given.bass is None else pitch_class(given.bass)
    extra = None if extra in chord_pcs else extra
    # The root first; then, for symmetric chords (dim7, aug), any tone that builds the
    # same sound (B-D-F-Ab is E#-G#-B-D in F# minor: viio7 there, not ivo7).
    roots = [
        root_pc,
        *sorted(
            p
            for p in chord_pcs - {root_pc}
            if frozenset((p + o) % 12 for o in spec.pcs) == chord_pcs
        ),
    ]
    out = []
    for mode in ("major", "minor"):
        scales = ("major",) if mode == "major" else ("natural_minor", "harmonic_minor")
        for tonic in _TONICS[mode]:
            found = [
                (s, root)
                for s in scales
                for root in [_diatonic_root(spec, roots, get_scale(tonic, s).notes)]
                if root is not None and (extra is None or extra in _scale_pcs(tonic, s))
            ]
            if not found:
                continue
            key = Key(tonic, mode)
            spelled = spec.with_root(found[0][1], None)
            item = ChordItem(0, spelled.root + spelled.suffix, spelled)
            degree, _ = _backend.key_degree(tonic, mode, spelled.root)
            out.append(
                KeyPlacement(
                    tonic=tonic,
                    mode=mode,
                    scales=tuple(s for s, _ in found),
                    degree=degree,
                    numeral=roman_numeral(item, spelled, key, 0),
                    function=function_of(item, key, None),
                    symbol=spelled.root + spelled.suffix,
                    respelled=spelled.root != spec.root,
                )
            )
    return tuple(sorted(out, key=lambda p: (p.mode != "major", _DEGREE_ORDER.index(p.degree))))


def _diatonic_root(spec: ChordSpec, roots: list[int], scale: tuple[str, ...]) -> str | None:
    """The scale's spelling of a root on which every chord tone is a diatonic step away.

    Each tone must be the scale's own note, on the letter its interval number names (a
    third two letters up, a seventh six): a chord matched by sound alone is not in the
    key (B-D-E#-G# sounds like Bdim7 but is no stack of thirds in F# minor).
    """
    by_pc = {pitch_class(n): n for n in scale}
    for root_pc in roots:
        root = by_pc.get(root_pc)
        if root is None:
            continue
        first = _LETTERS.index(root[0])
        for interval in spec.intervals:
            note = by_pc.get((root_pc + INTERVAL_SEMITONES[interval]) % 12)
            number = int("".join(ch for ch in interval if ch.isdigit()))
            if note is None or _LETTERS.index(note[0]) != (first + number - 1) % 7:
                break
        else:
            return root
    return None


def _motion(source: str, target: str) -> int:
    """Signed shortest motion in semitones from one pitch class to another (-6..6, up +6)."""
    diff = (pitch_class(target) - pitch_class(source)) % 12
    return diff - 12 if diff > 6 else diff


def _resolve_tone(note: str, targets: tuple[str, ...], *, down: bool) -> tuple[str, int]:
    """The nearest target tone strictly below (``down``) or above ``note`` by at most 2."""
    best: tuple[str, int] | None = None
    for t in targets:
        m = _motion(note, t)
        near = (down and -2 <= m < 0) or (not down and 0 < m <= 2)
        if near and (best is None or abs(m) < abs(best[1])):
            best = (t, m)
    if best is None:
        t = min(targets, key=lambda t: abs(_motion(note, t)))
        return t, _motion(note, t)
    return best


@lru_cache(maxsize=1024)
def resolution(symbol: str, target: str | None = None) -> Resolution | None:
    """How a dominant-function chord resolves, or ``None`` for other chords.

    Dominant-type chords (major third and minor seventh: ``G7``, ``G9``, ``G7b9``) resolve
    to the chord whose root is a fifth below (``C``, or ``Cm``); leading-tone chords
    (diminished fifth: ``Bdim``, ``Bdim7``, ``Bm7b5``) to the chord a half step above.

    Args:
        symbol: The chord.
        target: Lead the tendency tones into this chord instead of the usual target
            (``A7`` into ``Dm``: the seventh G falls to F).

    Raises:
        InvalidInputError: If a symbol is invalid.

    Example:
        >>> r = resolution("G7")
        >>> r.targets, r.tritone, [(t.source, t.target) for t in r.tendencies]
        (('C', 'Cm'), ('B', 'F'), [('B', 'C'), ('F', 'E')])
    """
    spec = _spec(symbol)
    notes = spec.notes()
    by_interval = dict(zip(spec.intervals, notes, strict=True))
    tendencies: list[ToneMotion] = []
    roles: tuple[tuple[str, str, bool], ...]
    if "M3" in by_interval and "m7" in by_interval:
        kind = "dominant"
        target_root = spell_above(spec.root, "P4")
        targets = (_symbol(target_root, "maj"), _symbol(target_root, "min"))
        leading, other = by_interval["M3"], by_interval["m7"]
        roles = (("M3", "leading tone", False), ("m7", "seventh", True))
    elif "m3" in by_interval and "d5" in by_interval and "M3" not in by_interval:
        kind = "leading-tone"
        target_root = spell_above(spec.root, "m2")
        major_first = spec.base.key == "m7b5"
        pair = (_symbol(target_root, "maj"), _symbol(target_root, "min"))
        targets = pair if major_first else pair[::-1]
        if spec.base.key == "dim":
            targets = pair
        leading, other = by_interval["P1"], by_interval["d5"]
        roles = (("P1", "leading tone", False), ("d5", "diminished fifth", True))
        if "d7" in by_interval:
            roles += (("d7", "diminished seventh", True),)
        elif "m7" in by_interval:
            roles += (("m7", "seventh", True),)
    else:
        return None
    goal = _spec(target if target is not None else targets[0]).notes()
    for interval, role, down in roles:
        note = by_interval[interval]
        if role == "leading tone":
            tendencies.append(ToneMotion(note, goal[0], _motion(note, goal[0]), role))
        else:
            target, moved = _resolve_tone(note, goal, down=down)
            tendencies.append(ToneMotion(note, target, moved, role))
    return Resolution(
        chord=spec.root + spec.suffix,
        kind=kind,
        targets=targets,
        tendencies=tuple(tendencies),
        tritone=(leading, other),
        tritone_interval=_backend.interval_name(leading, other),
    )


def common_tones(a: str, b: str) -> tuple[str, ...]:
    """Notes two chords share, in the first chord's order and spelling.

    Raises:
        InvalidInputError: If a symbol is invalid.

    Example:
        >>> common_tones("C", "Am")
        ('C', 'E')
    """
    other = _pcs(_spec(b).notes())
    return tuple(n for n in _spec(a).notes() if pitch_class(n) in other)


def _nearest(note: str, targets: tuple[str, ...]) -> str:
    return min(targets, key=lambda t: abs(_motion(note, t)))


@lru_cache(maxsize=2048)
def voice_leading(a: str, b: str) -> VoiceLeading:
    """Move every tone of chord ``a`` to a tone of chord ``b`` with the least motion.

    Every tone of ``b`` is reached when ``a`` has at least as many tones; ties prefer
    fewer leaps.  Large chords (over ~5000 pairings) use the nearest tone per voice.

    Raises:
        InvalidInputError: If a symbol is invalid.

    Example:
        >>> [(m.source, m.target, m.semitones) for m in voice_leading("G7", "C").motions]
        [('G', 'G', 0), ('B', 'C', 1), ('D', 'C', -2), ('F', 'E', -1)]
    """
    src, dst = _spec(a).notes(), _spec(b).notes()
    if len(dst) ** len(src) <= _EXHAUSTIVE_LIMIT:

        def cost(combo: tuple[str, ...]) -> tuple[int, int, int]:
            moves = [abs(_motion(s, t)) for s, t in zip(src, combo, strict=True)]
            return len(set(dst) - set(combo)), sum(moves), sum(m > 2 for m in moves)

        chosen = min(itertools.product(dst, repeat=len(src)), key=cost)
    else:
        chosen = tuple(_nearest(s, dst) for s in src)
    motions = tuple(ToneMotion(s, t, _motion(s, t)) for s, t in zip(src, chosen, strict=True))
    return VoiceLeading(
        source=a,
        target=b,
        common_tones=common_tones(a, b),
        motions=motions,
        total=sum(abs(m.semitones) for m in motions),
    )


def _simplest(root: str, options: tuple[str, ...]) -> str:
    """The spelling of ``interval`` above ``root`` with the fewest accidentals."""
    names = [spell_above(root, o) for o in options]
    return min(names, key=lambda n: (accidental_count([n]), names.index(n)))


def _substitute(original: tuple[str, ...], symbol: str, relation: str) -> ChordSubstitute:
    notes = _pcs(_spec(symbol).notes())
    return ChordSubstitute(symbol, relation, tuple(n for n in original if pitch_class(n) in notes))


@lru_cache(maxsize=1024)
def substitutes(symbol: str) -> tuple[ChordSubstitute, ...]:
    """Chords that commonly stand in for ``symbol``, each with the notes they share.

    * dominant-type chords: the tritone substitute (``Db7`` for ``G7``) and the
      leading-tone chord on the third (``Bdim``: the dominant without its root);
    * major and major seventh chords: the relative minor (``Am``/``Am7`` for ``C``/``Cmaj7``)
      and the mediant (``Em``/``Em7``);
    * minor and minor seventh chords: the relative major (``C``/``Cmaj7`` for ``Am``/``Am7``);
    * diminished sevenths: the three others with the same notes;
    * half-diminished sevenths and minor sixths: each other (``Bm7b5`` = ``Dm6``).

    Raises:
        InvalidInputError: If the symbol is invalid.

    Example:
        >>> [(s.symbol, s.relation) for s in substitutes("G7")]
        [('Db7', 'tritone substitution'), ('Bdim', 'rootless dominant')]
    """
    spec = _spec(symbol)
    notes = spec.notes()
    root, base = spec.root, spec.base.key
    out: list[ChordSubstitute] = []
    if "M3" in spec.intervals and "m7" in spec.intervals:
        tritone_root = _simplest(root, ("d5", "A4"))
        out.append(_substitute(notes, tritone_root + spec.suffix, "tritone substitution"))
        out.append(_substitute(notes, _symbol(spell_above(root, "M3"), "dim"), "rootless dominant"))
    elif base in ("maj", "maj7", "6") and not spec.mods:
        minor = "m7" if base == "maj7" else "min"
        out.append(_substitute(notes, _symbol(spell_above(root, "M6"), minor), "relative minor"))
        out.append(_substitute(notes, _symbol(spell_above(root, "M3"), minor), "mediant"))
    elif base in ("min", "m7") and not spec.mods:
        major = "maj7" if base == "m7" else "maj"
        out.append(_substitute(notes, _symbol(spell_above(root, "m3"), major), "relative major"))
    elif base == "dim7" and not spec.mods:
        for interval in ("m3", "d5", "d7"):
            other = _simplest(root, (interval, {"m3": "A2", "d5": "A4", "d7": "M6"}[interval]))
            out.append(_substitute(notes, _symbol(other, "dim7"), "same diminished seventh"))
    elif base == "m7b5" and not spec.mods:
        out.append(_substitute(notes, _symbol(spell_above(root, "m3"), "m6"), "same notes"))
    elif base == "m6" and not spec.mods:
        out.append(_substitute(notes, _symbol(spell_above(root, "M6"), "m7b5"), "same notes"))
    return tuple(out)


def interval_between(low: str, high: str) -> str:
    """Name the ascending interval from ``low`` up to ``high`` within an octave (``m3``).

    Raises:
        InvalidInputError: If a note name is invalid.

    Example:
        >>> interval_between("B", "F")
        'd5'
    """
    return _backend.interval_name(parse_note(low).name, parse_note(high).name)


@lru_cache(maxsize=512)
def chords_on_tonic(tonic: str, scale: str) -> tuple[str, ...]:
    """Chord symbols on the scale's tonic whose every tone is in the scale, richest first.

    Only chord types of three or more tones count; ties keep the chord table's order
    (simpler first).  The chromatic scale contains them all.

    Raises:
        InvalidInputError: If the tonic or scale type is invalid.

    Example:
        >>> chords_on_tonic("C", "minor pentatonic")[:2]
        ('Cm7', 'C7sus4')
    """
    info = get_scale(tonic, scale)
    pcs = _pcs(info.notes)
    fits = []
    for template in TEMPLATES:
        if len(template.intervals) < 3:
            continue
        symbol = _symbol(info.root, template.key)
        if _pcs(_spec(symbol).notes()) <= pcs:
            fits.append(symbol)
    return tuple(sorted(fits, key=lambda s: -len(_spec(s).intervals)))
