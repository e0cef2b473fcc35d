"""Whole claims the verifier reads (sdk/_claims.py): each kind, true and planted false.

Every good answer here is built from the theory layer's own facts, so it must pass; each
planted claim changes one thing in it, so it must be caught.
"""

from __future__ import annotations

import pytest

from music_reasoning.sdk.facts import (
    GROUNDING_VERSION,
    Facts,
    chord_facts,
    progression_facts,
    scale_facts,
)
from music_reasoning.sdk.verify import find_contradictions
from music_reasoning.theory import SCALE_TYPES, analyze_progression, build_chord, get_scale
from music_reasoning.theory.notes import spell_above

ROOTS = ("C", "D", "F#", "Bb")
SCALES = [(r, t) for r in ROOTS for t in SCALE_TYPES]
TRIADS_AND_SEVENTHS = ("C", "Am", "Bdim", "Eaug", "G7", "Cmaj7", "Dm7", "F#m7b5", "Bdim7", "Ebmaj7")
PROGRESSIONS = (
    ("Dm7 G7 Cmaj7", None),
    ("C G Am F", None),
    ("Am F C G", None),
    ("C F G C", None),
    ("C A7 Dm G7 C", "C major"),
    ("Am Dm E7 Am", None),
    ("Cm Fm G7 Cm", None),
    ("Dm7b5 G7 Cm", None),
    ("Bb Eb F Bb", None),
    ("C G Am", None),
    ("Fm7 Bb7 Cmaj7", None),
)
_WORDS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen"),
)


def scale(root: str, kind: str) -> Facts:
    return scale_facts(get_scale(root, kind))


def chord(symbol: str) -> Facts:
    return chord_facts(build_chord(symbol))


def progression(chords: str, key: str | None = None) -> Facts:
    return progression_facts(analyze_progression(chords.split(), key=key))


def names(notes: tuple[str, ...]) -> str:
    return ", ".join(notes[:-1]) + " and " + notes[-1]


def ok(text: str, facts: Facts) -> None:
    assert find_contradictions(text, facts) == [], text


def caught(text: str, facts: Facts) -> None:
    assert find_contradictions(text, facts) != [], f"missed: {text}"


def test_grounding_version_is_bumped() -> None:
    assert GROUNDING_VERSION == "7"  # degree names given to chords are checked


# ------------------------------------------------------------------------ step formulas


def _words(formula: str) -> str:
    words = {"W": "whole step", "H": "half step", "W+H": "step and a half"}
    return ", ".join(words[t] for t in formula.split("-"))


@pytest.mark.parametrize(("root", "kind"), SCALES)
def test_step_formulas(root: str, kind: str) -> None:
    facts = scale(root, kind)
    formula = facts.formula
    assert formula is not None
    ok(f"Its step formula is {formula}.", facts)
    ok(f"The steps are {_words(formula)}.", facts)
    if "+" not in formula:
        ok(f"In tones: {formula.replace('W', 'T').replace('H', 'S')}.", facts)
    caught(f"Its step formula is {formula}-W.", facts)
    steps = formula.split("-")
    swapped = next(
        ([*steps[:i], steps[i + 1], steps[i], *steps[i + 2 :]] for i in range(len(steps) - 1)
         if steps[i] != steps[i + 1]),
        None,
    )  # fmt: skip
    if swapped is not None:
        caught(f"Its step formula is {'-'.join(swapped)}.", facts)
        caught(f"The steps are {_words('-'.join(swapped))}.", facts)


def test_the_dorian_regression_and_formulas_of_other_scales() -> None:
    facts = scale("D", "dorian")
    caught("Its step formula is W-H-W-W-W-W-H-W", facts)
    ok("Its step formula is W-H-W-W-W-H-W, the major scale's W-W-H-W-W-W-H from D.", facts)
    caught("The C major scale's formula is W-H-W-W-W-H-W.", facts)  # checked as C major
    ok("Dorian starts W-H-W, like natural minor.", facts)


# ------------------------------------------------------------------------ interval formulas


def _degrees(intervals: tuple[str, ...]) -> str:
    def one(interval: str) -> str:
        quality, number = interval[0], int(interval[1:])
        perfect = number in (1, 4, 5, 8, 11, 12)
        mark = {"m": "b", "A": "#", "d": "b" if perfect else "bb"}.get(quality, "")
        return f"{mark}{number}"

    return "-".join(one(i) for i in intervals)


