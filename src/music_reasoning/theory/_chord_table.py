"""The chord types we know: intervals, names, symbol suffixes and roman-numeral marks.

Intervals use music21's names (``M3``, ``d5``, ``m7``, ``A9``); extensions are compound
(``M9``, ``P11``, ``M13``) so that chord tones sort into stacking order by semitones.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALTERATIONS",
    "INTERVAL_SEMITONES",
    "MOD_WORDS",
    "SUFFIX_ALIASES",
    "TEMPLATES",
    "TENSION_BY_OFFSET",
    "ChordTemplate",
    "template_for",
]

INTERVAL_SEMITONES: dict[str, int] = {
    "P1": 0,
    "m2": 1,
    "M2": 2,
    "d3": 2,
    "A2": 3,
    "m3": 3,
    "M3": 4,
    "d4": 4,
    "A3": 5,
    "P4": 5,
    "A4": 6,
    "d5": 6,
    "P5": 7,
    "A5": 8,
    "m6": 8,
    "M6": 9,
    "d7": 9,
    "m7": 10,
    "A6": 10,
    "M7": 11,
    "m9": 13,
    "M9": 14,
    "A9": 15,
    "P11": 17,
    "A11": 18,
    "m13": 20,
    "M13": 21,
}


@dataclass(frozen=True, slots=True)
class ChordTemplate:
    """One chord type.

    Attributes:
        key: Internal id.
        quality: Human name (``dominant seventh``).
        suffix: Canonical symbol suffix (``7``).
        intervals: Chord tones from the root in stacking order.
        omittable: Tones that may be missing when identifying (usually the fifth).
        roman_suffix: What follows the numeral in roman analysis (``7``, ``ø7``).
        upper: Whether the numeral is upper case (major or augmented third).
        seventh: Whether inversions use seventh-chord figures (65, 43, 42).
    """

    key: str
    quality: str
    suffix: str
    intervals: tuple[str, ...]
    omittable: tuple[str, ...] = ("P5",)
    roman_suffix: str = ""
    upper: bool = True
    seventh: bool = False

    @property
    def offsets(self) -> frozenset[int]:
        """Pitch-class offsets of the chord tones from the root."""
        return frozenset(INTERVAL_SEMITONES[i] % 12 for i in self.intervals)


def _t(
    key: str,
    quality: str,
    suffix: str,
    intervals: str,
    *,
    omit: str = "P5",
    roman: str = "",
    upper: bool = True,
    seventh: bool = False,
) -> ChordTemplate:
    return ChordTemplate(
        key, quality, suffix, tuple(intervals.split()), tuple(omit.split()), roman, upper, seventh
    )


# Order matters: earlier templates win ties (simpler readings first).
TEMPLATES: tuple[ChordTemplate, ...] = (
    _t("maj", "major", "", "P1 M3 P5"),
    _t("min", "minor", "m", "P1 m3 P5", upper=False),
    _t("dim", "diminished", "dim", "P1 m3 d5", omit="", roman="o", upper=False),
    _t("aug", "augmented", "aug", "P1 M3 A5", omit="", roman="+"),
    _t("7", "dominant seventh", "7", "P1 M3 P5 m7", roman="7", seventh=True),
    _t("maj7", "major seventh", "maj7", "P1 M3 P5 M7", roman="maj7", seventh=True),
    _t("m7", "minor seventh", "m7", "P1 m3 P5 m7", roman="7", upper=False, seventh=True),
    _t(
        "m7b5",
        "half-diminished seventh",
        "m7b5",
        "P1 m3 d5 m7",
        omit="",
        roman="ø7",
        upper=False,
        seventh=True,
    ),
    _t(
        "dim7",
        "diminished seventh",
        "dim7",
        "P1 m3 d5 d7",
        omit="",
        roman="o7",
        upper=False,
        seventh=True,
    ),
    _t(
        "mM7",
        "minor-major seventh",
        "mMaj7",
        "P1 m3 P5 M7",
        roman="maj7",
        upper=False,
        seventh=True,
    ),
    _t("aug7", "augmented seventh", "aug7", "P1 M3 A5 m7", omit="", roman="+7", seventh=True),
    _t(
        "augM7",
        "augmented major seventh",
        "maj7#5",
        "P1 M3 A5 M7",
        omit="",
        roman="+maj7",
        seventh=True,
    ),
    _t(
        "7b5",
        "dominant seventh flat five",
        "7b5",
        "P1 M3 d5 m7",
        omit="",
        roman="7b5",
        seventh=True,
    ),
    _t("sus2", "suspended second", "sus2", "P1 M2 P5", omit="", roman="sus2"),
    _t("sus4", "suspended fourth", "sus4", "P1 P4 P5", omit="", roman="sus4"),
    _t("7sus4", "dominant seventh suspended fourth", "7sus4", "P1 P4 P5 m7", roman="7sus4"),
    _t("6", "major sixth", "6", "P1 M3 P5 M6", roman="add6"),
    _t("m6", "minor sixth", "m6", "P1 m3 P5 M6", roman="add6", upper=False),
    _t("5", "power chord", "5", "P1 P5", omit="", roman="5"),
    _t("add9", "added ninth", "add9", "P1 M3 P5 M9", roman="add9"),
    _t("madd9", "minor added ninth", "madd9", "P1 m3 P5 M9", roman="add9", upper=False),
    _t("6/9", "six-nine", "6/9", "P1 M3 P5 M6 M9", roman="6/9"),
    _t("9", "dominant ninth", "9", "P1 M3 P5 m7 M9", roman="9"),
    _t("maj9", "major ninth", "maj9", "P1 M3 P5 M7 M9", roman="maj9"),
    _t("m9", "minor ninth", "m9", "P1 m3 P5 m7 M9", roman="9", upper=False),
    _t("7b9", "dominant seventh flat ninth", "7b9", "P1 M3 P5 m7 m9", roman="7b9"),
    _t("7#9", "dominant seventh sharp ninth", "7#9", "P1 M3 P5 m7 A9", roman="7#9"),
    _t("11", "eleventh", "11", "P1 M3 P5 m7 M9 P11", omit="P5 M9", roman="11"),
    _t("m11", "minor eleventh", "m11", "P1 m3 P5 m7 M9 P11", omit="P5 M9", roman="11", upper=False),
    _t("13", "thirteenth", "13", "P1 M3 P5 m7 M9 P11 M13", omit="P5 M9 P11", roman="13"),
    _t(
        "maj13",
        "major thirteenth",
        "maj13",
        "P1 M3 P5 M7 M9 P11 M13",
        omit="P5 M9 P11",
        roman="maj13",
    ),
    _t(
        "m13",
        "minor thirteenth",
        "m13",
        "P1 m3 P5 m7 M9 P11 M13",
        omit="P5 M9 P11",
        roman="13",
        upper=False,
    ),
)

_BY_KEY = {t.key: t for t in TEMPLATES}
_BY_INTERVALS = {frozenset(t.intervals): t for t in TEMPLATES}


def template_for(key: str) -> ChordTemplate:
    """Return the template with internal id ``key``."""
    return _BY_KEY[key]


def template_matching(intervals: frozenset[str]) -> ChordTemplate | None:
    """Return the template whose interval set is exactly ``intervals``, if any."""
    return _BY_INTERVALS.get(intervals)


# Symbol suffix (case-sensitive) -> template id.  Longest alias wins during parsing.
SUFFIX_ALIASES: dict[str, str] = {
    "": "maj", "M": "maj", "maj": "maj", "major": "maj", "Maj": "maj",
    "m": "min", "min": "min", "mi": "min", "minor": "min",
    "dim": "dim", "o": "dim", "°": "dim",
    "aug": "aug", "+": "aug",
    "7": "7", "dom7": "7",
    "maj7": "maj7", "M7": "maj7", "Maj7": "maj7", "ma7": "maj7", "Δ": "maj7", "Δ7": "maj7",
    "m7": "m7", "min7": "m7", "mi7": "m7",
    "m7b5": "m7b5", "min7b5": "m7b5", "ø": "m7b5", "ø7": "m7b5",
    "dim7": "dim7", "o7": "dim7", "°7": "dim7",
    "mMaj7": "mM7", "mM7": "mM7", "mmaj7": "mM7", "m(maj7)": "mM7", "minmaj7": "mM7",
    "aug7": "aug7", "+7": "aug7", "7#5": "aug7", "7+5": "aug7",
    "maj7#5": "augM7", "+maj7": "augM7", "augmaj7": "augM7", "+M7": "augM7",
    "7b5": "7b5",
    "sus2": "sus2", "sus4": "sus4", "sus": "sus4",
    "7sus4": "7sus4", "7sus": "7sus4",
    "6": "6", "maj6": "6", "M6": "6",
    "m6": "m6", "min6": "m6",
    "5": "5",
    "add9": "add9",
    "madd9": "madd9", "m(add9)": "madd9", "minadd9": "madd9",
    "6/9": "6/9", "69": "6/9",
    "9": "9", "dom9": "9",
    "maj9": "maj9", "M9": "maj9", "Maj9": "maj9",
    "m9": "m9", "min9": "m9",
    "7b9": "7b9", "7#9": "7#9",
    "11": "11", "m11": "m11", "min11": "m11",
    "13": "13", "maj13": "maj13", "M13": "maj13", "m13": "m13", "min13": "m13",
}  # fmt: skip

# Alterations allowed after a base suffix ("C7b9#11", "Cm7(b5)", "C7sus4", "Cadd#11").
# Each maps to (intervals removed, interval added).
ALTERATIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "b5": (("P5",), "d5"),
    "#5": (("P5",), "A5"),
    "b9": (("M9",), "m9"),
    "9": ((), "M9"),
    "#9": (("M9",), "A9"),
    "11": ((), "P11"),
    "#11": (("P11",), "A11"),
    "b13": (("M13",), "m13"),
    "13": ((), "M13"),
    "sus2": (("M3", "m3"), "M2"),
    "sus4": (("M3", "m3"), "P4"),
    "sus": (("M3", "m3"), "P4"),
    "no3": (("M3", "m3"), None),
    "omit3": (("M3", "m3"), None),
    "no5": (("P5",), None),
    "omit5": (("P5",), None),
    "add2": ((), "M2"),
    "add4": ((), "P4"),
    "add6": ((), "M6"),
    "addb9": ((), "m9"),
    "add9": ((), "M9"),
    "add#9": ((), "A9"),
    "add11": ((), "P11"),
    "add#11": ((), "A11"),
    "addb13": ((), "m13"),
    "add13": ((), "M13"),
}

# Extra pitch-class offset above a matched chord -> (tension symbol, interval).
TENSION_BY_OFFSET: dict[int, tuple[str, str]] = {
    1: ("b9", "m9"),
    2: ("9", "M9"),
    3: ("#9", "A9"),
    5: ("11", "P11"),
    6: ("#11", "A11"),
    8: ("b13", "m13"),
    9: ("13", "M13"),
}

# Canonical alteration tokens in rendering order, with their words.
MOD_WORDS: dict[str, str] = {
    "sus2": "suspended second",
    "sus4": "suspended fourth",
    "no3": "no third",
    "b5": "flat fifth",
    "#5": "sharp fifth",
    "no5": "no fifth",
    "add2": "added second",
    "add4": "added fourth",
    "add6": "added sixth",
    "b9": "flat ninth",
    "9": "ninth",
    "#9": "sharp ninth",
    "11": "eleventh",
    "#11": "sharp eleventh",
    "b13": "flat thirteenth",
    "13": "thirteenth",
}
