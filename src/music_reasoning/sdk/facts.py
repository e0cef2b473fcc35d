"""Grounding facts: what layer 1 knows, as prompt text, as checkable sets and as prose.

A :class:`Facts` is built from a theory result (chord, scale or progression).  It
carries three views of the same truth:

* ``lines`` go into the model's prompt (grounding);
* ``notes``, ``symbols`` and ``romans`` are what an explanation may name
  (verification, see :mod:`.verify`);
* ``sentence`` is a deterministic explanation used when the model's answer cannot be
  trusted (or no model may be used).

Prompts built here (and the verifier's rules) are versioned by :data:`GROUNDING_VERSION`,
which is part of every cache key, so a changed template or a stricter check never serves
answers cached under the old one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import (
    ChordInfo,
    ProgressionInfo,
    ScaleInfo,
    analyze_progression,
    build_chord,
    get_scale,
)
from music_reasoning.theory.notes import pitch_class, spell_above

if TYPE_CHECKING:
    from music_reasoning.sdk.teacher import Lesson

__all__ = [
    "GROUNDING_VERSION",
    "Facts",
    "chord_facts",
    "examples_for",
    "grounded_examples",
    "progression_facts",
    "scale_facts",
    "worked_examples",
]

GROUNDING_VERSION = "7"


@dataclass(frozen=True)
class Facts:
    """The verified facts about one subject (see the module notes).

    Attributes:
        kind: ``chord``, ``scale`` or ``progression``.
        subject: What is explained, as the user would name it (``G7``, ``D dorian``).
        lines: Fact lines for the prompt.
        question: The request to the model.
        notes: Pitch classes (0-11) the explanation may name.
        names: (pitch class, ``major``/``minor``) pairs the explanation may call a
            chord or key (``A minor``).
        qualities: Chord qualities the explanation may name (``dominant seventh``).
        intervals: (pitch class, interval) pairs true of the subject (``(11, "M3")``:
            B is a major third above G in G7); ``None`` when intervals are not checked.
        cadences: Cadence types the explanation may name.
        symbols: Chord symbols the explanation may name.
        romans: Roman numerals the explanation may name.
        pairs: (chord symbol, roman numeral) pairs of a progression, so "Dm7 is the V7"
            is caught even though both names occur in it.
        key: The progression's key (``C major``): a chord is borrowed from its parallel.
        sentence: A deterministic explanation built from the facts alone.
        topics: Tags used to route around a model's known weaknesses
            (``backdoor_progression``, ``secondary_dominant`` ...).
        tonic: The scale's root, the progression's key tonic or the chord's root.
        scale: (root, scale type) of a scale, or of a progression's key (``natural_minor``
            for a minor key); ``None`` for a chord.
        members: The subject's own notes, in order: a list stated as *the* notes must be
            these (empty for a progression).
        formula: The scale's step formula (``W-H-W-W-W-H-W``); ``None`` for chords.
        interval_formula: Interval of each member above the root (``P1 M3 P5 m7``).
        note_count: How many distinct pitch classes ``members`` holds (``None`` if empty).
        relative: The relative key or scale (``C major`` for D dorian, ``A minor`` for a
            progression in C major).
        parallel: The parallel key or scale, when there is one.
        degrees: (pitch class, degree name) pairs: ``(7, "dominant")`` in C major; for a
            dominant seventh, the degrees of the key it resolves to.
        functions: (chord symbol or numeral, function) pairs (``("IV", "predominant")``).
        moves: Consecutive (from, to) chord symbols of a progression.
        numerals: A progression's numerals in order.
        cadence_pairs: (from chord, to chord, type) of every cadence found.
        patterns: (pattern name, the key it implies) of every named pattern found.
        resolutions: (chord, target) pairs the theory layer names (G7 resolves to C).
    """

    kind: str
    subject: str
    lines: tuple[str, ...]
    question: str
    notes: frozenset[int]
    names: frozenset[tuple[int, str]]
    qualities: frozenset[str]
    symbols: frozenset[str]
    romans: frozenset[str]
    sentence: str
    intervals: frozenset[tuple[int, str]] | None = None
    cadences: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()
    key: str | None = None
    tonic: str | None = None
    scale: tuple[str, str] | None = None
    members: tuple[str, ...] = ()
    formula: str | None = None
    interval_formula: tuple[str, ...] = ()
    note_count: int | None = None
    relative: str | None = None
    parallel: str | None = None
    degrees: frozenset[tuple[int, str]] = frozenset()
    functions: frozenset[tuple[str, str]] = frozenset()
    moves: tuple[tuple[str, str], ...] = ()
    numerals: tuple[str, ...] = ()
    cadence_pairs: frozenset[tuple[str, str, str]] = frozenset()
    patterns: frozenset[tuple[str, str]] = frozenset()
    resolutions: frozenset[tuple[str, str]] = frozenset()

    def widened(self, lesson: Lesson) -> Facts:
        """These facts plus every note, chord, numeral and key ``lesson`` names.

        The lesson is computed by the theory layer from the same subject, so what it
        names is as true as the facts: an explanation may repeat it ("V7 in C major",
        "resolves to C") without being called a contradiction.
        """
        names = set(self.names)
        for key in lesson.keys:
            tonic, _, mode = key.partition(" ")
            if "major" in mode or "minor" in mode:  # "A minor pentatonic" reads as A minor
                try:
                    names.add((pitch_class(tonic), "minor" if "minor" in mode else "major"))
                except InvalidInputError:
                    continue
        notes = set(lesson.notes)
        for symbol in lesson.symbols:  # "I-IV-V: C - F - G" names the roots as bare letters
            try:
                notes.update(build_chord(symbol).notes)
            except InvalidInputError:
                continue
        for key in lesson.keys:
            notes.add(key.partition(" ")[0])
        return replace(
            self,
            notes=self.notes | _pcs(n for n in notes if _is_note(n)),
            symbols=self.symbols | lesson.symbols,
            romans=self.romans | lesson.numerals | _pattern_numerals(lesson.numerals),
            names=frozenset(names),
        )

    def prompt(self) -> str:
        """The grounded question sent to the model (facts first, then the request)."""
        return " ".join(("Facts:", *self.lines, self.question))


def _list(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _a(word: str) -> str:
    """The indefinite article for ``word`` (``an authentic``, ``a ii-V-I``)."""
    if word[:1] in "AEF" and word[1:2] in ("", " ", "#", "b"):
        return "an"  # "an A minor", "an F major"
    return "an" if word[:1] in "aeiouIV" and not word.startswith("V") else "a"


def _is_note(name: str) -> bool:
    try:
        pitch_class(name)
    except InvalidInputError:
        return False
    return True


def _pcs(notes: Iterable[str]) -> frozenset[int]:
    return frozenset(pitch_class(n) for n in notes)


_BORROWED_IN_MAJOR = ("iv", "bVI", "bVII", "bIII", "ii\u00f8", "v")


def _borrowed(roman: str, key: str) -> bool:
    """A chord of the parallel minor used in a major key (iv, bVI, bVII ...)."""
    if not key.endswith("major") or "/" in roman:
        return False
    return (
        any(
            roman == b or (roman.startswith(b) and not roman[len(b)].isalpha())
            for b in _BORROWED_IN_MAJOR
            if len(roman) > len(b)
        )
        or roman in _BORROWED_IN_MAJOR
    )


def _colour_chords(info: ProgressionInfo, tonic: str) -> tuple[list[str], set[str]]:
    """Fact lines for tritone substitutes and borrowed chords, and the symbols they name."""
    lines: list[str] = []
    symbols: set[str] = set()
    for a in info.analysis:
        if a.roman.startswith("bII7"):
            dominant = f"{spell_above(tonic, 'P5')}7"
            lines.append(f"{a.chord} ({a.roman}) is a tritone substitution for {dominant}, the V7.")
            symbols.add(dominant)
        elif _borrowed(a.roman, info.key):
            lines.append(f"{a.chord} ({a.roman}) is borrowed from {tonic} minor.")
    return lines, symbols


def _pattern_numerals(names: Iterable[str]) -> frozenset[str]:
    """Numerals written in pattern names (``ii``, ``V`` and ``I`` of "ii-V-I")."""
    return frozenset(
        token
        for name in names
        for token in re.findall(
            r"(?<![\w])[b#]?(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i)(?![\w])", name
        )
    )


def _pairs(notes: Iterable[str], intervals: Iterable[str]) -> frozenset[tuple[int, str]]:
    return frozenset((pitch_class(n), i) for n, i in zip(notes, intervals, strict=False))


def _qualities(info: ChordInfo) -> set[str]:
    """The chord's quality and the triad it is built on (a G7 is also a major chord)."""
    if "m3" in info.intervals and "d5" in info.intervals:
        triad = "diminished"
    elif "M3" in info.intervals and "A5" in info.intervals:
        triad = "augmented"
    else:
        triad = _name(info)[1]
    return {info.quality, triad}


