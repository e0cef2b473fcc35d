"""Claim readers about scales and notes: step and interval formulas, note lists, counts,
relative/parallel keys, "same notes/formula as", enharmonic spellings."""

from __future__ import annotations

import re
from collections.abc import Iterator

from music_reasoning.sdk._claim_text import (
    _BARE_NOTE,
    _NEGATION_RE,
    _NOTE,
    _NUMBER,
    _SCALE_WORDS,
    _SUFFIX,
    _list,
    _number,
    _own,
    _pc,
    _pcs,
    _scale,
    _Subject,
    _subject_before,
)
from music_reasoning.sdk.facts import Facts

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


# Words that present a stretch of a formula, not the whole ("it starts W-H-W").
_PART_RE = re.compile(
    r"\b(?:starts?|starting|begins?|beginning|opens?|ends?|ending|contains?|includes?|part"
    r"|stretch|first|last|then|followed|with)\b",
    re.IGNORECASE,
)


def _formulas(sentence: str, facts: Facts) -> Iterator[str]:
    """Step formulas: "W-H-W-W-W-H-W", "tone, tone, semitone", "whole-half-whole ...".

    A formula given as the scale's own must be all of it; a stretch ("it starts W-H-W")
    must be somewhere in it.
    """
    for m in _STEP_SEQ_RE.finditer(sentence):
        subject = _subject_before(sentence, m.start(), facts)
        if subject.formula is None:
            continue
        claimed, true = _steps(m.group(0)), _formula_steps(subject.formula)
        whole = not _PART_RE.search(sentence[max(0, m.start() - 40) : m.start()])
        if whole or sum(claimed) == 12 or len(claimed) >= len(true):
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

# a chord symbol among the notes ("the notes Gm, Bb and D") is read, to be refused
_LISTED = rf"{_NOTE}(?:{_SUFFIX})?[a-z]*"  # "Dbs": a word where a note belongs is read too
_NOTE_LIST = rf"{_LISTED}(?![\w#])(?:(?:,? and |, |-|\u2013| ){_LISTED}(?![\w#]))+"
_LIST_RE = re.compile(
    r"(?:(?:its|the) (?:notes|pitches|tones) (?:are|:)|(?:has|contains|uses|holds|is made of|"
    r"(?:chord|scale|triad|mode|seventh|sixth|ninth|major|minor|diminished|augmented|"
    r"suspended|fourth|second|dominant),? with) "
    r"(?:the |its )?(?:notes|pitches|tones):?|consists of(?: the notes)?|"
    r"(?:is )?made up of(?: the notes)?|is spelled|"
    r"(?:scale|chord|triad|mode) is|(?:scale|chord|triad|mode) ?:)"
    rf"\s+({_NOTE_LIST})(?!,? (?:etc|and so)|\.\.\.|…| in common)"
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
        items = re.findall(rf"{_LISTED}(?![\w#])", m.group(1))
        symbols = [item for item in items if not re.fullmatch(_NOTE, item)]
        if symbols:
            what = "the chord" if re.fullmatch(rf"{_NOTE}(?:{_SUFFIX})?", symbols[0]) else ""
            yield f"lists {what or 'the word'} {symbols[0]} among the notes of {subject.name}"
            continue
        claimed = tuple(items)
        if _pcs(claimed) != _pcs(true) or (_spelled(subject) and set(claimed) != set(true)):
            yield f"lists the notes of {subject.name} as {_list(claimed)}; they are {_list(true)}"


def _spelled(subject: _Subject) -> bool:
    """Whether the subject's notes have one right spelling: a chord's (its intervals name
    each letter) or a seven-note scale's (each letter once); "Aaug has A, C# and F" is
    wrong though F sounds as E#.  Other scales (blues, pentatonic) are spelled by habit."""
    letters = {n[0] for n in subject.notes}
    return subject.kind == "chord" or (len(subject.notes) == 7 and len(letters) == 7)


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
    # "Its relative minor is B minor", "the parallel major, A major", "Relative: B minor"
    re.compile(
        rf"(?:\b(?:its|the) |^\s*){_REL}(?: (major|minor))?(?: scale| key)?(?: is|,|:)? "
        rf"(?:the )?{_KEY}(?![\w#])",
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
