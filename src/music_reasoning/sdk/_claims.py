"""Claim readers: statements the verifier checks as a whole, not name by name.

:func:`.verify.find_contradictions` checks that every note, chord, numeral and key an
explanation *names* belongs to the facts.  A sentence can name only true things and still
be false ("Its step formula is W-H-W-W-W-W-H-W"), so each reader here finds one kind of
statement, works out what it is about, and asks the theory layer whether it holds::

    text ─► sentences ─► reader (formula, note list, count, relative, degree ...)
                            │ parses a claim?  no ─► nothing (prose is not a claim)
                            ▼
                         subject: named in the sentence ("C melodic minor", "G7")
                            │     or else the facts' own subject ("its notes ...")
                            ▼
                         theory layer / facts ─► false? one message

A statement a reader cannot parse is never a contradiction; one it parses and finds false
always is.  Text reaches the readers already normalized (``F sharp`` -> ``F#``, ``♭`` ->
``b``) by :mod:`.verify`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from music_reasoning.errors import MusicReasoningError
from music_reasoning.sdk.facts import Facts
from music_reasoning.theory import analyze_progression, build_chord, get_scale
from music_reasoning.theory.notes import pitch_class

__all__ = ["claim_problems", "own_terms"]

_NOTE = r"[A-G](?:bb|##|#|b)?"
_BARE_NOTE = rf"(?<![\w#/])({_NOTE})(?![\w#+°ø/])"
_SUFFIX = r"(?:maj|min|dim|aug|sus|add|m|M|ø|°|\+|\d+|b(?=\d)|#(?=\d))+"
_SYMBOL = rf"{_NOTE}(?:{_SUFFIX})?(?:/{_NOTE})?"
_CHORD_RE = re.compile(rf"(?<![\w#/])({_NOTE}{_SUFFIX}(?:/{_NOTE})?|{_NOTE}/{_NOTE})(?![\w#/])")
_NUMERAL = r"[b#]?(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i)(?:ø|°|\+|maj|M|\d+)*"
_ROMAN = rf"{_NUMERAL}(?:/[b#]?(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i))?"
_ITEM = rf"(?:{_SYMBOL}|{_ROMAN})"
_NEGATION_RE = re.compile(r"\b(?:not|never|unlike|rather than|instead of|than|n't|no)\b|n't\b")
_NUMBERS = {
    w: i
    for i, w in enumerate(
        (
            *("zero", "one", "two", "three", "four", "five", "six"),
            *("seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen"),
            *("fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
        )
    )
}
_NUMBER = rf"(\d+|{'|'.join(sorted(_NUMBERS, key=len, reverse=True))})"


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _pc(name: str) -> int | None:
    try:
        return pitch_class(name)
    except MusicReasoningError:
        return None


# ---------------------------------------------------------------------------- subjects


@dataclass(frozen=True)
class _Subject:
    """What a claim is about: a scale, a key or a chord, with what the theory says of it."""

    name: str
    kind: str  # "scale", "chord" or "progression"
    root: str = ""
    notes: tuple[str, ...] = ()
    formula: str | None = None
    intervals: tuple[str, ...] = ()
    relative: str | None = None
    parallel: str | None = None


_SCALE_WORDS = (
    "(?i:major pentatonic|minor pentatonic|pentatonic major|pentatonic minor|natural minor|"
    "harmonic minor|melodic minor|whole[- ]tone|diminished half[- ]whole|diminished whole[- ]half|"
    "half[- ]whole diminished|whole[- ]half diminished|half[- ]whole|whole[- ]half|"
    "major|minor|ionian|dorian|"
    "phrygian|lydian|mixolydian|aeolian|locrian|blues|diminished|octatonic|pentatonic|chromatic)"
)
_MODES = {"ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian"}
_MENTION_RE = re.compile(
    rf"(?<![\w#/])(?:({_NOTE}) )?({_SCALE_WORDS})(?: (scale|mode|key|chord|triad))?(?![\w#-])"
    r"(?! (?:second|third|fourth|fifth|sixth|seventh|ninth|eleventh|thirteenth|\d+th|add"
    r"|interval))",
)


def _scale(root: str, kind: str) -> _Subject | None:
    try:
        info = get_scale(root, kind)
    except MusicReasoningError:
        return None
    return _Subject(
        f"{root} {kind.lower()}",
        "scale",
        info.root,
        info.notes,
        info.formula,
        info.intervals,
        info.relative,
        info.parallel,
    )


def _chord(symbol: str) -> _Subject | None:
    try:
        info = build_chord(symbol)
    except MusicReasoningError:
        return None
    return _Subject(info.symbol, "chord", info.root, info.notes, None, info.intervals)


def _own(facts: Facts) -> _Subject:
    """The facts' own subject (what "it", "its notes" and "the scale" refer to)."""
    return _Subject(
        facts.key or facts.subject,
        facts.kind,
        facts.tonic or "",
        facts.members,
        facts.formula,
        facts.interval_formula,
        facts.relative,
        facts.parallel,
    )