def _name(info: ChordInfo) -> tuple[int, str]:
    """A chord as "X major" or "X minor" by its third (a G7 is a kind of G major chord)."""
    minor = "m3" in info.intervals and "M3" not in info.intervals
    return (pitch_class(info.root), "minor" if minor else "major")


def _degrees(info: ScaleInfo) -> frozenset[tuple[int, str]]:
    """(pitch class, degree name) of every degree; a minor key also has a leading tone."""
    degrees = {(pitch_class(d.note), d.name) for d in info.degrees}
    if info.type == "natural_minor":
        degrees.add((pitch_class(spell_above(info.root, "M7")), "leading tone"))
    return frozenset(degrees)


_ORDINALS = {1: "first", 2: "second", 3: "third"}


def chord_facts(info: ChordInfo) -> Facts:
    """Facts about one chord."""
    position = (
        "root position"
        if info.inversion == 0
        else f"{_ORDINALS.get(info.inversion or 0, 'an')} inversion"
        if info.inversion
        else f"{info.bass} in the bass, which is not a chord tone"
    )
    lines: tuple[str, ...] = (
        f"{info.symbol} is {_a(info.name)} {info.name} chord.",
        f"Its notes are {_list(info.notes)}.",
        f"Intervals above {info.root}: {' '.join(info.intervals)}.",
        f"It is in {position}.",
    )
    sentence = (
        f"{info.symbol} is {_a(info.name)} {info.name} chord: {_list(info.notes)} "
        f"({', '.join(info.intervals)} above {info.root}), in {position}."
    )
    notes, symbols = set(info.notes), {info.symbol, info.symbol.split("/")[0], *info.alternatives}
    names = {_name(info)}
    dominant = info.quality == "dominant seventh"
    target = spell_above(info.root, "P4")
    if dominant:
        lines += (f"As a dominant seventh it usually resolves to {target} (V7 to I).",)
        notes.add(target)
        symbols |= {target, f"{target}m", f"{target}maj7"}
        names |= {(pitch_class(target), "major"), (pitch_class(target), "minor")}
    return Facts(
        kind="chord",
        subject=info.symbol,
        lines=lines,
        question=f"In one or two sentences, explain the {info.symbol} chord.",
        notes=_pcs(notes),
        names=frozenset(names),
        qualities=frozenset(_qualities(info)),
        symbols=frozenset(symbols),
        romans=frozenset({"V7", "I"}) if info.quality == "dominant seventh" else frozenset(),
        sentence=sentence,
        intervals=_pairs(info.notes, info.intervals),
        cadences=frozenset({"authentic", "perfect"})
        if info.quality == "dominant seventh"
        else frozenset(),
        topics=frozenset({"chord_spelling"}),
        tonic=info.root,
        members=info.notes,
        interval_formula=info.intervals,
        note_count=len(_pcs(info.notes)),
        degrees=_degrees(get_scale(target, "major")) if dominant else frozenset(),
        functions=frozenset({(info.symbol, "dominant"), ("V7", "dominant")})
        if dominant
        else frozenset(),
        resolutions=frozenset({(info.symbol, target), (info.symbol, f"{target}m")})
        if dominant
        else frozenset(),
    )


