"""Concepts: what a plagal cadence or a tritone substitution is, with examples in any key.

The knowledge is data, ``concepts.toml`` beside this module, validated on load by the
pydantic schema below (unknown keys refused).  Definitions and level texts are written
for this package; examples are *specs* that the theory layer realizes in the key the
user names, so nothing a reader sees about notes or chords is typed by hand::

    concepts.toml --(_File, pydantic)--> _Entry ... --explain_concept(name, key, level)-->
        examples: progression ["IV", "I"] --theory.realize_progression("Eb")--> Ab Eb
                  chord "V7" / interval "P5" / scale "dorian" likewise
        -> ConceptInfo (frozen) inside an ExplanationResult (deterministic, verified)

An example's ``mode`` is the scale its numerals count from.  When the user names a key,
examples of that key's mode (and mode-free ones) are shown; when none fits, all are
realized in the parallel key (a Phrygian half cadence asked "in C" is shown in C minor).
With no key, major examples are in C major and minor ones in A minor.

:func:`find_concept` reads a concept and a key out of a question (``question.py`` routes
with it) and :func:`concept_questions` generates the evaluation set.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from music_reasoning.errors import InvalidInputError
from music_reasoning.params import validate_text
from music_reasoning.sdk._types import ExplanationResult
from music_reasoning.sdk.teacher import LEVELS, check_level, interval_words
from music_reasoning.theory import RealizedChord, get_scale, realize_progression
from music_reasoning.theory.notes import pitch_class, spell_above
from music_reasoning.theory.realize import parse_key_name

__all__ = [
    "LEVELS",
    "ConceptExample",
    "ConceptInfo",
    "ConceptQuestion",
    "concept_ids",
    "concept_questions",
    "explain_concept",
    "find_concept",
    "find_key",
]

Mode = Literal["major", "minor", "any"]
_DEFAULT_TONIC = {"major": "C", "minor": "A"}


# ---------------------------------------------------------------- the schema


class _Example(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    mode: Mode | None = None
    progression: list[str] | None = None
    chord: str | None = None
    interval: str | None = Field(default=None, pattern=r"^[PMmAd][1-8]$")
    scale: str | None = None
    melody: list[str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> _Example:
        given = [k for k in ("progression", "chord", "interval", "scale") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("an example is exactly one of progression, chord, interval, scale")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("progression", "chord", "interval", "scale") if getattr(self, k))

    @property
    def effective_mode(self) -> Mode:
        if self.mode is not None:
            return self.mode
        return "any" if self.kind in ("interval", "scale") else "major"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str = Field(min_length=1)
    aliases: list[str] = []
    definition: str = Field(min_length=1)
    beginner: str = Field(min_length=1)
    intermediate: str = Field(min_length=1)
    advanced: str = Field(min_length=1)
    related: list[str] = []
    examples: list[_Example] = Field(min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    concept: list[_Entry]


def _normalize(text: str) -> str:
    """Lower case, punctuation and articles out: ``"What's a ii-V-I?"`` -> ``what s ii v i``."""
    text = re.sub(r"[^\w#]+", " ", text.lower().replace("'", " "))
    return " ".join(w for w in text.split() if w not in ("a", "an", "the", "are", "is"))


@dataclass(frozen=True)
class _KB:
    entries: dict[str, _Entry]
    names: dict[str, str]  # normalized name or alias -> id


@lru_cache(maxsize=1)
def _kb() -> _KB:
    text = resources.files("music_reasoning.sdk").joinpath("concepts.toml").read_text("utf-8")
    try:
        parsed = _File.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:  # a packaging bug, not input
        raise RuntimeError(f"concepts.toml is invalid: {exc}") from exc
    entries: dict[str, _Entry] = {}
    names: dict[str, str] = {}
    for entry in parsed.concept:
        if entry.id in entries:
            raise RuntimeError(f"concepts.toml: duplicate id {entry.id!r}")
        entries[entry.id] = entry
        for name in (entry.id.replace("-", " "), entry.name, *entry.aliases):
            norm = _normalize(name)
            if names.setdefault(norm, entry.id) != entry.id:
                raise RuntimeError(f"concepts.toml: {name!r} names two concepts")
    for entry in parsed.concept:
        missing = [r for r in entry.related if r not in entries]
        if missing:
            raise RuntimeError(f"concepts.toml: {entry.id} links to unknown {missing}")
    return _KB(entries, names)


def concept_ids() -> tuple[str, ...]:
    """The ids of every concept in the knowledge base, in file order."""
    return tuple(_kb().entries)


# ---------------------------------------------------------------- realized facts


@dataclass(frozen=True)
class ConceptExample:
    """One example realized in a key.

    Attributes:
        label: What it shows.
        kind: ``progression``, ``chord``, ``interval`` or ``scale``.
        spec: The numerals, the interval or the scale type, as written in the entry.
        key: The key it is realized in (``Eb major``).
        chords: The chords, for a progression or a chord.
        notes: The notes of an interval (tonic, upper note) or a scale; the melody over
            chords.
        text: The example in one line (``IV - I: Ab - Eb``).
    """

    label: str
    kind: str
    spec: tuple[str, ...]
    key: str
    chords: tuple[RealizedChord, ...]
    notes: tuple[str, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "spec": list(self.spec),
            "key": self.key,
            "chords": [c.to_dict() for c in self.chords],
            "notes": list(self.notes),
            "text": self.text,
        }


@dataclass(frozen=True)
class ConceptInfo:
    """A concept explained at one level, with its examples realized in a key."""

    id: str
    name: str
    definition: str
    level: str
    text: str
    related: tuple[str, ...]
    examples: tuple[ConceptExample, ...]
    key: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "definition": self.definition,
            "level": self.level,
            "text": self.text,
            "related": list(self.related),
            "examples": [e.to_dict() for e in self.examples],
            "key": self.key,
        }


def _realize(example: _Example, tonic: str, mode: str) -> ConceptExample:
    key = f"{tonic} {mode}"
    chords: tuple[RealizedChord, ...] = ()
    notes: tuple[str, ...] = ()
    if example.progression or example.chord:
        spec = tuple(example.progression or [example.chord or ""])
        chords = realize_progression(spec, key)
        text = f"{' - '.join(spec)}: {' - '.join(c.symbol for c in chords)}"
        if example.chord:
            text += f" ({' '.join(chords[0].notes)})"
    elif example.interval:
        spec = (example.interval,)
        upper = spell_above(tonic, example.interval)
        semis = (pitch_class(upper) - pitch_class(tonic)) % 12 or (12 if "8" in spec[0] else 0)
        notes = (tonic, upper)
        text = (
            f"{interval_words(spec[0])} above {tonic}: {upper} "
            f"({semis} semitone{'' if semis == 1 else 's'})"
        )
    else:
        spec = (example.scale or "",)
        info = get_scale(tonic, spec[0])
        notes = info.notes
        altered = [n for n in notes if len(n) > 1]
        text = f"{tonic} {info.type.replace('_', ' ')}: {' '.join(notes)}"
        extras = [f"{', '.join(altered) if altered else 'no sharps or flats'}"]
        extras += [f"relative {info.relative}"] if info.relative else []
        extras += [f"parallel {info.parallel}"] if info.parallel else []
        text += f" ({'; '.join(extras)})"
    if example.melody:
        notes = tuple(spell_above(tonic, i) for i in example.melody)
        text += f"; melody {' - '.join(notes)}"
    return ConceptExample(example.label, example.kind, spec, key, chords, notes, text)


def _examples(entry: _Entry, tonic: str | None, mode: str | None) -> tuple[ConceptExample, ...]:
    if tonic is None or mode is None:
        return tuple(
            _realize(e, _DEFAULT_TONIC[m], m)
            for e in entry.examples
            for m in [e.effective_mode if e.effective_mode != "any" else "major"]
        )
    fitting = [e for e in entry.examples if e.effective_mode in (mode, "any")]
    if fitting:
        return tuple(_realize(e, tonic, mode) for e in fitting)
    return tuple(_realize(e, tonic, e.effective_mode) for e in entry.examples)


# ---------------------------------------------------------------- lookup and explanation


def _lookup(name: str) -> _Entry:
    kb = _kb()
    # text that is not UTF-8 is refused, not matched around ("tritone \udcff")
    norm = _normalize(validate_text(name, what="Concept")) if isinstance(name, str) else ""
    concept_id = kb.names.get(norm)
    if concept_id is None:
        close = difflib.get_close_matches(norm, list(kb.names), n=3, cutoff=0.6)
        names = sorted({kb.entries[kb.names[c]].name for c in close})
        hint = f"Did you mean {', '.join(repr(n) for n in names)}?" if names else ""
        raise InvalidInputError(
            f"Unknown concept {name!r}",
            suggestion=(hint + " " if hint else "")
            + "Use e.g. 'plagal cadence', 'tritone substitution', 'dorian mode'.",
            details={"token": str(name), "kind": "concept", "suggestions": names},
        )
    return kb.entries[concept_id]


def explain_concept(
    name: str, *, key: str | None = None, level: str = "intermediate"
) -> ExplanationResult:
    """Explain a music-theory concept at a level, with examples computed in a key.

    Args:
        name: The concept's name or an alias (``"plagal cadence"``, ``"amen cadence"``).
        key: ``"Eb"``, ``"F# minor"``, ``"Am"``; None for C major / A minor.
        level: ``beginner``, ``intermediate`` or ``advanced``.

    Returns:
        A deterministic, verified result whose ``data`` is a :class:`ConceptInfo`.

    Raises:
        InvalidInputError: For an unknown concept (with the closest names), a name that
            is not UTF-8 text, a bad key or an unknown level.

    Example:
        >>> r = explain_concept("plagal cadence", key="Eb")
        >>> r.data.examples[0].text
        'IV - I: Ab - Eb'
    """
    level = check_level(level)
    entry = _lookup(name)
    tonic = mode = None
    if key is not None:
        parsed = parse_key_name(key)
        tonic, mode = parsed.tonic, parsed.mode
    examples = _examples(entry, tonic, mode)
    info = ConceptInfo(
        id=entry.id,
        name=entry.name,
        definition=entry.definition,
        level=level,
        text=getattr(entry, level),
        related=tuple(entry.related),
        examples=examples,
        key=f"{tonic} {mode}" if tonic else None,
    )
    return ExplanationResult(
        data=info, explanation=render(info), source="deterministic", verified=True
    )


def render(info: ConceptInfo) -> str:
    """The concept as text: name, definition, the level's text, examples, related."""
    kb = _kb()
    lines = [f"{info.name[0].upper()}{info.name[1:]}: {info.definition}", "", info.text, ""]
    home = info.key or "C major"
    lines.append(f"Examples in {home}:")
    for ex in info.examples:
        line = f"  {ex.text}" + ("" if ex.key == home else f" (in {ex.key})")
        if not ex.text.startswith(ex.label + ":"):
            line += f"  - {ex.label}"
        lines.append(line)
    if info.related:
        lines += ["", "Related: " + ", ".join(kb.entries[r].name for r in info.related)]
    return "\n".join(lines)