@pytest.mark.parametrize(
    "facts",
    [scale(r, t) for r, t in SCALES if t not in ("whole_tone", "blues", "diminished")]
    + [chord(s) for s in TRIADS_AND_SEVENTHS if s != "Bdim7"],
    ids=lambda f: f.subject,
)
def test_interval_formulas(facts: Facts) -> None:
    ok(f"Its intervals are {_degrees(facts.interval_formula)}.", facts)
    ok(f"Above the root: {', '.join(facts.interval_formula)}.", facts)
    wrong = list(facts.interval_formula)
    third = wrong[1]
    flipped = {"M": "m", "m": "M", "P": "A", "A": "P", "d": "P"}[third[0]] + third[1:]
    wrong[1] = flipped
    caught(f"Its intervals are {_degrees(tuple(wrong))}.", facts)
    caught(f"Above the root: {', '.join(wrong)}.", facts)


def test_chord_interval_formula_regression() -> None:
    ok("G7 is spelled 1-3-5-b7.", chord("G7"))
    caught("G7 is spelled 1-3-5-7.", chord("G7"))


# ------------------------------------------------------------------------ complete note lists


@pytest.mark.parametrize(
    "facts",
    [scale(r, t) for r, t in SCALES] + [chord(s) for s in TRIADS_AND_SEVENTHS],
    ids=lambda f: f.subject,
)
def test_a_list_of_the_notes_must_be_complete(facts: Facts) -> None:
    notes = facts.members
    ok(f"Its notes are {names(notes)}.", facts)
    ok(f"It includes {names(notes[:2])}.", facts)  # "includes" is not the whole list
    caught(f"Its notes are {names(notes[:-1])}.", facts)
    caught(f"{facts.subject} consists of {names(notes[:-1])}.", facts)


def test_note_list_regressions() -> None:
    caught("C major has the notes C, D, E, F and G.", scale("C", "major"))
    ok("C major has the notes C, D, E, F, G, A and B.", scale("C", "major"))
    ok("The C major chord has the notes C, E and G.", chord("C"))
    caught("The C major chord has the notes C, E, G and B.", chord("C"))
    ok("The triad is G, B and D; the seventh F is added.", chord("G7"))


# ------------------------------------------------------------------------ counts


@pytest.mark.parametrize(
    "facts",
    [scale(r, t) for r, t in SCALES] + [chord(s) for s in TRIADS_AND_SEVENTHS],
    ids=lambda f: f.subject,
)
def test_counts_of_notes_and_steps(facts: Facts) -> None:
    n = facts.note_count
    assert n is not None
    kind = "scale" if facts.kind == "scale" else "chord"
    ok(f"It is a {_WORDS[n]}-note {kind}, so it has {n} notes.", facts)
    caught(f"It is a {_WORDS[n + 1]}-note {kind}.", facts)
    caught(f"The {kind} has {n - 1} notes.", facts)
    if facts.formula:
        steps = len(facts.formula.split("-"))
        ok(f"Its formula is {steps} steps long.", facts)
        caught(f"Its formula is {steps + 40} steps long.", facts)


def test_count_regressions() -> None:
    caught("C is a four-note chord.", chord("C"))
    caught("The scale has six notes.", scale("C", "major"))
    caught("It is a whole-tone formula 48 steps long.", scale("C", "whole_tone"))
    ok("A triad has three notes; G7 adds a fourth.", chord("G7"))


# ------------------------------------------------------------------------ relative / parallel


RELATED = [(r, t) for r, t in SCALES if get_scale(r, t).relative]


@pytest.mark.parametrize(("root", "kind"), RELATED)
def test_relative_and_parallel_keys(root: str, kind: str) -> None:
    facts = scale(root, kind)
    relative = facts.relative
    assert relative is not None
    ok(f"Its relative is {relative}.", facts)
    tonic, _, mode = relative.partition(" ")
    wrong = f"{spell_above(tonic, 'M2')} {mode}"
    caught(f"Its relative is {wrong}.", facts)
    if kind not in ("harmonic_minor", "melodic_minor"):
        ok(f"It has the same notes as its relative {mode.split()[0]}.", facts)
    else:
        caught(f"It has the same notes as its relative {mode.split()[0]}.", facts)
    if facts.parallel:
        ok(f"Its parallel is {facts.parallel}.", facts)
        caught(f"Its parallel is {relative}.", facts)
        caught(f"It has the same notes as its parallel {facts.parallel.split()[1]}.", facts)


