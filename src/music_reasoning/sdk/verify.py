"""Check an explanation against the facts: every note, chord symbol and roman numeral.

The scanner reads prose the way a musician would:

* a capital ``A``-``G`` with an optional ``#``/``b`` and nothing else is a note name,
  except the article "A" ("A dominant seventh chord ...");
* the same followed by a chord suffix (``7``, ``m7b5``, ``maj7``, ``sus4``, ``/E`` ...)
  is a chord symbol, compared by its sound (root, pitch classes, bass), so ``CM7``
  matches ``Cmaj7``;
* roman numerals (``ii7``, ``V7/vi``, ``bVII``) are compared without their quality
  figures, so ``ii-V-I`` matches ``ii7 V7 Imaj7``; a bare ``I``, ``i`` or ``v`` counts
  only inside a dashed sequence (``ii-V-I``), never as the pronoun or an abbreviation.

* "X major" / "X minor" (a chord or a key, not "A major third") must be a chord or key
  of the facts; a quality before "chord" or "triad" must be one of the facts' chords;
  "the minor third C" must be true above the root; a named cadence must be one found;
* "F sharp", "B-flat" are notes (F#, Bb), but "A flat seventh" is the article;
* "the major third of B is D" is checked on its own terms (it is D#), whatever the facts;
* a chord tied to a numeral ("Dm7 (ii7)", "Dm7 is the ii7") must have that numeral in
  the progression; in a named key ("G7 is the V7 of C") the theory layer says what the
  chord is in that key.

Anything named that the facts do not contain is a contradiction.  Unknown symbols that
the theory layer cannot parse are contradictions too: a grounded answer has no reason
to invent them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from music_reasoning.errors import InvalidInputError, MusicReasoningError
from music_reasoning.sdk._claims import claim_problems, own_terms
from music_reasoning.sdk.facts import Facts
from music_reasoning.theory import CHORD_QUALITIES, analyze_progression, build_chord
from music_reasoning.theory.notes import pitch_class, spell_above

__all__ = ["Claims", "chord_sound", "extract_claims", "false_relations", "find_contradictions"]

_NOTE = r"[A-G](?:bb|##|#|b|♯|♭)?"
_SUFFIX = r"(?:6/9|maj|min|dim|aug|sus|add|alt|m|M|ø|°|\+|Δ|\d+|b(?=\d)|#(?=\d)|\([^)\s]*\))*"
_TOKEN_RE = re.compile(
    rf"(?<![\w#/])({_NOTE})({_SUFFIX})(?:/({_NOTE}))?(?![\w#♯♭])(?!\.[A-Za-z]\.)"
)
# "F sharp", "B-flat": a spelled-out accidental belongs to the note.  Only "A" can be the
# article ("A flat seventh", "A sharp dissonance"): see ``_spell``.
_SPELLED_RE = re.compile(r"\b([A-G])([ -])(sharp|flat)\b")
_DASHES = "-\u2013\u2014\u2192"  # hyphen, en dash, em dash, arrow
_DASHES_CLASS = r"\-\u2013\u2014\u2192"
_NUMERAL = r"(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i)"
_ACC = r"[b#♭♯]?"
_FIGURES = r"(?:6/9|ø|°|\+|maj|M|Δ|\d+)*"
_ROMAN_RE = re.compile(
    rf"(?<![\w/])({_ACC})({_NUMERAL})({_FIGURES})(?:/({_ACC})({_NUMERAL}))?(?![\w])"
)
# "Dm7 (ii7)", "Dm7 is the ii7", "G7 = V7", "ii7 (Dm7)": one chord tied to its numeral.
# Not a chord list tied to a numeral list ("Dm7-G7-Cmaj7 is the ii-V-I"), and not a
# numeral of another key ("Bb7 is the V7 of Eb").
_SYMBOL = rf"{_NOTE}{_SUFFIX}(?:/{_NOTE})?"
_ROMAN_PLAIN = rf"{_ACC}{_NUMERAL}{_FIGURES}(?:/{_ACC}{_NUMERAL})?"
_PAIR_END = rf"(?![\w])(?!\s*[{_DASHES_CLASS}])(?! (?:of|in|substitute)\b)"
_PAIR_RE = re.compile(
    rf"(?<![\w#/{_DASHES_CLASS}])(?<![{_DASHES_CLASS}] )({_SYMBOL})\s*(?:\(|=|is the )"
    rf"({_ROMAN_PLAIN}){_PAIR_END}"
)
_PAIR_REVERSED_RE = re.compile(
    rf"(?<![\w/{_DASHES_CLASS}])({_ROMAN_PLAIN})\s*\(({_SYMBOL})\)(?!\s*[{_DASHES_CLASS}])"
)
# "G7 is the V7 of C", "Bb7 acts as the bVII7 in C major": a numeral in a named key,
# checked on its own terms (the theory layer says what the chord is in that key).
_KEYED_RE = re.compile(
    rf"(?<![\w#/])({_SYMBOL}) (?:is|acts as|functions as) (?:the |a |an )?({_ROMAN_PLAIN})"
    rf"(?: chord)? (?:of|in) (?:the key of )?({_NOTE})(?: (major|minor))?(?![\w#♯♭])"
)
_BORROWED_RE = re.compile(rf"\bborrowed from (?:the )?(?:parallel )?({_NOTE}) (major|minor)\b")
_INTERVALS = r"(?:second|third|fourth|fifth|sixth|seventh|ninth|eleventh|thirteenth|interval)"
_ALTERED = r"(?:raised|lowered|flat(?:ted)?|sharp(?:ened)?)"
_NAME_RE = re.compile(
    rf"(?<![\w#/])({_NOTE}) (major|minor)(?![\w-])(?! {_INTERVALS})(?!,? with an? {_ALTERED}\b)"
)
#: Other names teachers use for a quality (read as the quality they name).
_QUALITY_ALIASES = {
    "major-minor seventh": "dominant seventh",
    "major minor seventh": "dominant seventh",
    "minor major seventh": "minor-major seventh",
    "half diminished seventh": "half-diminished seventh",
    "minor seventh flat five": "half-diminished seventh",
    "fully diminished seventh": "diminished seventh",
    "fully-diminished seventh": "diminished seventh",
    "augmented minor seventh": "augmented seventh",
}
_QUALITY_RE = re.compile(
    r"\b("
    + "|".join(
        re.escape(q) for q in sorted((*CHORD_QUALITIES, *_QUALITY_ALIASES), key=len, reverse=True)
    )
    + r")\s+(?:chord|triad)s?\b",
    re.IGNORECASE,
)
_QUALITY_SHORT = {"minor": "m", "major": "M", "perfect": "P", "diminished": "d", "augmented": "A"}
_ORDINAL_NUMBER = {
    "unison": "1",
    "second": "2",
    "third": "3",
    "fourth": "4",
    "fifth": "5",
    "sixth": "6",
    "seventh": "7",
    "ninth": "9",
    "eleventh": "11",
    "thirteenth": "13",
}
_QUALITY = r"(?i:minor|major|perfect|diminished|augmented)"
_ORDINAL = rf"(?i:{'|'.join(_ORDINAL_NUMBER)})"
# "the minor third C", "a perfect fifth, G,", "a minor third of B": quality + ordinal +
# the note (words in any case, the note a capital letter).
_INTERVAL_RE = re.compile(
    rf"\b({_QUALITY}) ({_ORDINAL}),? (?:(?:is |at )?({_NOTE})|of ({_NOTE})(?! (?:is|would be|=)\b))"
    rf"(?![\w#♯♭])"
)
# "the major third of B is D": a claim about two notes, true or false whatever the facts.
_RELATIVE_RE = re.compile(
    rf"\b({_QUALITY}) ({_ORDINAL}) (?i:above|of|from) ({_NOTE}) (?:is|would be|=) ({_NOTE})"
    rf"(?![\w#♯♭])"
)
_CADENCE_RE = re.compile(
    r"\b(authentic|plagal|half|deceptive|backdoor|perfect|imperfect)\s+cadences?\b",
    re.IGNORECASE,
)
_INTERVAL_LIST_RE = re.compile(r"\b[PMmdA]\d{1,2}(?:(?:,? and |, | )[PMmdA]\d{1,2})+\b")
# What may stand between a sentence's (or a line's, a bullet's) start and its first word.
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?:\n])[\s*_\"'\u201c\u2018(\[\u2022>#\-]*$")
_NOTE_FOLLOWERS = {"and", "or", "to", "is", "are", "was", "in", "with", "plus", "then", "as"}
_QUALITY_WORDS = {
    "major",
    "minor",
    "sharp",
    "flat",
    "natural",
    "dorian",
    "phrygian",
    "lydian",
    "mixolydian",
    "aeolian",
    "locrian",
    "pentatonic",
    "blues",
    "harmonic",
    "melodic",
}
_INTERVAL_WORDS = {"second", "third", "fourth", "fifth", "sixth", "seventh", "ninth", "interval"}
_CHORD_WORDS = {"chord", "chords", "triad", "triads", "scale", "scales"}


@dataclass(frozen=True)
class Claims:
    """What a text names: notes, chord symbols, roman numerals, "X major/minor" names
    (a chord or a key) and chord qualities ("a minor seventh chord")."""

    notes: tuple[str, ...]
    symbols: tuple[str, ...]
    romans: tuple[str, ...]
    names: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    intervals: tuple[tuple[str, str], ...] = ()  # (note, short interval name)
    cadences: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()  # (chord symbol, roman numeral)
    relations: tuple[tuple[str, str, str], ...] = ()  # (from note, interval, to note)
    keyed: tuple[tuple[str, str, str], ...] = ()  # (chord symbol, numeral, "C major")


def _ascii(token: str) -> str:
    return token.replace("♯", "#").replace("♭", "b")


def _is_article(text: str, start: int, end: int) -> bool:
    """Tell the article "A" from the note A by the words that follow it.

    A note is followed by punctuation, a conjunction or verb (``A and C``, ``A is``),
    or a quality word (``A minor``) that does not go on to an interval (``A major
    third`` is an interval).  Anything else (``A G7 chord``, ``A cadence``) is the article,
    and so is "A major triad ..." opening a sentence (a chord in general, not one on A).
    """
    rest = text[end:]
    if not re.match(r"\s+\w", rest):
        return False
    words = rest.split(None, 2)
    first = words[0].strip(",.;:!?)").lower() if words else ""
    if first in _NOTE_FOLLOWERS:
        return False
    if first in {"sharp", "flat"}:  # "A flat, C", "A flat major" vs "A flat seventh"
        after = re.match(r"\s+(?:sharp|flat)\s+(\w+)", rest)
        return after is not None and after.group(1).lower() not in _NOTE_FOLLOWERS | _QUALITY_WORDS
    if first in _QUALITY_WORDS:
        second = words[1].strip(",.;:!?)").lower() if len(words) > 1 else ""
        opens_sentence = _SENTENCE_START_RE.search(text[:start]) is not None
        return second in _INTERVAL_WORDS or (opens_sentence and second in _CHORD_WORDS)
    return True


def _spell(m: re.Match[str]) -> str:
    """``F sharp`` -> ``F#``; ``A-flat`` -> ``Ab``; ``A flat seventh`` stays (the article)."""
    letter, sep, word = m.groups()
    if letter == "A" and sep == " " and _is_article(m.string, m.start(), m.start() + 1):
        return m.group(0)
    return letter + ("#" if word == "sharp" else "b")