def _mention(m: re.Match[str], facts: Facts) -> _Subject | None:
    """A scale, key or chord named in words ("C melodic minor", "the major scale")."""
    note, kind, noun = m.group(1), m.group(2).lower(), (m.group(3) or "").lower()
    if note is None and not noun and kind not in _MODES and "pentatonic" not in kind:
        return None  # a bare "major" or "minor" is a quality, not a subject
    if note and note[0] != m.group(1)[0].upper():
        return None
    chordish = noun in {"chord", "triad"} or (
        not noun and facts.kind == "chord" and kind in {"major", "minor", "diminished"}
    )
    if chordish:
        if note is None:
            return None
        return _chord(note + {"major": "", "minor": "m", "diminished": "dim"}.get(kind, "?"))
    return _scale(note or facts.tonic or "C", kind)


def _subject_before(sentence: str, end: int, facts: Facts, *, skip: int = -1) -> _Subject:
    """The last scale, key or chord named before ``end`` (else the facts' own subject)."""
    found: list[tuple[int, _Subject]] = []
    for m in _MENTION_RE.finditer(sentence[:end]):
        if m.start() == skip:
            continue
        subject = _mention(m, facts)
        if subject is not None:
            found.append((m.start(), subject))
    for m in _CHORD_RE.finditer(sentence[:end]):
        if m.start() == skip:
            continue
        subject = _chord(m.group(1))
        if subject is not None:
            found.append((m.start(), subject))
    if not found:
        return _own(facts)
    return max(found, key=lambda pair: pair[0])[1]


_STARTERS = frozenset(
    (
        *("its", "it", "the", "this", "that", "these", "those", "in", "an", "unlike", "here"),
        *("there", "both", "each", "from", "moving", "and", "so", "then", "when", "with"),
        *("because", "since", "as", "however", "also", "thus"),
    )
)


def _sentences(text: str) -> Iterator[str]:
    """Sentences, with a capitalized first word in lower case ("Its notes" -> "its notes")
    so that readers match it; note names and chords keep their capital."""
    for m in re.finditer(r"[^.!?;\n]+(?:[.!?;]+|$)", text):
        sentence = m.group(0)
        first = re.match(r"(\W*)([A-Z][a-z]+)\b", sentence)
        if first and first.group(2).lower() in _STARTERS:
            start = first.start(2)
            sentence = sentence[:start] + sentence[start].lower() + sentence[start + 1 :]
        yield sentence


def _pcs(notes: tuple[str, ...]) -> frozenset[int]:
    return frozenset(p for p in (_pc(n) for n in notes) if p is not None)


def _list(notes: tuple[str, ...] | list[str]) -> str:
    return ", ".join(notes)


# ---------------------------------------------------------------------------- formulas

_STEP_SIZES = (
    (r"W\+H|WH|step and a half|augmented second|1½", 3),
    (r"whole[- ](?:step|tone)s?|whole|W|T|tone", 2),
    (r"half[- ](?:step|tone)s?|half|semitone|H|S", 1),
)
_STEP = "|".join(f"(?:{p})" for p, _ in _STEP_SIZES)
_STEP_SEQ_RE = re.compile(
    rf"(?<![\w+])(?:{_STEP})(?:\s*(?:[\-\u2013\u2014,]|,? and|,? then)\s*(?:{_STEP})){{2,}}"
    r"(?![\w+])"
)
_STEP_TOKEN_RE = re.compile(rf"(?<![\w+])(?:{_STEP})(?![\w+])")


def _steps(text: str) -> tuple[int, ...]:
    out = []
    for m in _STEP_TOKEN_RE.finditer(text):
        out.append(next(size for p, size in _STEP_SIZES if re.fullmatch(p, m.group(0))))
    return tuple(out)


def _formula_steps(formula: str) -> tuple[int, ...]:
    return tuple(2 * token.count("W") + token.count("H") for token in formula.split("-"))


def _formulas(sentence: str, facts: Facts) -> Iterator[str]:
    """Step formulas: "W-H-W-W-W-H-W", "tone, tone, semitone", "whole-half-whole ..."."""
    for m in _STEP_SEQ_RE.finditer(sentence):
        subject = _subject_before(sentence, m.start(), facts)
        if subject.formula is None:
            continue
        claimed, true = _steps(m.group(0)), _formula_steps(subject.formula)
        if sum(claimed) == 12 or len(claimed) >= len(true):
            wrong = claimed != true
        else:  # a stretch of the formula ("it starts W-H-W")
            doubled = true + true
            wrong = not any(doubled[i : i + len(claimed)] == claimed for i in range(len(true)))
        if wrong:
            yield f"gives the steps of {subject.name} as {m.group(0)}; they are {subject.formula}"