def scale_facts(info: ScaleInfo) -> Facts:
    """Facts about one scale or mode."""
    kind = info.type.replace("_", " ")
    lines = [
        f"The {info.root} {kind} scale has the notes {_list(info.notes)}.",
        f"Its step formula is {info.formula}.",
    ]
    related = []
    names = set()
    for mode in ("major", "minor"):
        if mode in kind:  # "major pentatonic" is also read as "C major"
            names.add((pitch_class(info.root), mode))
    for label, key in (("Relative", info.relative), ("Parallel", info.parallel)):
        if key:
            lines.append(f"{label}: {key}.")
            tonic, _, mode = key.partition(" ")
            related.append(tonic)
            names.add((pitch_class(tonic), "minor" if "minor" in mode else "major"))
    sentence = f"The {info.root} {kind} scale is {_list(info.notes)}, with steps {info.formula}."
    if info.relative:
        sentence += f" Its relative is {info.relative}."
    return Facts(
        kind="scale",
        subject=f"{info.root} {kind}",
        lines=tuple(lines),
        question=f"In one or two sentences, explain the {info.root} {kind} scale.",
        notes=_pcs((*info.notes, *related)),
        names=frozenset(names),
        qualities=frozenset(),
        symbols=frozenset(),
        romans=frozenset(),
        sentence=sentence,
        intervals=_pairs(info.notes, info.intervals),
        topics=frozenset({"mode" if kind not in {"major", "natural minor"} else "scale"}),
        tonic=info.root,
        scale=(info.root, info.type),
        members=info.notes,
        formula=info.formula,
        interval_formula=info.intervals,
        note_count=len(_pcs(info.notes)),
        relative=info.relative,
        parallel=info.parallel,
        degrees=_degrees(info),
    )