@pytest.mark.parametrize(
    ("text", "true"),
    [
        ("The relative minor of E flat major is C minor.", True),
        ("The relative minor of Eb major is G minor.", False),
        ("C minor is the relative minor of Eb major.", True),
        ("F minor is the relative minor of Eb major.", False),
        ("The parallel minor of A major is A minor.", True),
        ("The parallel minor of A major is F# minor.", False),
        ("F# major is a relative minor scale.", False),
        ("C melodic minor uses the same formula as C major.", False),
        ("E dorian uses the same formula as D dorian.", True),
        ("D dorian has the same notes as C major.", True),
        ("D dorian has the same notes as D major.", False),
    ],
)
def test_related_keys_are_checked_on_their_own_terms(text: str, true: bool) -> None:
    facts = scale("C", "major")
    (ok if true else caught)(text, facts)


def test_parallel_scale_regression() -> None:
    facts = scale("A", "natural_minor")
    caught(
        "A minor is a parallel scale, which means it has the same notes as the major scale.",
        facts,
    )
    ok("A minor has the same notes as C major, its relative major.", facts)
    ok("A minor does not have the same notes as A major.", facts)


# ------------------------------------------------------------------------ degree names


@pytest.mark.parametrize(("root", "kind"), SCALES)
def test_degree_names(root: str, kind: str) -> None:
    info = get_scale(root, kind)
    facts = scale_facts(info)
    for d in info.degrees:
        ok(f"{d.note} is the {d.name}.", facts)
        ok(f"The {d.name} is {d.note}.", facts)
    first, fifth = (
        info.degrees[0],
        next(d for d in info.degrees if d.name == "dominant" or d.number == 4),
    )
    caught(f"{fifth.note} is the tonic.", facts)
    caught(f"The tonic is {fifth.note}.", facts)
    caught(f"{first.note} is the {fifth.name}.", facts)


@pytest.mark.parametrize(("chords", "key"), PROGRESSIONS)
def test_chord_degrees_in_a_progression(chords: str, key: str | None) -> None:
    facts = progression(chords, key)
    tonic = facts.tonic
    assert tonic is not None
    ok(f"{tonic} is the tonic and {spell_above(tonic, 'P5')} is the dominant.", facts)
    caught(f"{spell_above(tonic, 'P5')} is the tonic.", facts)


def test_degree_regressions() -> None:
    facts = progression("C F G C")
    ok("The IV chord is the subdominant and the V chord is the dominant.", facts)
    caught("The IV chord is the dominant.", facts)
    ok("G is the dominant of C.", chord("G7"))
    caught("A is the dominant of C.", chord("G7"))
    caught("A is the subdominant of D dorian.", scale("C", "major"))
    ok("B is the leading tone of C minor.", scale("C", "major"))


# ------------------------------------------------------------------------ functions


@pytest.mark.parametrize(("chords", "key"), PROGRESSIONS)
def test_functions(chords: str, key: str | None) -> None:
    facts = progression(chords, key)
    info = analyze_progression(chords.split(), key=key)
    for a in info.analysis:
        if a.function == "other":
            continue
        ok(f"{a.chord} has a {a.function} function.", facts)
        wrong = "dominant" if a.function != "dominant" else "tonic"
        if all(b.function != wrong for b in info.analysis if b.chord == a.chord):
            caught(f"{a.chord} has a {wrong} function.", facts)
            caught(f"The {a.roman} chord is {wrong}.", facts)


def test_function_regression() -> None:
    caught("The IV chord is dominant.", progression("C F G C"))
    ok("The IV chord is predominant, and G7 is a dominant seventh chord.", progression("C F G7 C"))
    caught("Am is vi (dominant).", progression("C G Am F"))
    # a model answer marked verified (grounding version 6): a pattern given a function
    caught("In F major seventh chord, the ii-V-I (jazz) pattern is dominant.", chord("Fmaj7"))
    caught("The progression is tonic.", progression("C F G C"))
    ok("The progression is in the dominant key; the cadence has a dominant seventh.", chord("G7"))


# ------------------------------------------------------------------------ cadence pairs


@pytest.mark.parametrize(("chords", "key"), PROGRESSIONS)
def test_cadence_pairs(chords: str, key: str | None) -> None:
    facts = progression(chords, key)
    info = analyze_progression(chords.split(), key=key)
    for c in info.cadences:
        a, b = c.chords[-2], c.chords[-1]
        ok(f"The move from {a} to {b} is a {c.type} cadence.", facts)
        other = "plagal" if c.type != "plagal" else "deceptive"
        if not any(d.type == other and d.chords[-2:] == (a, b) for d in info.cadences):
            caught(f"The move from {a} to {b} is a {other} cadence.", facts)
        if (b, a) not in facts.moves:
            caught(f"The move from {b} to {a} is a {c.type} cadence.", facts)