_DEGREE_SEMITONES = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11, 8: 12, 9: 14, 11: 17, 13: 21}
_PERFECT = {1, 4, 5, 8, 11, 12}
_INTERVAL_ITEM = r"(?:[PMmdA](?:1[0-3]|[1-9])|[b#]?(?:1[13]|[1-9]))"
_INTERVAL_SEQ_RE = re.compile(
    rf"(?<![\w#/.-])(?:P1|1)(?:(?:,? and |, |-| )(?:{_INTERVAL_ITEM})){{2,}}(?![\w#/-])"
)


def _semitones(item: str) -> int | None:
    m = re.fullmatch(r"([PMmdA]|[b#]?)(\d+)", item)
    if m is None or int(m.group(2)) not in _DEGREE_SEMITONES:
        return None
    mark, number = m.group(1), int(m.group(2))
    base = _DEGREE_SEMITONES[number]
    shift = {"P": 0, "M": 0, "": 0, "b": -1, "#": 1, "A": 1}.get(mark)
    if shift is None:  # "m" or "d"
        shift = -1 if mark == "m" or number in _PERFECT else -2
    return (base + shift) % 12


def _interval_formulas(sentence: str, facts: Facts) -> Iterator[str]:
    """Interval formulas from the root: "1-2-b3-4-5-6-b7", "P1, M3, P5, m7"."""
    for m in _INTERVAL_SEQ_RE.finditer(sentence):
        items = re.findall(_INTERVAL_ITEM, m.group(0))
        claimed = [_semitones(i) for i in items]
        subject = _subject_before(sentence, m.start(), facts)
        if not subject.intervals or None in claimed:
            continue
        true = sorted(s for s in (_semitones(i) for i in subject.intervals) if s is not None)
        if sorted(s for s in claimed if s is not None) != true:
            yield (
                f"gives the intervals of {subject.name} as {m.group(0)}; "
                f"they are {' '.join(subject.intervals)}"
            )


# ---------------------------------------------------------------------------- note lists

_NOTE_LIST = rf"{_NOTE}(?![\w#])(?:(?:,? and |, |-|\u2013| ){_NOTE}(?![\w#]))+"
_LIST_RE = re.compile(
    r"(?:(?:its|the) (?:notes|pitches|tones) (?:are|:)|(?:has|contains|uses|holds|is made of) "
    r"(?:the |its )?(?:notes|pitches|tones):?|consists of(?: the notes)?|"
    r"(?:is )?made up of(?: the notes)?|is spelled|"
    r"(?:scale|chord|triad|mode) is|(?:scale|chord|triad|mode) ?:)"
    rf"\s+({_NOTE_LIST})(?!,? (?:etc|and so)|\.\.\.|…)"
)
_PARTIAL_RE = re.compile(
    r"\b(?:includ\w*|among|such as|some|other|remaining|also|first|lower|upper|top|"
    r"outer|inner|added|extra|plus|except|without|like)\b"
)


def _note_lists(sentence: str, facts: Facts) -> Iterator[str]:
    """A list given as *the* notes ("C major has the notes C, D, E, F and G")."""
    for m in _LIST_RE.finditer(sentence):
        if _PARTIAL_RE.search(sentence[: m.start(1)]):
            continue
        subject = _subject_before(sentence, m.start(), facts)
        true = subject.notes
        if "triad" in m.group(0) and subject.kind == "chord" and len(true) > 3:
            true = true[:3]
        if not true:
            continue
        claimed = tuple(re.findall(_NOTE, m.group(1)))
        if _pcs(claimed) != _pcs(true):
            yield f"lists the notes of {subject.name} as {_list(claimed)}; they are {_list(true)}"


# ---------------------------------------------------------------------------- counts

_COUNT_RES = (
    (
        "notes",
        re.compile(rf"\b{_NUMBER}[- ](?:note|tone|pitch) (chord|scale|mode|triad|set)\b", re.I),
    ),
    (
        "notes",
        re.compile(
            rf"\b(?:has|have|contains|uses|with|holds|of only|of just) (?:only |just |exactly )?"
            rf"{_NUMBER} (?:different |distinct |unique )?(?:notes|tones|pitches|pitch classes)\b"
            r"(?! (?:of|from|in|above|below|that|which|between|apart|away|to|up|down))",
            re.I,
        ),
    ),
    ("steps", re.compile(rf"\b{_NUMBER}(?: (?:whole|half))? steps long\b", re.I)),
    ("steps", re.compile(rf"\b{_NUMBER}[- ]step (?:formula|pattern)\b", re.I)),
    ("steps", re.compile(rf"\b(?:formula|pattern) (?:of|with|has) {_NUMBER} steps\b", re.I)),
)