def _in_dashed_sequence(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1] in _DASHES) or (end < len(text) and text[end] in _DASHES)


def extract_claims(text: str) -> Claims:
    """Find every note name, chord symbol and roman numeral written in ``text``."""
    # Interval lists ("P1, M3, A5") are not chords: blank them before reading symbols.
    text = _INTERVAL_LIST_RE.sub(lambda m: " " * len(m.group(0)), text)
    text = _SPELLED_RE.sub(_spell, text)
    keyed_matches = list(_KEYED_RE.finditer(text))
    keyed = [
        (_ascii(m.group(1)), _ascii(m.group(2)), f"{_ascii(m.group(3))} {m.group(4) or 'major'}")
        for m in keyed_matches
    ]
    keyed_spans = {m.span(2) for m in keyed_matches}
    for m in keyed_matches:  # the key belongs to that claim, not to the subject's notes
        text = text[: m.start(3)] + " " * (m.end() - m.start(3)) + text[m.end() :]
    notes: list[str] = []
    symbols: list[str] = []
    articles: set[int] = set()
    for m in _TOKEN_RE.finditer(text):
        root, suffix, bass = m.group(1), m.group(2), m.group(3)
        if not suffix and not bass:
            if root == "A" and _is_article(text, m.start(), m.end()):
                articles.add(m.start())
            else:
                notes.append(_ascii(root))
        else:
            symbols.append(_ascii(m.group(0)))
    romans: list[str] = []
    for m in _ROMAN_RE.finditer(text):
        if m.span() in keyed_spans:  # checked with its key instead
            continue
        accidental, numeral, figures, _sec_acc, sec = m.groups()
        bare = not accidental and not figures and not sec
        if (
            bare
            and numeral in {"I", "i", "v"}
            and not _in_dashed_sequence(text, m.start(), m.end())
        ):
            continue
        romans.append(_ascii(m.group(0)))
    pairs = [(_ascii(m.group(1)), _ascii(m.group(2))) for m in _PAIR_RE.finditer(text)]
    pairs += [(_ascii(m.group(2)), _ascii(m.group(1))) for m in _PAIR_REVERSED_RE.finditer(text)]
    relations = [
        (
            _ascii(m.group(3)),
            _QUALITY_SHORT[m.group(1).lower()] + _ORDINAL_NUMBER[m.group(2).lower()],
            _ascii(m.group(4)),
        )
        for m in _RELATIVE_RE.finditer(text)
    ]
    names = [
        _ascii(f"{m.group(1)} {m.group(2)}")
        for m in _NAME_RE.finditer(text)
        if m.start() not in articles
    ]
    qualities = [
        _QUALITY_ALIASES.get(m.group(1).lower(), m.group(1).lower())
        for m in _QUALITY_RE.finditer(text)
    ]
    intervals = [
        (
            _ascii(m.group(3) or m.group(4)),
            _QUALITY_SHORT[m.group(1).lower()] + _ORDINAL_NUMBER[m.group(2).lower()],
        )
        for m in _INTERVAL_RE.finditer(text)
    ]
    cadences = [m.group(1).lower() for m in _CADENCE_RE.finditer(text)]
    return Claims(
        tuple(notes),
        tuple(symbols),
        tuple(romans),
        tuple(names),
        tuple(qualities),
        tuple(intervals),
        tuple(cadences),
        tuple(pairs),
        tuple(relations),
        tuple(keyed),
    )


