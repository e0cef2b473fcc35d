"""Claim readers about harmony: degree names, functions, cadence moves, numeral patterns
and resolutions."""

from __future__ import annotations

import re
from collections.abc import Iterator

from music_reasoning.errors import MusicReasoningError
from music_reasoning.sdk._claim_text import (
    _BARE_NOTE,
    _ITEM,
    _NEGATION_RE,
    _NOTE,
    _ROMAN,
    _SCALE_WORDS,
    _SUFFIX,
    _SYMBOL,
    _chord,
    _own,
    _pc,
    _pcs,
    _Subject,
    _subject_before,
)
from music_reasoning.sdk.facts import Facts
from music_reasoning.theory import analyze_progression, get_scale, keys_containing
from music_reasoning.theory.notes import pitch_class

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
    # "C is the tonic", "G, the dominant", "B (the leading tone)", "and E the tonic"; not
    # "In C the dominant is G" (the degree is the subject of the next clause)
    re.compile(
        rf"{_BARE_NOTE}(?:,| is| \(|, which is|) the {_ALTER}{_DEGREE}"
        r"(?! (?:(?:note|degree|tone|pitch|chord|triad) )?is\b)"
        rf"(?: (?:note|degree|tone|pitch|chord|triad))?{_NOT_DEGREE}",
    ),
    # "the tonic C", "the dominant is G", "the leading tone, B"
    re.compile(
        rf"\bthe {_ALTER}{_DEGREE}(?: (?:note|degree|tone|pitch))?(?:,| is| \(|:)? {_BARE_NOTE}"
        r"(?! (?:major|minor))(?! the )",  # not "C the tonic, D the supertonic" (a list)
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


# "the dominant B7", "the tonic chord, Em" (not "the dominant B7 of Em": an applied one)
_DEGREE_CHORD_RE = re.compile(
    rf"\bthe {_ALTER}{_DEGREE}(?: chord| triad)?(?:,| is| \(|:)? ({_NOTE}{_SUFFIX})"
    r"(?![\w#+°ø/])(?! (?:of|in)\b)"
)
_LISTED_RE = re.compile(rf"\bthe {_ALTER}{_DEGREE}(?: (?:note|degree|tone|pitch))? $")


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
    claims = [
        (m.start(), m.group(1), m.group(2), m.group(3))
        for m in first.finditer(sentence)
        if not _LISTED_RE.search(sentence[: m.start()])  # "the subdominant F, the dominant G"
        # a bare space only in "..., and E the tonic" ("from B to C the leading tone ...")
        and (not sentence.startswith(" the ", m.end(1)) or sentence[: m.start()].endswith("and "))
    ]
    claims += [(m.start(), m.group(3), m.group(1), m.group(2)) for m in second.finditer(sentence)]
    for start, note, alter, degree in claims:
        pc = _pc(note)
        if start in own_terms or pc is None:
            continue
        # "the raised subdominant F#": F# itself (as the facts name it), or the degree's
        # own note a half step away (as it is in the major scale the claim compares with)
        pcs = {pc}
        if alter:
            pcs.add((pc + (-1 if alter.lower() in ("raised", "sharpened", "sharp") else 1)) % 12)
        if any(_base(degree) in _degree_names(facts.degrees, p) for p in pcs):
            continue
        # True of the scale, key or chord the sentence is about ("Compared with C major it
        # leaves out the subdominant F"; "A7 resolves to Dm: the leading tone C#")?
        other = _context_degrees(_subject_before(sentence, start, facts), facts)
        if other is not None and any(_base(degree) in _degree_names(other, p) for p in pcs):
            continue
        label = f"{alter} {degree}" if alter else degree
        yield f"calls {note} the {label}; in {_key_name(facts)} it is not"
    chord_claims = [(m.group(1), m.group(3)) for m in _CHORD_DEGREE_RE.finditer(sentence)]
    chord_claims += [(m.group(3), m.group(2)) for m in _DEGREE_CHORD_RE.finditer(sentence)]
    for item, degree in chord_claims:
        root = _root(item, facts)
        if root is None or "/" in item:
            continue
        if _base(degree) in _degree_names(facts.degrees, root):
            continue
        if _degree_elsewhere(sentence, item, root, _base(degree)):
            continue
        yield f"calls {item} the {degree}; in {_key_name(facts)} it is not"


_OTHER_SYMBOL_RE = re.compile(rf"(?<![\w#/])({_SYMBOL})(?![\w#/+°ø])(?! (?:major|minor))")


def _degree_elsewhere(sentence: str, item: str, root: int, degree: str) -> bool:
    """Whether the chord is that degree of a key the sentence names ("in G major, the
    dominant D7") or, where it names none, of another chord in it as a tonic ("the
    dominant E7 pulls to Am", "Em is tonicised by the dominant B7"); numerals do not
    count ("the ii chord pulls back to the dominant B7" in D major stays false, and so
    does "In D major, B7 is the dominant and Em is the ii chord")."""
    keys = [(m.group(1), m.group(2)) for m in _KEY_IN_RE.finditer(sentence)]
    for m in [] if keys else _OTHER_SYMBOL_RE.finditer(sentence):  # a named key decides
        chord = _chord(m.group(1)) if m.group(1) != item else None
        if chord is not None:
            keys.append((chord.root, "minor" if "m3" in chord.intervals else "major"))
    for tonic, mode in keys:
        info = _scale_degrees(tonic, mode)
        if info is not None and degree in _degree_names(info, root):
            return True
    return False


def _context_degrees(other: _Subject, facts: Facts) -> frozenset[tuple[int, str]] | None:
    """The degrees of a scale or key named in the sentence, or of a chord as a key."""
    if other.name == _own(facts).name or not other.root:
        return None
    if other.kind == "scale":
        return _scale_degrees(other.root, other.name.split(" ", 1)[-1])
    if other.kind == "chord":  # a tonicised chord: its major or harmonic minor key
        minor = "m3" in other.intervals and "M3" not in other.intervals
        return _scale_degrees(other.root, "harmonic minor" if minor else "major")
    return None


def _scale_degrees(tonic: str, mode: str) -> frozenset[tuple[int, str]] | None:
    try:
        info = get_scale(tonic, mode)
    except MusicReasoningError:
        return None
    degrees = {(pitch_class(d.note), d.name) for d in info.degrees}
    tonic_pc = pitch_class(info.root)
    if info.type == "natural_minor":
        degrees.add(((tonic_pc + 11) % 12, "leading tone"))
    degrees.add(((tonic_pc + 10) % 12, "subtonic"))  # the lowered seventh, in any scale
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
    # "the ii (dominant) chord"
    re.compile(rf"(?<![\w#/])({_ROMAN})(?: chord)? \({_FUNCTION}\)"),
)