def test_cadence_regressions() -> None:
    facts = progression("Am F C G")
    caught("The move from G to C is a half cadence.", facts)
    ok("The move from C to G is a half cadence.", facts)
    caught("F to C is an authentic cadence.", facts)
    ok("G7 to C is an authentic cadence.", chord("G7"))
    caught("G7 to C is a plagal cadence.", chord("G7"))


# ------------------------------------------------------------------------ numeral patterns


@pytest.mark.parametrize(("chords", "key"), PROGRESSIONS)
def test_numeral_patterns(chords: str, key: str | None) -> None:
    facts = progression(chords, key)
    numerals = list(facts.numerals)
    ok(f"{facts.subject} is a {'-'.join(numerals)} progression.", facts)
    rotated = numerals[1:] + numerals[:1]
    if all(a.rstrip("7") != b.rstrip("7") for a, b in zip(numerals, rotated, strict=True)):
        caught(f"{facts.subject} is a {'-'.join(rotated)} progression.", facts)


def test_pattern_regressions() -> None:
    facts = progression("Cm Ab Eb Bb", "C minor")
    caught("Cm Ab Eb Bb is a vi-IV-I-V.", facts)
    ok("Cm Ab Eb Bb is a i-VI-III-VII.", facts)
    ok("Cm Ab Eb Bb is a vi-IV-I-V in Eb major.", facts)
    ok("Fm7-Bb7 is a ii-V in Eb, borrowed from C minor.", progression("Fm7 Bb7 Cmaj7"))
    ok("Unlike a I-V-IV-I, it never returns to IV.", progression("C F G C"))


# ------------------------------------------------------------------------ resolutions


@pytest.mark.parametrize("root", ["C", "D", "F#", "Bb", "Eb", "A"])
def test_resolutions(root: str) -> None:
    facts = chord(f"{root}7")
    target = spell_above(root, "P4")
    ok(f"{root}7 resolves to {target}.", facts)
    ok(f"It resolves to {target}m.", facts)
    caught(f"{root}7 resolves to {spell_above(root, 'm7')}.", facts)
    caught(f"It resolves to {spell_above(root, 'M3')}.", facts)


def test_resolution_regressions() -> None:
    caught("G7 resolves to F.", chord("G7"))
    ok("G7 resolves to C, the tonic.", chord("G7"))
    facts = progression("Dm7 G7 Cmaj7")
    ok("The V7 resolves to the Imaj7.", facts)
    caught("G7 resolves to Dm7.", facts)


# ------------------------------------------------------------------------ enharmonics


@pytest.mark.parametrize(
    ("text", "true"),
    [
        ("C# is the same as Db.", True),
        ("E# is F.", True),
        ("B# is C.", True),
        ("Cb is enharmonic to B.", True),
        ("F# and Gb are enharmonic.", True),
        ("B# is C#.", False),
        ("E# is the same note as F#.", False),
        ("Fb is enharmonically equivalent to F.", False),
        ("G# and Bb are the same pitch.", False),
    ],
)
def test_enharmonic_spellings(text: str, true: bool) -> None:
    facts = scale("C", "major")
    (ok if true else caught)(text, facts)


def test_an_interval_claim_is_not_read_as_an_enharmonic() -> None:
    assert find_contradictions("The perfect fifth of C is G.", scale("C", "major")) == []


# ------------------------------------------------------------------------ the facts' own words


def _all_facts() -> list[Facts]:
    out = [chord(s) for s in (*TRIADS_AND_SEVENTHS, "C/E", "G7/B", "Am7", "D9", "Fmaj7", "Bb6")]
    out += [scale(r, t) for r, t in SCALES]
    out += [progression(c, k) for c, k in PROGRESSIONS]
    return out


@pytest.mark.parametrize("facts", _all_facts(), ids=lambda f: f.subject)
def test_fact_sentences_and_lines_pass(facts: Facts) -> None:
    ok(facts.sentence, facts)
    ok(" ".join(facts.lines), facts)


def test_normal_prose_is_not_a_claim() -> None:
    facts = scale("D", "dorian")
    text = (
        "D dorian is a minor mode with a bright sixth. Play it over a D drone and listen for B. "
        "Many players think of it as the second mode of the major scale."
    )
    ok(text, facts)