def progression_facts(info: ProgressionInfo) -> Facts:
    """Facts about a chord progression in its key."""
    chords = [a.chord for a in info.analysis]
    romans = [a.roman for a in info.analysis]
    tonic = info.key.split()[0]
    lines = [
        f"The progression {' '.join(chords)} is in {info.key}.",
        "Roman numerals: "
        + ", ".join(f"{a.chord} = {a.roman} ({a.function})" for a in info.analysis)
        + ".",
    ]
    for cad in info.cadences:
        lines.append(f"{cad.type.capitalize()} cadence: {' to '.join(cad.chords)}.")
    for pat in info.patterns[:2]:
        where = "" if pat.key == info.key else f" in {pat.key}"
        lines.append(f"Pattern: {pat.name}{where} ({pat.genre}).")
    extra, extra_symbols = _colour_chords(info, tonic)
    lines += extra
    sentence = (
        f"{' '.join(chords)} is in {info.key}: "
        + ", ".join(f"{a.chord} is {a.roman} ({a.function})" for a in info.analysis)
        + "."
    )
    if extra:
        sentence += " " + " ".join(extra)
    if info.cadences:
        sentence += " " + " ".join(
            f"{c.chords[0]} to {c.chords[-1]} is {_a(c.type)} {c.type} cadence."
            for c in info.cadences
        )
    if info.patterns:
        top = info.patterns[0]
        where = "" if top.key == info.key else f" in {top.key}"
        sentence += f" It contains {_a(top.name)} {top.name}{where} ({top.genre})."
    notes = {n for a in info.analysis for n in a.notes} | {tonic}
    notes |= {n for symbol in extra_symbols for n in build_chord(symbol).notes}
    topics = {"progression"}
    if any(c.type == "backdoor" for c in info.cadences) or any(
        "backdoor" in p.name for p in info.patterns
    ):
        topics.add("backdoor_progression")
    if any("/" in r for r in romans):
        topics.add("secondary_dominant")
    if any(r.startswith("bII") and not r.startswith("bIII") for r in romans):
        topics.add("tritone_substitution")
    if any(_borrowed(r, info.key) for r in romans):
        topics.add("borrowed_chord")
    symbols = set(chords) | extra_symbols
    infos = [build_chord(symbol) for symbol in chords]
    symbols |= {i.symbol.split("/")[0] for i in infos}
    tonic_kind = "minor" if info.key.endswith("minor") else "major"
    key_scale = get_scale(tonic, "natural_minor" if tonic_kind == "minor" else "major")
    names = {(pitch_class(tonic), tonic_kind), *(_name(i) for i in infos)}
    if "borrowed_chord" in topics:
        names.add((pitch_class(tonic), "minor" if tonic_kind == "major" else "major"))
    return Facts(
        kind="progression",
        subject=" ".join(chords),
        lines=tuple(lines),
        question="In two sentences, explain how this progression works.",
        notes=_pcs(notes),
        names=frozenset(names),
        qualities=frozenset(q for i in infos for q in _qualities(i)),
        symbols=frozenset(symbols),
        romans=frozenset(romans)
        | _pattern_numerals(p.name for p in info.patterns)
        | ({"V7"} if "tritone_substitution" in topics else set()),
        sentence=sentence,
        cadences=frozenset(
            {c.type for c in info.cadences}
            | ({"perfect"} if any(c.type == "authentic" for c in info.cadences) else set())
        ),
        topics=frozenset(topics),
        pairs=frozenset((a.chord, a.roman) for a in info.analysis),
        key=info.key,
        tonic=tonic,
        scale=(tonic, key_scale.type),
        relative=key_scale.relative,
        parallel=key_scale.parallel,
        degrees=_degrees(key_scale),
        functions=frozenset(
            pair for a in info.analysis for pair in ((a.chord, a.function), (a.roman, a.function))
        ),
        moves=tuple(itertools.pairwise(chords)),
        numerals=tuple(romans),
        cadence_pairs=frozenset(
            (c.chords[i], c.chords[-1], c.type)
            for c in info.cadences
            for i in range(len(c.chords) - 1)
        ),
        patterns=frozenset((p.name, p.key) for p in info.patterns),
        resolutions=frozenset(
            (c.chords[-2], c.chords[-1])
            for c in info.cadences
            if c.type in {"authentic", "deceptive", "backdoor"}
        ),
    )