def _counts(sentence: str, facts: Facts) -> Iterator[str]:
    """ "a four-note chord", "the scale has six notes", "a formula 48 steps long"."""
    for what, regex in _COUNT_RES:
        for m in regex.finditer(sentence):
            claimed = _number(m.group(1))
            noun = m.group(2).lower() if m.lastindex and m.lastindex > 1 else ""
            subject = _subject_before(sentence, m.start(), facts)
            if noun == "triad" or (
                subject.name == _own(facts).name
                and re.search(r"\btriads?\b", sentence[: m.start()])
            ):
                true: int | None = 3
            elif what == "steps":
                true = len(subject.formula.split("-")) if subject.formula else None
            else:
                true = len(_pcs(subject.notes)) or None
            if true is not None and claimed != true:
                unit = "notes" if what == "notes" else "steps"
                yield f"says {subject.name} has {claimed} {unit}; it has {true}"


# ---------------------------------------------------------------------------- related keys

_KEY = rf"({_NOTE}) ({_SCALE_WORDS})"
_REL = r"((?i:relative|parallel))"
_RELATED_RES = (
    # "the relative minor of Eb major is C minor"
    re.compile(
        rf"\b{_REL}(?: (major|minor))?(?: scale| key)? of (?:the )?{_KEY}(?: scale| key)?"
        rf",? (?:is|=) (?:the )?{_KEY}(?![\w#])",
    ),
    # "C minor is the relative minor of Eb major", "F# major is a relative minor scale"
    re.compile(
        rf"(?<![\w#]){_KEY}(?: scale| key)? is (?:the |its |a |an )?{_REL}(?: (major|minor))?"
        rf"(?: scale| key| mode)?(?: (?:of|to) (?:the )?{_KEY})?(?![\w#])",
    ),
    # "Its relative minor is B minor", "the parallel major, A major"
    re.compile(
        rf"\b(?:its|the) {_REL}(?: (major|minor))?(?: scale| key)?(?: is|,|:)? (?:the )?{_KEY}"
        r"(?![\w#])",
    ),
)


def _related(which: str, subject: _Subject | None) -> str | None:
    if subject is None:
        return None
    return subject.relative if which.lower() == "relative" else subject.parallel


def _same_key(a: str, b: str) -> bool:
    """ "C minor" and "C natural minor pentatonic" name the same tonic and mode."""
    ta, _, ma = a.partition(" ")
    tb, _, mb = b.partition(" ")
    mode_a = "minor" if "minor" in ma else "major" if "major" in ma else ma
    mode_b = "minor" if "minor" in mb else "major" if "major" in mb else mb
    return _pc(ta) == _pc(tb) and mode_a.lower() == mode_b.lower()


def _relatives(sentence: str, facts: Facts) -> Iterator[str]:
    """Relative and parallel keys, checked by the theory layer on their own terms."""
    first, second, third = _RELATED_RES
    for m in first.finditer(sentence):
        which, mode = m.group(1), m.group(2)
        source, claimed = f"{m.group(3)} {m.group(4)}", f"{m.group(5)} {m.group(6)}"
        yield from _check_related(which, mode, _scale(m.group(3), m.group(4)), source, claimed)
    for m in second.finditer(sentence):
        claimed, which, mode = f"{m.group(1)} {m.group(2)}", m.group(3), m.group(4)
        if m.group(5):
            source = f"{m.group(5)} {m.group(6)}"
            yield from _check_related(which, mode, _scale(m.group(5), m.group(6)), source, claimed)
        elif mode and not _same_key(claimed, f"{m.group(1)} {mode}"):
            yield f"calls {claimed} a {which.lower()} {mode.lower()}, which it is not"
    for m in third.finditer(sentence):
        if _NEGATION_RE.search(sentence[: m.start()]):
            continue
        own = _subject_before(sentence, m.start(), facts)
        claimed = f"{m.group(3)} {m.group(4)}"
        yield from _check_related(m.group(1), m.group(2), own, own.name, claimed)


def _check_related(
    which: str, mode: str | None, subject: _Subject | None, source: str, claimed: str
) -> Iterator[str]:
    true = _related(which, subject)
    if true is None:
        return
    if not _same_key(true, claimed) or (mode and mode.lower() not in claimed.lower()):
        yield f"says the {which.lower()} of {source} is {claimed}; it is {true}"


_SAME_RE = re.compile(
    r"\b(?:has|have|uses|use|shares?|contains?|with|uses exactly|has exactly) (?:exactly )?"
    r"the same (notes|pitches|pitch classes|formula|step formula|intervals|steps|step pattern"
    r"|pattern of steps) as (?:the |its |a |an )?"
    rf"(?:{_REL}(?: (major|minor))?(?: scale| key)?|(?:({_NOTE}) )?({_SCALE_WORDS})"
    r"(?: scale| mode| key)?)(?![\w#])",
)
_SHARES_RE = re.compile(
    r"\bshares? (?:all )?(?:of )?its (notes|pitches) with (?:the |its |a )?"
    rf"(?:{_REL}(?: (major|minor))?(?: scale| key)?|(?:({_NOTE}) )?({_SCALE_WORDS})"
    r"(?: scale| mode| key)?)(?![\w#])",
)
_HEDGE_RE = re.compile(r"\b(?:almost|nearly|mostly|most of|all but|except)\b", re.I)