# "the ii-V-I pattern is dominant": a function belongs to a chord, not to a sequence of them
_SEQUENCE_FUNCTION_RE = re.compile(
    r"\b(pattern|progression|cadence|turnaround|sequence)s? (?:is|are)"
    rf"(?: an?| the)? {_FUNCTION}(?: function| role)?+"
    r"(?=\s*(?:[.;!?]|$))",  # the whole predicate: not "is dominant to tonic", "is tonic, ..."
    re.IGNORECASE,
)


def _function_name(word: str) -> str:
    word = word.lower().replace("-", "")
    return "predominant" if word == "subdominant" else word


def _functions(sentence: str, facts: Facts) -> Iterator[str]:
    """Function words: "the IV chord is dominant" (IV is predominant)."""
    for m in _SEQUENCE_FUNCTION_RE.finditer(sentence):
        yield (
            f"gives a {m.group(1).lower()} a {_function_name(m.group(2))} function; "
            "functions belong to chords"
        )
    if not facts.functions:
        return
    first = _FUNCTION_RES[0]
    for regex in _FUNCTION_RES:
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


_VERB = r"(?:resolves|resolve|resolving|resolved|leads|lead|leading|pulls|pull|pulling)"
_WHICH_RESOLVES_RE = re.compile(
    rf",? which (?:usually |naturally |then |typically |often |strongly |normally )?{_VERB} "
    r"(?:back |home |down |up )?(?:to|into|onto) (?:the )?(?:(?:tonic|home)(?: chord)?,? )?"
    rf"({_ITEM})(?![\w#])"
)
_ANTECEDENT_RE = re.compile(rf"(?<![\w#/])({_ITEM})(?![\w#])(?! (?:major|minor))")
# a list of notes ("G, B, D and F"): its notes are not what "which" points back to
_LISTED_NOTES_RE = re.compile(rf"{_NOTE}(?![\w#])(?:(?:,? and |, ){_NOTE}(?![\w#]))+")