# ---------------------------------------------------------------- questions

_KEY_RE = re.compile(
    r"\b(?:in|key of|of|from|on|above)\s+(?:the\s+key\s+of\s+)?"
    r"([A-G])(?:\s*(#|b|♯|♭|-?sharp|-?flat)(?![\w#]))?"
    r"(?:\s*(major|minor|maj|min|m)(?!\w))?(?![\w#])"
)


def find_key(question: str) -> tuple[str | None, str]:
    """The key a question names ("in E flat", "in F# minor", "key of Bb") and the
    question without it.  ``(None, question)`` when it names none."""
    m = _KEY_RE.search(question)
    if m is None:
        return None, question
    acc = (m.group(2) or "").lstrip("-")
    acc = {"sharp": "#", "♯": "#", "flat": "b", "♭": "b"}.get(acc, acc)
    quality = m.group(3) or ""
    minor = quality in ("minor", "min", "m")
    key = f"{m.group(1)}{acc} {'minor' if minor else 'major'}"
    return key, (question[: m.start()] + question[m.end() :]).strip()


def find_concept(question: str) -> tuple[str, str | None] | None:
    """The concept a question names (its longest name or alias) and the key it names:
    ``("plagal-cadence", "Eb major")``; None when it names no concept."""
    if not isinstance(question, str) or len(question) > 1000:
        return None
    key, rest = find_key(question)
    words = f" {_normalize(rest)} "
    best: tuple[int, str] | None = None
    for name, concept_id in _kb().names.items():
        if f" {name} " in words and (best is None or len(name) > best[0]):
            best = (len(name), concept_id)
    return (best[1], key) if best else None