def _same_as(sentence: str, facts: Facts) -> Iterator[str]:
    """ "has the same notes as the major scale", "uses the same formula as C major"."""
    for regex in (_SAME_RE, _SHARES_RE):
        for m in regex.finditer(sentence):
            before = sentence[: m.start()]
            if _NEGATION_RE.search(before[-40:]) or _HEDGE_RE.search(sentence):
                continue
            what, which, _mode, note, kind = m.groups()
            subject = _subject_before(sentence, m.start(), facts)
            if which:
                related = _related(which, subject)
                other = _scale(*related.split(" ", 1)) if related else None
            else:
                other = _scale(note or subject.root or "C", kind)
            if other is None or not subject.notes:
                continue
            if what.lower() in {"notes", "pitches", "pitch classes"}:
                if _pcs(subject.notes) != _pcs(other.notes):
                    yield (
                        f"says {subject.name} has the same notes as {other.name}; "
                        f"they are {_list(subject.notes)} and {_list(other.notes)}"
                    )
            elif other.formula and subject.formula and other.formula != subject.formula:
                yield (
                    f"says {subject.name} has the same formula as {other.name}; "
                    f"they are {subject.formula} and {other.formula}"
                )


# ---------------------------------------------------------------------------- degrees

_DEGREE = (
    r"((?i:tonic|supertonic|mediant|subdominant|dominant|submediant|leading[- ]tone|"
    r"leading[- ]note|subtonic))"
)
_ALTER = r"(?:(raised|lowered|flattened|sharpened|flat|sharp) )?"
_NOT_DEGREE = (
    r"(?! (?:seventh|7th|ninth|eleventh|thirteenth|function|role|area|of|to|in|key|scale"
    r"|chords))(?![\w-])"
)
_DEGREE_RES = (
    # "C is the tonic", "G, the dominant", "B (the leading tone)"
    re.compile(
        rf"{_BARE_NOTE}(?:,| is| \(|, which is) the {_ALTER}{_DEGREE}"
        rf"(?: (?:note|degree|tone|pitch|chord|triad))?{_NOT_DEGREE}",
    ),
    # "the tonic C", "the dominant is G", "the leading tone, B"
    re.compile(
        rf"\bthe {_ALTER}{_DEGREE}(?: (?:note|degree|tone|pitch))?(?:,| is| \(|:)? {_BARE_NOTE}"
        r"(?! (?:major|minor))",
    ),
)
_DEGREE_OF_RE = re.compile(
    rf"{_BARE_NOTE} is the {_ALTER}{_DEGREE} (?:note |degree |chord )?(?:of|in) (?:the key of )?"
    rf"({_NOTE})(?: ({_SCALE_WORDS}))?(?: scale| mode| key)?(?![\w#])",
)
_CHORD_DEGREE_RE = re.compile(
    rf"(?<![\w#/])(?:the )?({_ROMAN}|{_NOTE}{_SUFFIX})(?: chord| triad)? is the {_ALTER}{_DEGREE}"
    rf"(?: chord| triad)?{_NOT_DEGREE}"
)


def _base(name: str) -> str:
    name = name.lower().replace("-", " ").replace("leading note", "leading tone")
    return name.split(" ", 1)[1] if name.startswith(("raised ", "lowered ")) else name


def _degree_names(degrees: frozenset[tuple[int, str]], pc: int) -> set[str]:
    return {_base(name) for p, name in degrees if p == pc}


def _degrees(sentence: str, facts: Facts) -> Iterator[str]:
    """Degree names and the note or chord that holds them ("G is the dominant")."""
    own_terms = set()
    for m in _DEGREE_OF_RE.finditer(sentence):
        own_terms.add(m.start())
        note, degree, tonic, mode = m.group(1), m.group(3), m.group(4), m.group(5) or "major"
        info = _scale_degrees(tonic, mode)
        pc = _pc(note)
        if info is not None and pc is not None and _base(degree) not in _degree_names(info, pc):
            yield f"calls {note} the {degree} of {tonic} {mode}; it is not"
    if not facts.degrees:
        return
    first, second = _DEGREE_RES
    claims = [(m.start(), m.group(1), m.group(3)) for m in first.finditer(sentence)]
    claims += [(m.start(), m.group(3), m.group(2)) for m in second.finditer(sentence)]
    for start, note, degree in claims:
        pc = _pc(note)
        if start in own_terms or pc is None:
            continue
        if _base(degree) not in _degree_names(facts.degrees, pc):
            yield f"calls {note} the {degree}; in {_key_name(facts)} it is not"
    for m in _CHORD_DEGREE_RE.finditer(sentence):
        root = _root(m.group(1), facts)
        if root is None or "/" in m.group(1):
            continue
        if _base(m.group(3)) not in _degree_names(facts.degrees, root):
            yield f"calls {m.group(1)} the {m.group(3)}; in {_key_name(facts)} it is not"