def test_the_sentence_of_a_pattern_in_another_key() -> None:
    # The audit: Cm Ab Eb Bb in C minor was called "a vi-IV-I-V" (true in Eb major).
    facts = progression("Cm Ab Eb Bb", "C minor")
    assert "vi-IV-I-V in Eb major (pop)" in facts.sentence
    ok(facts.sentence, facts)


def test_a_note_list_after_a_comma_is_read_as_the_notes() -> None:
    # a model answer marked verified before this reader: "..., with the notes C, E and G"
    caught("Cmaj7 is a C major seventh chord, with the notes C, E and G.", chord("Cmaj7"))
    ok("Cmaj7 is a C major seventh chord, with the notes C, E, G and B.", chord("Cmaj7"))


@pytest.mark.parametrize(
    "false",
    [
        "G7 is a dominant seventh chord. It is the IV chord and it pulls back to the tonic C.",
        "In C major, G7 is the IV chord.",
        "G7 is the ii chord.",
    ],
)
def test_a_lone_chord_called_a_numeral_it_is_not(false: str) -> None:
    # model answers marked verified before this reader (the lesson names IV elsewhere)
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord("G7")
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    caught(false, facts)
    for true in (
        "It is the V7 chord.",
        "In C major, G7 is the V7 chord.",
        "In A minor it is the VII7.",
    ):
        ok(true, facts)


@pytest.mark.parametrize(
    ("symbol", "false"),
    [
        ("Ab", "Ab is a major triad with the notes Ab, C and Eb, which pulls back to the tonic C."),
        ("Am", "Am is a minor triad with the notes A, C and E, which pulls back to the tonic C."),
        ("Am", "Am is a minor triad, and it pulls back to the tonic C."),
        ("Dm", "Dm is the ii chord, which resolves to the tonic F."),
    ],
)
def test_a_chord_said_to_pull_back_to_a_tonic_it_does_not_lead_to(symbol: str, false: str) -> None:
    # the plainer few-shot example ("G the V chord, which pulls back to the tonic C") was
    # copied onto chords where it is false
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord(symbol)
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    caught(false, facts)


def test_a_dominant_that_pulls_back_to_its_tonic_passes() -> None:
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord("G7")
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    ok("G7 has the notes G, B, D and F, which pulls back to the tonic C.", facts)
    ok("G7 is the V7 chord, which pulls back to the tonic C.", facts)
    text = "In C major, F is the IV chord and G the V chord, which pulls back to the tonic C."
    ok(text, progression("F G C", "C major"))


@pytest.mark.parametrize(
    "false",
    [
        # a model answer marked verified with the plainer few-shot examples
        "Its notes are G, B, D and F, which pull back to the V7 (dominant) C chord.",
        "In C major it goes to the V7 C chord.",
        "It resolves to the I chord, Cm.",
        "Its neighbour is the ii chord F.",
    ],
)
def test_a_numeral_beside_a_chord_it_does_not_fit(false: str) -> None:
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord("G7")
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    caught(false, facts)
    for true in (
        "It resolves to the I chord, C.",
        "In C major it is the V7 G7 chord.",
        "It pulls back to the tonic C, the I chord C.",
        "Its neighbour is the ii chord Dm7.",
    ):
        ok(true, facts)


@pytest.mark.parametrize(
    ("symbol", "false"),
    [
        # model answers the verifier passed: a note of the listed chord (G) was taken for
        # what "which" points back to
        ("Em", "Em is a minor triad with the notes E, G and B, which pulls back to the tonic C."),
        ("Dbsus4", "Its notes are Db, Gb and Ab, which pull back to the tonic E."),
    ],
)
def test_which_points_back_to_the_chord_not_a_listed_note(symbol: str, false: str) -> None:
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord(symbol)
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    caught(false, facts)


def test_a_suspension_resolves_to_its_own_root() -> None:
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord("Esus4")
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    ok("Its notes are E, A and B, which pull back to the tonic E.", facts)


@pytest.mark.parametrize(
    ("subject", "false"),
    [
        # model answers marked verified: another chord called a numeral in a named key
        (("scale", "C", "lydian"), "In C major, F is the V chord and G is the I."),
        (("chord", "Eaug"), "In E major, F is the I chord and G# is the A chord."),
        (("chord", "Dm"), "In F major, C is the IV chord."),
    ],
)
def test_any_chord_called_a_numeral_in_a_named_key(subject: tuple[str, ...], false: str) -> None:
    from music_reasoning.sdk.facts import scale_facts
    from music_reasoning.sdk.teacher import teach_chord, teach_scale
    from music_reasoning.theory import build_chord, get_scale

    if subject[0] == "scale":
        info = get_scale(subject[1], subject[2])
        facts = scale_facts(info).widened(teach_scale(info, "intermediate"))
    else:
        chord_info = build_chord(subject[1])
        facts = chord_facts(chord_info).widened(teach_chord(chord_info, "intermediate"))
    caught(false, facts)