@dataclass(frozen=True)
class ConceptQuestion:
    """One evaluation question: the concept it should reach and facts an answer states."""

    question: str
    concept: str
    key: str | None
    facts: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "concept": self.concept,
            "key": self.key,
            "facts": list(self.facts),
        }


_PHRASINGS = (
    ("What is {a} {name}?", None),
    ("Explain the {name} in {key}.", "key"),
    ("What does {alias} mean in {key}?", "key"),
)
_KEYS = (("E flat", "Eb major"), ("F# minor", "F# minor"), ("G", "G major"), ("Bb", "Bb major"))


def concept_questions() -> tuple[ConceptQuestion, ...]:
    """The concept question set: every entry x three phrasings, keys in rotation.

    Each question carries the facts a correct answer states: the concept's name and
    the first example realized in the question's key.
    """
    out = []
    for i, entry in enumerate(_kb().entries.values()):
        alias = entry.aliases[0] if entry.aliases else entry.name
        for j, (template, needs_key) in enumerate(_PHRASINGS):
            spoken, key = _KEYS[(i + j) % len(_KEYS)] if needs_key else (None, None)
            a = "an" if entry.name[0].lower() in "aeiou" else "a"
            question = template.format(a=a, name=entry.name, alias=alias, key=spoken)
            tonic, mode = key.split() if key else (None, None)
            example = _examples(entry, tonic, mode)[0]
            out.append(ConceptQuestion(question, entry.id, key, (entry.name, example.text)))
    return tuple(out)