def _scale_degrees(tonic: str, mode: str) -> frozenset[tuple[int, str]] | None:
    try:
        info = get_scale(tonic, mode)
    except MusicReasoningError:
        return None
    degrees = {(pitch_class(d.note), d.name) for d in info.degrees}
    if info.type == "natural_minor":
        degrees.add(((pitch_class(info.root) + 11) % 12, "leading tone"))
    return frozenset(degrees)


def _key_name(facts: Facts) -> str:
    if facts.key:
        return facts.key
    if facts.scale:
        return facts.subject
    return f"the key {facts.subject} resolves to"


def _root(item: str, facts: Facts) -> int | None:
    """The root pitch class of a chord symbol or of a numeral of the progression."""
    if item[:1] in "ABCDEFG":
        chord = _chord(item)
        return _pc(chord.root) if chord else None
    for symbol, roman in facts.pairs:
        if _same_numeral(roman, item):
            chord = _chord(symbol)
            return _pc(chord.root) if chord else None
    return None


def _same_numeral(a: str, b: str) -> bool:
    """Numerals compared without their figures (``V7`` is ``V``; ``V7/vi`` is not)."""

    def key(r: str) -> tuple[str, str]:
        head, _, target = r.partition("/")
        m = re.match(r"[b#]?(?:VII|III|VI|IV|II|V|I|vii|iii|vi|iv|ii|v|i)", head)
        return (m.group(0) if m else head, target)

    return key(a) == key(b)


# ---------------------------------------------------------------------------- functions

_FUNCTION = r"(tonic|pre-?dominant|subdominant|dominant)"
_FUNCTION_RES = (
    # "the IV chord is dominant", "F has a predominant function", "G7 is a dominant chord"
    re.compile(
        rf"(?<![\w#/])(?:the )?({_ITEM})(?: chord| triad)? (?:is|has|have|plays|serves|with)"
        rf"(?: an?| the)? {_FUNCTION}(?: function| role| chord)?"
        r"(?! (?:seventh|7th|ninth|eleventh|thirteenth|of|in|key|scale|note|degree))(?![\w-])"
    ),
    # "Am is vi (tonic)", "F = IV (predominant)"
    re.compile(rf"(?<![\w#/])({_SYMBOL}) (?:is|=) {_ROMAN} \({_FUNCTION}\)"),
)


def _function_name(word: str) -> str:
    word = word.lower().replace("-", "")
    return "predominant" if word == "subdominant" else word


def _functions(sentence: str, facts: Facts) -> Iterator[str]:
    """Function words: "the IV chord is dominant" (IV is predominant)."""
    if not facts.functions:
        return
    first, second = _FUNCTION_RES
    for regex in (first, second):
        for m in regex.finditer(sentence):
            item, claimed = m.group(1), _function_name(m.group(2))
            if regex is first and re.search(r" is the \w+$", m.group(0)):
                continue  # "is the dominant" names a degree (see _degrees)
            known = _functions_of(item, facts)
            if known and claimed not in known:
                yield (
                    f"gives {item} a {claimed} function; in {facts.subject} it is "
                    f"{' or '.join(sorted(known))}"
                )


def _functions_of(item: str, facts: Facts) -> set[str]:
    out = set()
    sound = _sound(item) if item[:1] in "ABCDEFG" else None
    for name, function in facts.functions:
        if name[:1] in "ABCDEFG":
            if sound is not None and _sound(name) == sound:
                out.add(function)
        elif item[:1] not in "ABCDEFG" and _same_numeral(name, item):
            out.add(function)
    return out


def _sound(symbol: str) -> tuple[int, frozenset[int]] | None:
    chord = _chord(symbol)
    if chord is None:
        return None
    return (pitch_class(chord.root), _pcs(chord.notes))


# ---------------------------------------------------------------------------- moves

_CADENCE_TYPES = {
    "authentic": "authentic",
    "perfect": "authentic",
    "perfect authentic": "authentic",
    "imperfect authentic": "authentic",
    "plagal": "plagal",
    "half": "half",
    "imperfect": "half",
    "deceptive": "deceptive",
    "interrupted": "deceptive",
    "backdoor": "backdoor",
}
_TYPE = (
    r"((?i:perfect authentic|imperfect authentic|authentic|perfect|imperfect|plagal|half|"
    r"deceptive|interrupted|backdoor))"
)
_TO = r"(?: to |\s*[\u2192\u2013\-]\s*| into | moving to | going to | resolving to )(?:the )?"
_CADENCE_RES = (
    re.compile(
        rf"(?<![\w#/])(?:the move from |from |moving from )?({_ITEM}){_TO}({_ITEM})(?: chord)?,?"
        rf" (?:is|forms|makes|creates|gives|produces|as|in|makes up)(?: us)? (?:an? |the )?{_TYPE} "
        r"cadence",
    ),
    re.compile(
        rf"\b{_TYPE} cadence,? (?:from |between |of |with )?\(?({_ITEM})"
        r"(?: to | and |\s*[\u2192\u2013\-]\s*)"
        rf"(?:the )?({_ITEM})(?![\w#])",
    ),
)