def test_a_formula_given_as_the_whole_must_be_whole() -> None:
    # a model answer marked verified: lydian's formula without its last step
    facts = scale("G", "lydian")
    caught("Its step formula is W-W-W-H-W-W.", facts)
    ok("Its step formula is W-W-W-H-W-W-H.", facts)
    ok("It starts W-W-W-H, with the raised fourth.", facts)


# ------------------------------------------------------------- what a chord is, in words


@pytest.mark.parametrize(
    ("symbol", "false"),
    [
        # model answers marked verified (grounding version 6), each checked by hand
        ("Caug", "Caug is a minor augmented chord with the notes C, E and G#, and C is its root."),
        ("Dbsus4", "Db is a major triad with the notes Db, Gb and Ab."),
        ("Ebsus4", "Eb is a minor fourth chord with the notes Eb, Ab and Bb."),
        ("Fsus4", "Fsus4 is a minor suspended fourth chord with the notes F, Bb and C."),
        ("Ebm7", "Eb is a minor seventh chord with the notes Ebm7, Gb, Bb and Db."),
        ("Gm", "G is a minor chord with the notes Gm, Bb and D."),
        ("Dbm7", "Db is a minor seventh chord with the notes Dbm7, Db, Fb, Ab and C#."),
        (
            "Fm7",
            "Fm7 is a minor seventh chord with the notes F, Ab, C and Eb, and Fm7 is its root.",
        ),
        ("G7", "G7 is a major seventh chord with the notes G, B, D and F."),
        ("Cmaj7", "Cmaj7 is a major triad with the notes C, E, G and B."),
        ("Bdim", "Bdim is a minor chord with the notes B, D and F, and D is its root."),
        # marked verified by grounding version 6, found by a second audit (music21 checked)
        ("Cdim", "Cdim is a minor diminished chord with the notes C, Eb and Gb."),
        ("Abdim", "Abdim is a minor diminished chord with the notes Ab, Cb and Ebb."),
        ("Ebaug", "Ebaug is a major augmented chord with the notes Eb, G and B."),
        ("Aaug", "Aaug is an augmented chord with the notes A, C# and F."),  # E#, not F
        ("Amaj7", "A major seventh chord with the notes A, C#, E and G# is a root."),
        ("Esus4", "Esus4 is a semitone suspended fourth chord with the notes E, A and B."),
        ("D", "D is a major third chord with the notes D, F# and A."),
        ("Cmaj7", "Cmaj7 is a root."),
        # marked verified by grounding version 7 before this reader (a fourth audit)
        ("D7", "D7 is a major dominant seventh chord with the notes D, F#, A and C."),
        ("Asus4", "Asus4 is a fourth chord with the notes A, D and E, and A is its root."),
        ("G7", "G7 is a major-minor seventh chord with the notes G, B, D and F#."),
        # written when the constraint banned only "a minor seventh chord" (the noun dropped)
        ("Dm", "Dm is a minor seventh with the notes D, F and A, and D is its root."),
        ("Bdim", "Bdim is a diminished seventh with the notes B, D and F, and B is its root."),
        ("Gdim", "Gdim is a minor seventh, with the notes G, Bb and Db."),
        ("Dbm", "Db is a minor seventh with the notes Dbm, Bb and Ab."),
        ("D7", "D7 is a dominant seventh with the notes D, F#, A and C. It is its root."),
        ("Edim7", "Edim7 has the notes E, G, Bb and Db, and Edm7 is its root."),
        ("Adim", "A diminished chord with the notes A, C and Eb is a minor seventh."),
    ],
)
def test_a_chord_described_as_what_it_is_not(symbol: str, false: str) -> None:
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord(symbol)
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    caught(false, facts)