@lru_cache(maxsize=1024)
def chord_sound(symbol: str) -> tuple[int, frozenset[int], int] | None:
    """A chord's (root, pitch classes, bass): how chords are compared (``CM7`` is ``Cmaj7``)."""
    try:
        info = build_chord(symbol)
    except InvalidInputError:
        return None
    return (
        pitch_class(info.root),
        frozenset(pitch_class(n) for n in info.notes),
        pitch_class(info.bass),
    )


def _roman_key(roman: str) -> tuple[str, str, str]:
    m = _ROMAN_RE.fullmatch(_ascii(roman))
    if not m:
        return ("", roman, "")
    accidental, numeral, _figures, sec_acc, sec = m.groups()
    return (accidental, numeral, f"{sec_acc or ''}{sec or ''}")


def find_contradictions(text: str, facts: Facts) -> list[str]:
    """Return one message per note, symbol or numeral in ``text`` that the facts lack."""
    normalized = normalize(text)
    claims = extract_claims(own_terms(normalized))
    problems: list[str] = []
    for note in dict.fromkeys(claims.notes):
        if pitch_class(note) not in facts.notes:
            problems.append(f"names the note {note}, which is not part of {facts.subject}")
    allowed_sounds = {s for s in (chord_sound(x) for x in facts.symbols) if s is not None}
    for symbol in dict.fromkeys(claims.symbols):
        sound = chord_sound(symbol)
        if sound is None or sound not in allowed_sounds:
            problems.append(f"names the chord {symbol}, which is not part of {facts.subject}")
    for name in dict.fromkeys(claims.names):
        tonic, kind = name.split()
        if (pitch_class(tonic), kind) not in facts.names:
            problems.append(f"speaks of {name}, which does not belong to {facts.subject}")
    for quality in dict.fromkeys(claims.qualities):
        if quality not in facts.qualities:
            problems.append(f"calls a chord {quality}, which no chord of {facts.subject} is")
    if facts.intervals is not None:
        for note, interval in dict.fromkeys(claims.intervals):
            if (pitch_class(note), interval) not in facts.intervals:
                problems.append(f"calls {note} a {interval} in {facts.subject}, which it is not")
    for cadence in dict.fromkeys(claims.cadences):
        if cadence not in facts.cadences:
            article = "an" if cadence[0] in "aeiou" else "a"
            problems.append(
                f"names {article} {cadence} cadence, which {facts.subject} does not have"
            )
    allowed_romans = {_roman_key(r) for r in facts.romans}
    for roman in dict.fromkeys(claims.romans):
        if _roman_key(roman) not in allowed_romans:
            problems.append(f"names {roman}, which is not a numeral of {facts.subject}")
    problems += _pair_problems(claims, facts)
    if facts.key is not None:
        tonic, mode = facts.key.split()
        for m in _BORROWED_RE.finditer(text):
            source = f"{_ascii(m.group(1))} {m.group(2)}"
            if pitch_class(m.group(1)) != pitch_class(tonic) or m.group(2) == mode:
                problems.append(
                    f"says a chord is borrowed from {source}; in {facts.key} chords are "
                    f"borrowed from the parallel {tonic} {'minor' if mode == 'major' else 'major'}"
                )
    return problems + false_relations(claims) + claim_problems(normalized, facts)