def _matches(item: str, symbol: str, roman: str) -> bool:
    """Does ``item`` (a symbol, a bare note or a numeral) name this chord?"""
    if item[:1] in "ABCDEFG":
        if re.fullmatch(_NOTE, item):
            chord = _chord(symbol)
            return chord is not None and _pc(chord.root) == _pc(item)
        return _sound(item) == _sound(symbol) and _sound(item) is not None
    return _same_numeral(item, roman)


def _numeral_of(facts: Facts) -> dict[str, str]:
    return dict(facts.pairs)


def _cadence_pairs(sentence: str, facts: Facts) -> Iterator[str]:
    """Which two chords a cadence joins ("the move from G to C is a half cadence")."""
    first, second = _CADENCE_RES
    claims = [(m.group(1), m.group(2), m.group(3)) for m in first.finditer(sentence)]
    claims += [(m.group(2), m.group(3), m.group(1)) for m in second.finditer(sentence)]
    for a, b, kind in claims:
        cadence = _CADENCE_TYPES[kind.lower()]
        if facts.kind == "progression":
            numeral = _numeral_of(facts)
            moves = [
                (x, y)
                for x, y in facts.moves
                if _matches(a, x, numeral.get(x, "")) and _matches(b, y, numeral.get(y, ""))
            ]
            found = {
                t
                for x, y, t in facts.cadence_pairs
                if _matches(a, x, numeral.get(x, "")) and _matches(b, y, numeral.get(y, ""))
            }
            if not moves and not found:
                yield f"speaks of a move from {a} to {b}; {facts.subject} has none"
            elif cadence not in found:
                yield f"calls {a} to {b} {_a(kind)} {kind} cadence; in {facts.subject} it is not"
        elif facts.kind == "chord" and a[:1] in "ABCDEFG" and b[:1] in "ABCDEFG":
            try:
                info = analyze_progression([a, b])
            except MusicReasoningError:
                continue
            if cadence not in {c.type for c in info.cadences}:
                yield f"calls {a} to {b} {_a(kind)} {kind} cadence, which it is not"


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_PATTERN_RE = re.compile(
    rf"(?<![\w#/\-\u2013\u2014])({_ROMAN}(?:\s*[\-\u2013\u2014]\s*{_ROMAN})+)(?![\w#\-\u2013\u2014])"
    rf"(?:(?: progression| pattern| loop| turnaround| cadence)? (?:in|of) (?:the key of )?"
    rf"({_NOTE})(?: (major|minor))?(?![\w#]))?"
)
_LOOSE_RE = re.compile(r"\b(?:rotation|variant|version|family|reminiscent|like)\b", re.I)


def _patterns(sentence: str, facts: Facts) -> Iterator[str]:
    """Numeral patterns ("a vi-IV-I-V") must match the progression's numerals in its key."""
    if facts.kind != "progression" or not facts.numerals:
        return
    for m in _PATTERN_RE.finditer(sentence):
        before = sentence[: m.start()]
        if _NEGATION_RE.search(before) or _LOOSE_RE.search(sentence):
            continue
        seq = [s.strip() for s in re.split(r"[\-\u2013\u2014]", m.group(1))]
        name = "-".join(seq)
        key = f"{m.group(2)} {m.group(3) or 'major'}" if m.group(2) else facts.key
        if before.rstrip().lower().endswith("backdoor") and any(
            n == f"backdoor {name}" for n, _k in facts.patterns
        ):
            continue
        numerals = _numerals_in(facts, key)
        if numerals is None:
            continue
        windows = (numerals[i : i + len(seq)] for i in range(len(numerals) - len(seq) + 1))
        if any(all(_same_numeral(x, y) for x, y in zip(w, seq, strict=True)) for w in windows):
            continue
        if any(n == name and k == key for n, k in facts.patterns):
            continue
        yield (
            f"calls {facts.subject} {_a(name)} {name}; in {key} its numerals are "
            f"{'-'.join(numerals)}"
        )


def _numerals_in(facts: Facts, key: str | None) -> tuple[str, ...] | None:
    if key is None or key == facts.key:
        return facts.numerals
    try:
        info = analyze_progression(list(facts.subject.split()), key=key)
    except MusicReasoningError:
        return None
    return tuple(a.roman for a in info.analysis)


_RESOLVE_RE = re.compile(
    rf"(?<![\w#/])({_ITEM}|[Ii]t)(?: chord)? (?:usually |naturally |then |typically |often "
    r"|strongly |normally |finally )?(?:resolves|resolve|resolving|resolved|leads|pulls) "
    r"(?:back |home |down |up )?(?:to|into|onto) (?:the )?(?:(?:tonic|home)(?: chord)?,? )?"
    rf"({_ITEM})(?![\w#])"
)