def worked_examples(kind: str = "chord") -> tuple[tuple[Facts, str], ...]:
    """Worked (facts, explanation) pairs that show the model how to paraphrase facts of
    one ``kind`` (``chord``, ``scale`` or ``progression``).

    The facts are generated by the theory layer, so the examples are correct by
    construction; they are passed as earlier turns, so they belong to the fixed prompt
    prefix whose KV state is reused (one prefix per kind).  They are deliberately plain
    and of the kind asked about: the 270M model copies an example's shape onto other
    subjects, so examples that named intervals ("the major third A") or a cadence made
    it claim wrong intervals and cadences for other chords, and a progression example
    beside a chord question made it write "In E major, F# is the IV chord" about chords.
    What it still copies falsely is read by the verifier (docs/EVAL.md).
    """
    if kind == "scale":
        pairs = (
            (
                scale_facts(get_scale("E", "natural_minor")),
                "The E natural minor scale has the notes E, F#, G, A, B, C and D.",
            ),
            (
                scale_facts(get_scale("D", "dorian")),
                "The D dorian scale has the notes D, E, F, G, A, B and C.",
            ),
        )
    elif kind == "progression":
        pairs = (
            (
                progression_facts(analyze_progression(["F", "G", "C"], key="C")),
                "In C major, F is the IV chord and G the V chord, which pulls back to the tonic C.",
            ),
            (
                progression_facts(analyze_progression(["Dm", "E", "Am"], key="A minor")),
                "In A minor, Dm is the iv chord and E the V chord, which pulls back to the "
                "tonic Am.",
            ),
        )
    else:
        pairs = (
            (
                chord_facts(build_chord("F")),
                "F is a major triad with the notes F, A and C, and F is its root.",
            ),
            (
                chord_facts(build_chord("Am7")),
                "Am7 is a minor seventh chord with the notes A, C, E and G, and A is its root.",
            ),
        )
    return pairs


def grounded_examples(kind: str = "chord") -> tuple[tuple[str, str], ...]:
    """The worked examples of ``kind`` as (prompt, answer) turns (see :func:`worked_examples`)."""
    return tuple((facts.prompt(), answer) for facts, answer in worked_examples(kind))


def examples_for(prompt: str) -> tuple[tuple[str, str], ...]:
    """The worked examples for a prompt made by :meth:`Facts.prompt` (by its question)."""
    if prompt.rstrip().endswith(" scale."):
        return grounded_examples("scale")
    if prompt.rstrip().endswith("progression works."):
        return grounded_examples("progression")
    return grounded_examples("chord")