def false_relations(claims: Claims) -> list[str]:
    """Claims wrong on their own terms, whatever the subject: "G7 is the V7 of F major",
    "the major third of B is D"."""
    problems = []
    for symbol, roman, key in dict.fromkeys(claims.keyed):
        try:
            actual = analyze_progression([symbol], key=key).analysis[0].roman
        except InvalidInputError:
            continue
        if _roman_key(actual) != _roman_key(roman):
            problems.append(f"calls {symbol} the {roman} of {key}; it is {actual} there")
    for low, interval, high in dict.fromkeys(claims.relations):
        try:
            true_note = spell_above(low, interval)
        except MusicReasoningError:
            continue
        if pitch_class(true_note) != pitch_class(high):
            problems.append(f"says the {interval} of {low} is {high}; it is {true_note}")
    return problems


def normalize(text: str) -> str:
    """The text as the claim readers see it: ``F sharp`` -> ``F#``, ``♭`` -> ``b``."""
    return _ascii(_SPELLED_RE.sub(_spell, text))


def _pair_problems(claims: Claims, facts: Facts) -> list[str]:
    """A chord tied to a numeral must be tied to that numeral in the facts."""
    numerals: dict[tuple[int, frozenset[int], int], set[tuple[str, str, str]]] = {}
    for symbol, roman in facts.pairs:
        sound = chord_sound(symbol)
        if sound is not None:
            numerals.setdefault(sound, set()).add(_roman_key(roman))
    problems = []
    for symbol, roman in dict.fromkeys(claims.pairs):
        sound = chord_sound(symbol)
        allowed = numerals.get(sound) if sound is not None else None
        if allowed is not None and _roman_key(roman) not in allowed:
            problems.append(f"calls {symbol} {roman}, which it is not in {facts.subject}")
    return problems