def _resolutions(sentence: str, facts: Facts) -> Iterator[str]:
    """ "G7 resolves to F": a resolution must be a move of the progression or a natural one
    (up a fourth, a fifth down to a plagal close, a step to a deceptive vi, a half step).

    "..., which pulls back to the tonic C" is true when the sentence's first chord, the
    chord or numeral just before "which" (not a note of a listed chord), or the chord
    explained leads there.
    """
    numeral = _numeral_of(facts)
    for m in _WHICH_RESOLVES_RE.finditer(sentence):
        b = m.group(1)
        listed = [(x.start(), x.end()) for x in _LISTED_NOTES_RE.finditer(sentence, 0, m.start())]
        named = [
            a.group(1)
            for a in _ANTECEDENT_RE.finditer(sentence, 0, m.start())
            if not any(start <= a.start() < end for start, end in listed)
        ]
        before = named[:1] + named[-1:]
        if facts.kind == "chord":
            before.append(facts.subject)
        before = [a for a in before if _as_chord(a, facts) is not None]
        target = _as_chord(b, facts)
        if target is None or not before:
            continue
        if not any(_leads(a, b, target, facts, numeral) for a in before):
            yield f"says {before[-1]} resolves to {b}, which it does not"
    for m in _RESOLVE_RE.finditer(sentence):
        a, b = m.group(1), m.group(2)
        if a.lower() == "it":
            if facts.kind != "chord":
                continue
            a = facts.subject
        second = _as_chord(b, facts)
        if second is not None and not _leads(a, b, second, facts, numeral):
            yield f"says {a} resolves to {b}, which it does not"


def _leads(a: str, b: str, second: _Subject, facts: Facts, numeral: dict[str, str]) -> bool:
    """Whether ``a`` may be said to resolve to ``b`` (a move of the progression, a natural
    resolution, or ``a`` not read as a chord)."""
    if facts.kind == "progression" and any(
        _matches(a, x, numeral.get(x, "")) and _matches(b, y, numeral.get(y, ""))
        for x, y in facts.moves
    ):
        return True
    first = _as_chord(a, facts)
    return first is None or _natural_resolution(first, second)


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
    if not {"M3", "m3"} & set(a.intervals):
        allowed.add(0)  # a suspension resolves to the chord on its own root
    return motion in allowed


# ---------------------------------------------------------------------- a chord's numeral

_CHORD_NUMERAL_RE = re.compile(
    r"(?:^\s*|[.;:,]\s*|\b(?:and|so)\s+)"
    rf"(?:[Ii]t|[Tt]his chord|(?P<sym>{_NOTE}(?:{_SUFFIX})?))\s+is\s+"
    rf"(?:the|a|an)\s+(?P<num>{_ROMAN})(?:\s+chord)?(?![\w/])"
    # "the V7 of Eb": the numeral is in that key, not the sentence's or the facts'
    rf"(?:\s+(?:of|in)\s+(?:the key of\s+)?(?P<of>{_NOTE})(?![\w#])(?:\s+(?P<mode>major|minor))?)?"
)
# a numeral beside a chord symbol: "the V7 (dominant) C chord", "the IV chord F"
_APPOSITION_RES = (
    re.compile(
        rf"\bthe (?P<num>{_ROMAN})(?: \((?:the )?{_DEGREE}\))? (?P<sym>{_NOTE}(?:{_SUFFIX})?)"
        r" (?:chord|triad)\b"
    ),
    re.compile(
        rf"\bthe (?P<num>{_ROMAN}) (?:chord|triad),? (?P<sym>{_NOTE}(?:{_SUFFIX})?)(?![\w#+°ø/])"
        r"(?! (?:major|minor))"
    ),
    # "F is the IV chord and G the V chord"
    re.compile(
        rf"\b(?:and|,) (?P<sym>{_NOTE}(?:{_SUFFIX})?) the (?P<num>{_ROMAN})"
        r"(?: chord| triad)?(?![\w/])"
    ),
)
# one numeral called another: "I is the IV chord", "V7 is the I"
_NUMERAL_IS_RE = re.compile(
    rf"(?<![\w#/-])(?P<a>{_ROMAN}) is (?:the |a |an )?(?P<b>{_ROMAN})(?: chord| triad)?(?![\w/-])"
)
# a chord equated with a pattern: "Em7 = ii-V-I", "C#m7 is the ii-V-I chord"
_SYMBOL_IS_PATTERN_RE = re.compile(
    rf"(?<![\w#/])(?P<sym>{_NOTE}(?:{_SUFFIX})?) "
    rf"(?:=|is (?:the|a) (?={_ROMAN}(?:-{_ROMAN})+ chord)) ?(?P<pat>{_ROMAN}(?:-{_ROMAN})+)"
)
_KEY_IN_RE = re.compile(rf"\b(?:in|of)\s+(?:the key of\s+)?({_NOTE})\s+(major|minor)\b")