def _resolutions(sentence: str, facts: Facts) -> Iterator[str]:
    """ "G7 resolves to F": a resolution must be a move of the progression or a natural one
    (up a fourth, a fifth down to a plagal close, a step to a deceptive vi, a half step)."""
    numeral = _numeral_of(facts)
    for m in _RESOLVE_RE.finditer(sentence):
        a, b = m.group(1), m.group(2)
        if a.lower() == "it":
            if facts.kind != "chord":
                continue
            a = facts.subject
        if facts.kind == "progression" and any(
            _matches(a, x, numeral.get(x, "")) and _matches(b, y, numeral.get(y, ""))
            for x, y in facts.moves
        ):
            continue
        first, second = _as_chord(a, facts), _as_chord(b, facts)
        if first is None or second is None:
            continue
        if not _natural_resolution(first, second):
            yield f"says {a} resolves to {b}, which it does not"


def _as_chord(item: str, facts: Facts) -> _Subject | None:
    if item[:1] in "ABCDEFG":
        return _chord(item)
    for symbol, roman in facts.pairs:
        if _same_numeral(roman, item):
            return _chord(symbol)
    return None


def _natural_resolution(a: _Subject, b: _Subject) -> bool:
    motion = (pitch_class(b.root) - pitch_class(a.root)) % 12
    allowed = {5} if "m7" in a.intervals else {5, 7}  # a plagal IV-I, but not from a V7
    if "M3" in a.intervals:
        allowed |= {2, 11}  # deceptive V-vi; a tritone substitute falls a half step
    if "d5" in a.intervals and "P5" not in a.intervals:
        allowed.add(1)  # a leading-tone chord rises a half step
    return motion in allowed


# ---------------------------------------------------------------------------- enharmonics

_ENHARMONIC_RES = (
    re.compile(
        rf"{_BARE_NOTE} (?:is|=|equals|sounds the same as) (?:also |just |really |simply )?"
        r"(?:the same (?:note |pitch )?as |enharmonic(?:ally equivalent)? (?:to|with) |"
        r"equivalent to |(?:spelled|written|called|respelled|notated) (?:as )?)?"
        rf"{_BARE_NOTE}(?! (?:major|minor|scale|chord|\w+ chord))",
    ),
    re.compile(
        rf"{_BARE_NOTE} and {_BARE_NOTE} are (?:enharmonic|the same (?:note|pitch)|"
        r"enharmonically equivalent|enharmonic equivalents)",
    ),
)
_PREPOSITION_RE = re.compile(
    r"\b(?:of|above|below|from|to|over|under|on|than|in|at|and|or|with|between|by|if|when)"
    r"\s*$",
    re.I,
)


def _enharmonic_matches(text: str) -> Iterator[re.Match[str]]:
    """ "X is Y" between two notes, but not "the third of B is D" (an interval claim)."""
    for regex in _ENHARMONIC_RES:
        for m in regex.finditer(text):
            if regex is _ENHARMONIC_RES[0] and _PREPOSITION_RE.search(text[: m.start()]):
                continue
            yield m


def _enharmonics(sentence: str, facts: Facts) -> Iterator[str]:
    """ "C# is the same as Db" (true), "B# is C#" (false)."""
    del facts
    for m in _enharmonic_matches(sentence):
        a, b = m.group(1), m.group(2)
        if _pc(a) is not None and _pc(a) != _pc(b):
            yield f"says {a} and {b} are the same note; {a} is not {b}"


# ---------------------------------------------------------------------------- all of them

_READERS: tuple[Callable[[str, Facts], Iterator[str]], ...] = (
    _formulas,
    _interval_formulas,
    _note_lists,
    _counts,
    _relatives,
    _same_as,
    _degrees,
    _functions,
    _cadence_pairs,
    _patterns,
    _resolutions,
    _enharmonics,
)


def own_terms(text: str) -> str:
    """``text`` with the claims checked on their own terms blanked out.

    "The relative minor of Eb major is C minor", "C# is the same as Db" and "G is the
    dominant of C" are true or false whatever the subject, so the keys and notes they name
    are not the subject's (see :func:`.verify.find_contradictions`).
    """
    spans = [m.span() for m in _RELATED_RES[0].finditer(text)]
    spans += [m.span() for m in _RELATED_RES[1].finditer(text) if m.group(5)]
    spans += [m.span() for m in _DEGREE_OF_RE.finditer(text)]
    spans += [m.span() for m in _enharmonic_matches(text)]
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def claim_problems(text: str, facts: Facts) -> list[str]:
    """One message per statement in ``text`` that a reader parses and finds false."""
    problems: list[str] = []
    for sentence in _sentences(text):
        for reader in _READERS:
            try:
                problems.extend(reader(sentence, facts))
            except MusicReasoningError:  # a claim the theory layer cannot read
                continue
    return list(dict.fromkeys(problems))
