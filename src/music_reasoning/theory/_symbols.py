"""Chord symbols: parsing into a :class:`ChordSpec` and rendering back.

Grammar (case-sensitive, no spaces)::

    symbol      root suffix alteration* ["/" bass]
    root        A-G (either case) with an optional accidental: # b ♯ ♭, or a double
                ## x 𝄪 ♯♯ bb 𝄫 ♭♭ (the longest one written: "Cbb5" is a Cbb power
                chord; Cb with a flat fifth prints, and reads, as "Cb(b5)")
    suffix      one of _chord_table.SUFFIX_ALIASES ("", m, 7, maj7, M7, m7b5, dim7, +, sus4,
                6, m6, 9, maj9, m9, 11, 13, 6/9, ...)
    alteration  b5 #5 b9 9 #9 11 #11 b13 13 sus2 sus4 sus no3 no5 omit3 omit5
                add2 add4 add6 add9 add11 add13 (add with b/# too), optionally in
                parentheses and separated by commas: "C7(b9,#11)"
    bass        any note name (see notes.py)

music21's ``harmony.ChordSymbol`` is deliberately not used: it misreads ``Bb7`` (the
flat becomes part of the kind), rejects ``Cmaj9`` and reports ``Cm7b5`` as a minor
seventh.  We only ask music21 to spell intervals above the root.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory._chord_table import (
    ALTERATIONS,
    INTERVAL_SEMITONES,
    MOD_WORDS,
    SUFFIX_ALIASES,
    ChordTemplate,
    template_for,
    template_matching,
)
from music_reasoning.theory.notes import (
    MAX_TOKEN_LENGTH,
    SYMBOL_ACCIDENTALS,
    Note,
    invalid,
    parse_note,
    spell_above,
)

__all__ = ["ChordSpec", "derive_mods", "make_spec", "parse_symbol"]

_ROOT_RE = re.compile(
    "([A-Ga-g])("
    + "|".join(map(re.escape, sorted(SYMBOL_ACCIDENTALS, key=len, reverse=True)))
    + ")(.*)",
    re.DOTALL,
)
_ALTERATION_RE = re.compile(
    r"add[b#]?(?:2|4|6|9|11|13)|omit[35]|no[35]|sus[24]?|[b#](?:5|9|11|13)|9|11|13"
)
_ALIASES_BY_LENGTH = sorted(SUFFIX_ALIASES, key=len, reverse=True)
_MOD_ORDER = {name: i for i, name in enumerate(MOD_WORDS)}
_ADDED = {
    "M2": "add2",
    "P4": "add4",
    "M6": "add6",
    "m9": "b9",
    "M9": "9",
    "A9": "#9",
    "P11": "11",
    "A11": "#11",
    "m13": "b13",
    "M13": "13",
}
_NATURAL = {"b9": "M9", "#9": "M9", "#11": "P11", "b13": "M13"}
_SEVENTHS = {"m7", "M7", "d7"}


def _sort_intervals(intervals: set[str] | frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(intervals, key=lambda i: (INTERVAL_SEMITONES[i], i)))


@dataclass(frozen=True, slots=True)
class ChordSpec:
    """A chord as root + base template + alterations (+ bass), before spelling.

    Attributes:
        root: Root note name.
        base: The chord type the symbol is built on.
        mods: Canonical alterations beyond ``base`` (``("b9", "#11")``).
        intervals: All chord tones above the root, in stacking order.
        bass: The bass note when different from the root, else ``None``.
    """

    root: str
    base: ChordTemplate
    mods: tuple[str, ...]
    intervals: tuple[str, ...]
    bass: str | None = None

    @property
    def pcs(self) -> frozenset[int]:
        """Pitch-class offsets of the chord tones above the root."""
        return frozenset(INTERVAL_SEMITONES[i] % 12 for i in self.intervals)

    @property
    def suffix(self) -> str:
        """The canonical symbol suffix (``maj7``, ``7b9#11``, ``madd11``, ``7(b13,13)``)."""
        suffix = self.base.suffix
        joined = [suffix, *self.mods]
        ambiguous = any(a[-1:].isdigit() and b[:1].isdigit() for a, b in itertools.pairwise(joined))
        if ambiguous or (not suffix and self.mods and self.mods[0][:1] in ("b", "#")):
            return f"{suffix}({','.join(self.mods)})"
        return "".join(joined)

    @property
    def quality(self) -> str:
        """The chord type in words (``dominant seventh with flat ninth``)."""
        if not self.mods:
            return self.base.quality
        words = [MOD_WORDS[m] if m in MOD_WORDS else "added " + MOD_WORDS[m[3:]] for m in self.mods]
        return f"{self.base.quality} with {', '.join(words)}"

    def notes(self) -> tuple[str, ...]:
        """Spell the chord tones from the root upwards."""
        return tuple(spell_above(self.root, i) for i in self.intervals)

    def with_root(self, root: str, bass: str | None) -> ChordSpec:
        """Return the same chord on a differently spelled root (and bass)."""
        return ChordSpec(root, self.base, self.mods, self.intervals, bass)


def make_spec(
    root: str, intervals: set[str], *, base: ChordTemplate, mods: tuple[str, ...]
) -> ChordSpec:
    """Build a spec, collapsing to a known template when the interval set matches one."""
    exact = template_matching(frozenset(intervals))
    if exact is not None:
        return ChordSpec(root, exact, (), exact.intervals)
    return ChordSpec(root, base, mods, _sort_intervals(intervals))


def _mod_order(token: str) -> int:
    return _MOD_ORDER.get(token, _MOD_ORDER.get(token[3:], len(_MOD_ORDER)))


def derive_mods(base: ChordTemplate, intervals: set[str]) -> tuple[str, ...]:
    """Describe ``intervals`` as canonical alteration tokens on ``base``, in order.

    Parsing ``base.suffix`` followed by the tokens gives ``intervals`` back: tensions take
    an ``add`` prefix when they must not remove a natural tone (``C9addb9``) or sit on a
    chord without a seventh (``Cadd#11``).
    """
    added = set(intervals) - set(base.intervals)
    removed = set(base.intervals) - set(intervals)
    has_seventh = any(i in _SEVENTHS for i in base.intervals)
    mods: list[str] = []
    if removed & {"M3", "m3"}:
        if "P4" in added:
            mods.append("sus4")
            added.discard("P4")
        elif "M2" in added:
            mods.append("sus2")
            added.discard("M2")
        else:
            mods.append("no3")
    if "d5" in added:
        mods.append("b5")
    if "A5" in added:
        mods.append("#5")
    if "P5" in removed and not added & {"d5", "A5"}:
        mods.append("no5")
    for interval in added:
        token = _ADDED.get(interval)
        if token is None:
            continue
        natural = _NATURAL.get(token)
        if (token in ("9", "11", "13") and not has_seventh) or (
            natural is not None
            and (natural in intervals or (not has_seventh and natural not in base.intervals))
        ):
            token = "add" + token
        mods.append(token)
    return tuple(sorted(mods, key=_mod_order))


def _split_alterations(rest: str) -> list[str] | None:
    text = re.sub(r"[(),\s]", "", rest)
    out: list[str] = []
    pos = 0
    while pos < len(text):
        match = _ALTERATION_RE.match(text, pos)
        if match is None:
            return None
        out.append(match.group(0))
        pos = match.end()
    return out


def _parse_suffix(symbol: str, suffix: str) -> tuple[ChordTemplate, list[str]]:
    if suffix in SUFFIX_ALIASES:
        return template_for(SUFFIX_ALIASES[suffix]), []
    for alias in _ALIASES_BY_LENGTH:
        if suffix.startswith(alias):
            alterations = _split_alterations(suffix[len(alias) :])
            if alterations is not None:
                return template_for(SUFFIX_ALIASES[alias]), alterations
    raise invalid("chord symbol", symbol, reason=f"unknown chord type {suffix!r}")


def _apply(symbol: str, base: ChordTemplate, alterations: list[str]) -> set[str]:
    intervals = set(base.intervals)
    for alt in alterations:
        removed, added = ALTERATIONS[alt]
        intervals.difference_update(removed)
        if added is not None:
            intervals.add(added)
    pcs = [INTERVAL_SEMITONES[i] % 12 for i in intervals]
    if len(set(pcs)) != len(pcs):
        raise invalid("chord symbol", symbol, reason="alterations produce the same pitch twice")
    if "P1" not in intervals or len(intervals) < 2:
        raise invalid("chord symbol", symbol, reason="too few chord tones left")
    return intervals


def parse_symbol(symbol: object, *, position: int | None = None) -> ChordSpec:
    """Parse a chord symbol such as ``"Bb7"``, ``"F#m7b5"``, ``"C7(b9)"`` or ``"C/E"``.

    Raises:
        InvalidInputError: If the root, chord type, alterations or bass are not valid.
    """
    if not isinstance(symbol, str):
        raise invalid("chord symbol", symbol, position=position, reason="expected a string")
    text = symbol.strip()
    try:
        if not text or len(text) > MAX_TOKEN_LENGTH:
            raise invalid("chord symbol", symbol, reason="empty or too long")
        bass_text = None
        head, slash, tail = text.rpartition("/")
        if slash and not tail[:1].isdigit():
            text, bass_text = head, tail
        match = _ROOT_RE.fullmatch(text)
        if match is None:
            raise invalid("chord symbol", symbol, reason=f"root {text[:1]!r} is not A-G")
        root = Note(match.group(1).upper(), SYMBOL_ACCIDENTALS[match.group(2)])
        base, alterations = _parse_suffix(symbol, match.group(3))
        intervals = _apply(symbol, base, alterations)
        spec = make_spec(root.name, intervals, base=base, mods=derive_mods(base, intervals))
        # The canonical suffix may start with a longer alias than the one written
        # ("dom7#11#5" prints as "7#5#11", which reads as aug7 + #11 and prints as
        # "aug7#11"): settle on a base whose printed symbol reads back as itself.
        for _ in range(3):
            printed_base, _alts = _parse_suffix(symbol, spec.suffix)
            mods = derive_mods(printed_base, intervals)
            again = make_spec(root.name, intervals, base=printed_base, mods=mods)
            if again.suffix == spec.suffix:
                break
            spec = again
        if bass_text is not None:
            bass = _parse_bass(symbol, bass_text)
            spec = spec.with_root(spec.root, bass if bass != spec.root else None)
        return spec
    except InvalidInputError as exc:
        if position is not None:
            exc.details["position"] = position
            exc.message = f"{exc.message} (position {position})"
            exc.args = (exc.message,)
        raise


def _parse_bass(symbol: str, bass_text: str) -> str:
    try:
        note = parse_note(bass_text)
    except InvalidInputError as exc:
        raise invalid(
            "chord symbol", symbol, reason=f"bass {bass_text!r} is not a note name"
        ) from exc
    if note.octave is not None:
        raise invalid("chord symbol", symbol, reason=f"bass {bass_text!r} has an octave")
    return note.name