def _chord_numerals(sentence: str, facts: Facts) -> Iterator[str]:
    """A chord called a numeral it is not: "G7 ... It is the IV chord" (it is V7 in C
    major), "the V7 (dominant) C chord" (C is no seventh chord, and V of F).

    The numeral's case and figure must fit the chord (upper case a major third, lower
    case a minor one, a 7 a seventh); in a key the sentence names, the theory layer says
    what the chord is there; with no key, the numeral must be the chord's in some key
    where it is diatonic.  Applied and altered numerals (V7/V, bVII) are left to the
    progression's own checks.
    """
    if _NEGATION_RE.search(sentence):
        return
    for m in _NUMERAL_IS_RE.finditer(sentence):
        if not _same_numeral(m.group("a"), m.group("b")):
            yield f"calls the {m.group('a')} the {m.group('b')}"
    for m in _SYMBOL_IS_PATTERN_RE.finditer(sentence):
        yield f"calls the chord {m.group('sym')} the pattern {m.group('pat')}"
    named = _KEY_IN_RE.search(sentence)
    key = f"{named.group(1)} {named.group(2)}" if named else None
    if key is None and facts.kind == "progression" and facts.key:
        key = facts.key  # a progression's numerals are in its key
    claims: list[tuple[str, str, tuple[str, ...]]] = []
    for m in _CHORD_NUMERAL_RE.finditer(sentence):
        symbol = m.group("sym") or (facts.subject if facts.kind == "chord" else None)
        if symbol is None:
            continue
        if m.group("of"):  # "the V7 of Eb": Eb major, or Eb minor when not said
            modes = (m.group("mode"),) if m.group("mode") else ("major", "minor")
            keys: tuple[str, ...] = tuple(f"{m.group('of')} {mode}" for mode in modes)
        else:
            keys = (key,) if key else ()
        claims.append((symbol, m.group("num"), keys))
    for pattern in _APPOSITION_RES:
        claims += [
            (m.group("sym"), m.group("num"), (key,) if key else ())
            for m in pattern.finditer(sentence)
        ]
    own = {symbol for symbol, _ in facts.pairs}  # the progression's own: checked with it
    for symbol, numeral, keys in dict.fromkeys(claims):
        chord = _chord(symbol)
        if chord is None or numeral[:1] in "b#" or symbol in own:
            continue
        if "/" in numeral:
            if keys and not any(_applied_fits(chord, numeral, k) for k in keys):
                yield f"calls {symbol} the {numeral} in {keys[0]}; it is not"
            continue
        if not _numeral_fits(numeral, chord):
            yield f"calls {symbol} the {numeral}, which does not fit its {chord.name} sound"
            continue
        if keys:
            actual = [_numeral_in(symbol, k) for k in keys]
            if not any(a is None or _same_numeral(a, numeral) for a in actual):
                yield f"calls {symbol} the {numeral} in {keys[0]}; it is {actual[0]} there"
            continue
        placements = keys_containing(symbol.split("/")[0])
        if placements and not any(_same_numeral(p.numeral, numeral) for p in placements):
            where = ", ".join(f"{p.numeral} in {p.key}" for p in placements[:3])
            yield f"calls {symbol} the {numeral}; it is {where}"


_DEGREE_OF_NUMERAL = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}


def _applied_fits(chord: _Subject, numeral: str, key: str) -> bool:
    """ "E7 is the V7/vi" in C major: a V (or vii) of the degree the numeral names."""
    head, _, target = numeral.partition("/")
    letters = re.match(r"[IViv]+", head)
    degree = _DEGREE_OF_NUMERAL.get(target.lstrip("b#").lower())
    tonic, _, mode = key.partition(" ")
    if letters is None or degree is None:
        return True
    try:
        scale = get_scale(tonic, "natural_minor" if mode == "minor" else "major")
    except MusicReasoningError:
        return True
    target_pc = pitch_class(scale.notes[degree - 1])
    above = {"v": 7, "vii": 11}.get(letters.group().lower())
    if above is None:
        return True  # an applied ii or IV: not read here
    return (pitch_class(chord.root) - target_pc) % 12 == above and _numeral_fits(head, chord)


def _numeral_in(symbol: str, key: str) -> str | None:
    """The chord's numeral in ``key`` (None when the theory layer cannot say)."""
    try:
        return analyze_progression([symbol], key=key).analysis[0].roman
    except MusicReasoningError:
        return None


def _numeral_fits(numeral: str, chord: _Subject) -> bool:
    """Whether a numeral's case and figures fit the chord's third and seventh."""
    letters = re.match(r"[IViv]+", numeral)
    if letters is None:
        return True
    figures = numeral[letters.end() :]
    third = "M3" if letters.group().isupper() else "m3"
    seventh = any(i in chord.intervals for i in ("m7", "M7", "d7"))
    return third in chord.intervals and (seventh or "7" not in figures)
