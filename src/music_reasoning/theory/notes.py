"""Note names: parsing, validation, pitch classes and spelling helpers.

Accepted note tokens (surrounding whitespace ignored)::

    letter      A-G, either case            ("c" == "C"; German "H" is rejected)
    accidental  none | # | ## | x | b | bb | - | -- | ♯ | ♯♯ | ♭ | ♭♭ | 𝄪 | 𝄫 | ♮
    octave      optional single digit 0-9   ("C4")

A chord symbol's root takes the same accidentals except ``-`` and ``--`` (after a chord
root many read ``-`` as minor: ``C-7``) and ``♮`` (see :data:`SYMBOL_ACCIDENTALS`), so double
sharps and flats read the same in notes, scales and chord symbols (keys take at most one
accidental: a key of F## has no usable signature).

Output always uses ``#`` for sharps and ``b`` for flats (``F##``, ``Bbb``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import _backend

__all__ = [
    "LETTER_PC",
    "MAX_TOKEN_LENGTH",
    "SYMBOL_ACCIDENTALS",
    "Note",
    "accidental_count",
    "enharmonic_spellings",
    "invalid",
    "parse_note",
    "pitch_class",
    "spell_above",
    "split_tokens",
]

LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {
    "": 0,
    "♮": 0,
    "#": 1,
    "♯": 1,
    "##": 2,
    "♯♯": 2,
    "x": 2,
    "𝄪": 2,
    "b": -1,
    "♭": -1,
    "bb": -2,
    "♭♭": -2,
    "𝄫": -2,
    "-": -1,
    "--": -2,
}
#: The accidentals a chord symbol's root may carry, with their alteration in semitones.
SYMBOL_ACCIDENTALS = {k: v for k, v in _ACCIDENTALS.items() if "-" not in k and k != "♮"}
_NOTE_RE = re.compile(r"([A-Ga-g])([#♯b♭x𝄪𝄫♮-]*)([0-9])?")
MAX_TOKEN_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed note: letter, alteration in semitones and optional octave."""

    letter: str
    alter: int
    octave: int | None = None

    @property
    def name(self) -> str:
        """The note name in our spelling, without octave (``Bb``, ``F##``)."""
        return self.letter + ("#" * self.alter if self.alter >= 0 else "b" * -self.alter)

    @property
    def pc(self) -> int:
        """The pitch class, 0 (C) to 11 (B)."""
        return (LETTER_PC[self.letter] + self.alter) % 12


def _describe(token: object) -> str:
    text = repr(token)
    return text if len(text) <= 40 else text[:37] + "..."


def invalid(
    kind: str, token: object, *, position: int | None = None, reason: str = ""
) -> InvalidInputError:
    """Build the InvalidInputError for a bad token, naming the token."""
    where = f" at position {position}" if position is not None else ""
    message = f"Invalid {kind} {_describe(token)}{where}"
    if reason:
        message += f": {reason}"
    details: dict[str, object] = {"token": token if isinstance(token, str) else repr(token)}
    details["kind"] = kind
    if position is not None:
        details["position"] = position
    suggestions = {
        "note": "Use a letter A-G with optional #, b, ## or bb (e.g. 'C', 'F#', 'Bb').",
        "chord symbol": (
            "Use a root A-G plus a chord type, e.g. 'C', 'Am', 'G7', 'Cmaj7', 'F#m7b5', 'C/E'."
        ),
        "scale type": "Use e.g. 'major', 'natural_minor', 'harmonic minor', 'dorian', 'blues'.",
        "key": "Use e.g. 'C major', 'A minor', 'Bb', 'F#m'.",
    }
    return InvalidInputError(message, suggestion=suggestions.get(kind), details=details)


def parse_note(token: object, *, position: int | None = None) -> Note:
    """Parse one note token such as ``"C"``, ``"f#"``, ``"Bb3"`` or ``"E𝄫"``.

    Args:
        token: The note name.
        position: Index of the token in the caller's input, used in the error.

    Returns:
        The parsed :class:`Note`.

    Raises:
        InvalidInputError: If ``token`` is not a string or not a note name.
    """
    if not isinstance(token, str):
        raise invalid("note", token, position=position, reason="expected a string")
    text = token.strip()
    match = _NOTE_RE.fullmatch(text) if len(text) <= MAX_TOKEN_LENGTH else None
    if match is None or match.group(2) not in _ACCIDENTALS:
        raise invalid("note", token, position=position, reason="not a note name")
    octave = match.group(3)
    return Note(
        letter=match.group(1).upper(),
        alter=_ACCIDENTALS[match.group(2)],
        octave=int(octave) if octave is not None else None,
    )


@lru_cache(maxsize=1024)
def pitch_class(name: str) -> int:
    """Return the pitch class (0-11) of a note name."""
    return parse_note(name).pc


def accidental_count(names: Iterable[str]) -> int:
    """Count accidentals in spelled names, doubles counting three (to avoid them)."""
    total = 0
    for name in names:
        n = abs(parse_note(name).alter)
        total += n if n < 2 else 3
    return total


def spell_above(root: str, interval: str) -> str:
    """Spell the note ``interval`` (music21 name, e.g. ``m7``) above ``root``."""
    return _backend.transpose(root, interval)


def enharmonic_spellings(pc: int) -> list[str]:
    """All spellings of a pitch class with at most one accidental (``1 -> [C#, Db]``)."""
    out = []
    for letter, base in LETTER_PC.items():
        for alter in (0, 1, -1):
            if (base + alter) % 12 == pc:
                out.append(Note(letter, alter).name)
    return out


def split_tokens(value: object, kind: str) -> list[str]:
    """Turn a sequence of tokens (or one space/comma/bar separated string) into a list.

    Raises:
        InvalidInputError: If ``value`` is neither a string nor a sequence of strings.
    """
    if isinstance(value, str):
        return [t for t in re.split(r"[\s,|]+", value) if t]
    if not isinstance(value, Sequence):
        raise invalid(kind, value, reason="expected a sequence of strings")
    tokens = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid(kind, item, position=i, reason="expected a string")
        tokens.append(item.strip())
    return tokens