@pytest.mark.parametrize(
    ("symbol", "true"),
    [
        ("Cm", "Cm is a C minor chord with the notes C, Eb and G, and C is its root."),
        ("Cdim", "Cdim is a diminished triad with the notes C, Eb and Gb."),
        ("Ebaug", "Ebaug is an augmented chord with the notes Eb, G and B, and Eb is its root."),
        ("G7", "G7 is a dominant seventh chord with the notes G, B, D and F."),
        ("Am7b5", "Am7b5 is an A half-diminished seventh chord with the notes A, C, Eb and G."),
        ("Csus4", "Csus4 is a C suspended fourth chord with the notes C, F and G."),
        ("Ddim7", "Ddim7 is a diminished seventh chord with the notes D, F, Ab and Cb."),
        ("Aaug", "Aaug is an augmented chord with the notes A, C# and E#, and A is its root."),
        ("Amaj7", "The A major seventh chord with the notes A, C#, E and G# has A as its root."),
        ("C6", "C6 is a major sixth chord with the notes C, E, G and A."),
        # other names for a quality (a review found them refused)
        ("G7", "G7 is a major-minor seventh chord with the notes G, B, D and F."),
        ("CmM7", "CmM7 is a minor major seventh chord with the notes C, Eb, G and B."),
        ("Bm7b5", "Bm7b5 is a half diminished seventh chord, a minor seventh flat five chord."),
        ("Bdim7", "Bdim7 is a fully diminished seventh chord."),
        ("Cm6", "Cm6 is a minor sixth chord with the notes C, Eb, G and A."),
        ("Esus4", "Esus4 is a suspended fourth chord: E, A and B, a perfect fourth above E."),
        ("C7", "C7 is a dominant seventh with the notes C, E, G and Bb; C to Bb is a minor 7th."),
        ("C7", "C7 has the notes C, E, G and Bb: from C to Bb is a minor seventh."),
    ],
)
def test_a_chord_described_as_what_it_is(symbol: str, true: str) -> None:
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord(symbol)
    ok(true, chord_facts(info).widened(teach_chord(info, "intermediate")))


@pytest.mark.parametrize(
    ("chords", "key", "false"),
    [
        # model answers marked verified (grounding version 6), each checked by hand
        ("C G Am F", "C major", "In C major, I is the IV chord and V is the dominant."),
        ("Fm7 Bb7 Ebmaj7", "Eb major", "In Eb major, Fm7 is the ii chord and V7 is the I."),
        ("C A7 Dm", "C major", "In C major, Dm is the ii chord and E is the V7/ii chord."),
        ("F C", "C major", "In C major, F is the IV chord and G the I chord."),
        ("D A", "A major", "In A major, D is the IV chord and E the I chord."),
        ("Db Bb7 Ebm", "Db major", "In Db major, Ebm is the ii (dominant) chord."),
        ("Em7 A7 Dmaj7", "D major", "Em7 = ii-V-I (jazz) is the dominant, A7 = V7 (dominant)."),
        (
            "Ab Eb Fm Db",
            "Ab major",
            "Ab major is the I chord, Eb major is the V chord and Fm major is the IV chord.",
        ),
    ],
)
def test_numerals_equated_with_what_they_are_not(chords: str, key: str, false: str) -> None:
    caught(false, progression(chords, key))


@pytest.mark.parametrize(
    ("chords", "key", "false", "true"),
    [
        # model answers marked verified by grounding version 6, found in a re-audit
        (
            "D A",
            "A major",
            "In A major, D is the IV chord and E the tonic.",
            "In A major, D is the IV chord and A the tonic.",
        ),
        (
            "D B7 Em",
            "D major",
            "In D major, the ii chord pulls back to the dominant B7.",
            "In D major, B7 is the dominant of Em, the ii chord.",
        ),
        (
            "D B7 Em",
            "D major",
            "In D major, B7 is the dominant and Em is the ii chord.",  # a named key decides
            "B7 is the dominant that pulls to Em.",
        ),
        (
            "C G7 C",
            "C major",
            "The tonic chord, G7, comes back.",
            "The dominant G7 pulls back to the tonic C.",
        ),
        (
            "Am Dm E7 Am",
            "A minor",
            "The dominant Dm leads home.",
            "The dominant seventh E7 leads home; the dominant E7 of A minor.",
        ),
    ],
)
def test_a_degree_name_given_to_a_chord(chords: str, key: str, false: str, true: str) -> None:
    facts = progression(chords, key)
    caught(false, facts)
    ok(true, facts)


@pytest.mark.parametrize(
    ("chords", "key", "true"),
    [
        ("C A7 Dm", "C major", "In C major, A7 is the V7/ii chord and Dm the ii chord."),
        ("C E7 Am", "C major", "E7 is the V7/vi, and Am the vi."),
        ("F G C", "C major", "In C major, F is the IV chord and G the V chord."),
        ("Dm7 G7 Cmaj7", "C major", "It is a ii-V-I progression; the V7 is the dominant."),
    ],
)
def test_numerals_equated_with_what_they_are(chords: str, key: str, true: str) -> None:
    ok(true, progression(chords, key))


