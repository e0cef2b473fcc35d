from __future__ import annotations

import pytest

from music_reasoning.sdk.facts import (
    chord_facts,
    examples_for,
    grounded_examples,
    progression_facts,
    scale_facts,
    worked_examples,
)
from music_reasoning.sdk.verify import find_contradictions
from music_reasoning.theory import analyze_progression, build_chord, get_scale


def test_chord_facts_ground_the_prompt_and_build_a_true_sentence() -> None:
    facts = chord_facts(build_chord("G7"))
    assert "G, B, D and F" in facts.prompt()
    assert facts.sentence.startswith("G7 is a G dominant seventh chord: G, B, D and F")
    assert find_contradictions(facts.sentence, facts) == []


def test_articles_read_naturally() -> None:
    assert chord_facts(build_chord("Am")).sentence.startswith("Am is an A minor chord")
    assert chord_facts(build_chord("F")).sentence.startswith("F is an F major chord")


def test_deterministic_sentences_never_contradict_their_facts() -> None:
    cases = (
        [chord_facts(build_chord(s)) for s in ("C", "Bb7", "F#m7b5", "C/E", "Ebmaj7", "Bdim7")]
        + [
            scale_facts(get_scale(r, t))
            for r, t in (("D", "dorian"), ("A", "natural_minor"), ("Eb", "major"), ("C", "blues"))
        ]
        + [
            progression_facts(analyze_progression(p.split()))
            for p in ("Dm7 G7 Cmaj7", "C G Am F", "Fm7 Bb7 Cmaj7", "C A7 Dm G7 C")
        ]
    )
    for facts in cases:
        assert find_contradictions(facts.sentence, facts) == [], facts.sentence


def test_topics_route_known_weaknesses() -> None:
    backdoor = progression_facts(analyze_progression(["Fm7", "Bb7", "Cmaj7"]))
    assert "backdoor_progression" in backdoor.topics
    secondary = progression_facts(analyze_progression(["C", "A7", "Dm", "G7", "C"], key="C"))
    assert "secondary_dominant" in secondary.topics


@pytest.mark.parametrize("kind", ["chord", "scale", "progression"])
def test_worked_examples_are_true_and_of_their_kind(kind: str) -> None:
    from music_reasoning.sdk.verify import find_contradictions

    subjects = {
        "chord": chord_facts(build_chord("G7")),
        "scale": scale_facts(get_scale("A", "lydian")),
        "progression": progression_facts(analyze_progression(["Am", "F", "C", "G"])),
    }
    examples = worked_examples(kind)
    assert len(examples) == 2 and all(f.kind == kind for f, _ in examples)
    assert examples_for(subjects[kind].prompt()) == grounded_examples(kind)
    for facts, answer in examples:
        assert find_contradictions(answer, facts) == [], answer
        assert answer.split()[0] in facts.prompt()  # about its own facts


def test_every_chord_type_and_scale_type_yields_a_consistent_sentence() -> None:
    from music_reasoning.theory import SCALE_TYPES
    from music_reasoning.theory._chord_table import TEMPLATES

    roots = ("C", "Db", "F#", "Bb", "E")
    facts = [chord_facts(build_chord(f"{r}{t.suffix}")) for r in roots for t in TEMPLATES]
    facts += [scale_facts(get_scale(r, t)) for r in roots for t in SCALE_TYPES]
    for f in facts:
        assert find_contradictions(f.sentence, f) == [], f.sentence