def test_related_keys_in_the_facts_notation() -> None:
    # a model answer marked verified: Db major's relative is Bb minor
    facts = scale("Db", "major")
    caught(
        "The Db major scale has the notes Db, Eb, F, Gb, Ab, Bb and C. Relative: Db minor.", facts
    )
    ok("Relative: Bb minor.", facts)
    ok("Relative: E major.", scale("A", "lydian"))  # the parent major, as the facts say


@pytest.mark.parametrize(
    ("symbol", "false"),
    [
        # the second audit's remaining shapes (model answers marked verified)
        ("Dbsus4", "Db is a suspended fourth chord with the notes Db, Gb and Ab."),
        ("Edim", "E is a diminished chord with the notes E, G and Bb."),
        ("Bbsus4", "Bbsus4 is a suspended fourth chord with the notes Bbs, Eb and F."),
    ],
)
def test_a_chord_called_by_its_root_or_a_word_among_its_notes(symbol: str, false: str) -> None:
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord(symbol)
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    caught(false, facts)
    ok(f"{symbol} is a chord with the notes {', '.join(info.notes)}.", facts)


def test_a_chord_called_a_pattern() -> None:
    caught("C#m7 is the ii-V-I chord and F#7 is the V chord.", progression("C#m7 F#7 Bmaj7"))
    ok("C#m7 F#7 Bmaj7 is a ii-V-I progression.", progression("C#m7 F#7 Bmaj7"))


def test_a_garbled_chord_name_and_a_note_measured_against_a_chord() -> None:
    # the last two shapes of the second audit
    facts = progression("Bb G7 Cm", "Bb major")
    caught("In Bb major, Dg is the ii chord and G7 is the V7/ii chord.", facts)
    ok("In Bb major, Cm is the ii chord and G7 is the V7/ii chord.", facts)
    from music_reasoning.sdk.teacher import teach_chord
    from music_reasoning.theory import build_chord

    info = build_chord("Ebsus4")
    facts = chord_facts(info).widened(teach_chord(info, "intermediate"))
    caught("Eb is a semitone lower than Ebsus4.", facts)
    ok("Go to Ab, then back: Be it so, Do it.", chord("Ab"))


# ------------------------------------------- true sentences the grounding-7 readers let be

C_WITH_SECONDARIES = ("C E7 Am F G7 C", "C major")


@pytest.mark.parametrize(
    ("text", "chords", "key"),
    [
        # a reviewer's counter-examples to the degree, function and root readers
        ("In C the dominant is G.", "C F G7 C", "C major"),
        ("In the key of A the dominant is E.", "A D E7 A", "A major"),
        ("In the key of A, the dominant is E.", "A D E7 A", "A major"),
        ("For a song in D the dominant chord is A7.", "D G A7 D", "D major"),
        ("When the melody moves from B to C the leading tone resolves.", "C F G7 C", "C major"),
        ("E7 is the V7/vi: the dominant E7 pulls to Am.", *C_WITH_SECONDARIES),
        ("Am is approached by the dominant E7, a secondary dominant.", *C_WITH_SECONDARIES),
        ("D7 is the V7/V: in G major the dominant is D7.", "C D7 G7 C", "C major"),
        ("Em is briefly tonicised by the dominant B7 that precedes it.", "D B7 Em A7 D", "D major"),
        ("The ii-V-I progression has a predominant, a dominant and a tonic.", "Dm7 G7 Cmaj7", None),
        ("An authentic cadence is dominant to tonic.", "Dm7 G7 Cmaj7", None),
        ("This progression is tonic, subdominant, dominant, tonic.", "C F G C", None),
        ("The progression has the tonic C at each end.", "C F G C", None),
    ],
)
def test_true_sentences_about_degrees_and_functions_pass(
    text: str, chords: str, key: str | None
) -> None:
    ok(text, progression(chords, key))


@pytest.mark.parametrize(
    ("symbol", "text"),
    [
        ("C", "The note that names the chord is its root."),
        ("C", "The lowest note of a root-position triad is the root."),
        ("G7", "In a root-position chord, the bass note of the chord is the root."),
        ("C", "The C major chord is a root-position triad."),
        ("G7", "G7 is a root-position chord when G is in the bass."),
        ("C5", "C5 is a perfect fifth chord."),
        ("Caug", "Caug is an augmented fifth chord."),
    ],
)
def test_true_sentences_about_roots_and_names_pass(symbol: str, text: str) -> None:
    ok(text, chord(symbol))
