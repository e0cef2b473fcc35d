"""Routing plain questions to the chord, scale or progression they name."""

from __future__ import annotations

import pytest

from music_reasoning.sdk.question import explain_question, find_subject


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("What notes are in a G7 chord?", ("chord", ["G7"])),
        ("Explain F#m7b5.", ("chord", ["F#m7b5"])),
        ("What notes are in the C major chord?", ("chord", ["C"])),
        ("Is an A minor triad sad?", ("chord", ["Am"])),
        ("What is an A chord?", ("chord", ["A"])),
        ("Analyze Dm7 G7 Cmaj7", ("progression", ["Dm7", "G7", "Cmaj7"])),
        ("Spell D dorian", ("scale", ["D", "dorian"])),
        ("What is the A harmonic minor scale?", ("scale", ["A", "harmonic minor"])),
        ("Describe the C Major scale.", ("scale", ["C", "major"])),
        ("What is a tritone substitution?", None),
        ("A cadence is what?", None),
        ("What is a major third?", None),
        ("Does Cadence or Dominant name a chord?", None),
        ("B diminished triad", ("chord", ["Bdim"])),
        ("What is a C minor seventh chord?", ("chord", ["Cm7"])),
        ("F sharp minor chord", ("chord", ["F#m"])),
        ("B flat major scale", ("scale", ["Bb", "major"])),
        ("A minor pentatonic scale", ("scale", ["A", "minor pentatonic"])),
        ("Dm7-G7-Cmaj7", ("progression", ["Dm7", "G7", "Cmaj7"])),
        ("Is B diminished a chord?", None),
        ("What chords are in the key of G?", None),
        ("Explain the ii-V-I in C", None),
        ("What is an E flat seventh?", None),
        ("Am I right? Do go on.", None),
        ("C(" * 5000 + "-", None),
    ],
)
def test_find_subject(question: str, subject: tuple[str, list[str]] | None) -> None:
    assert find_subject(question) == subject


@pytest.mark.parametrize(
    ("question", "concept", "key"),
    [
        ("What is a tritone substitution?", "tritone-substitution", None),
        ("What is a plagal cadence?", "plagal-cadence", None),
        ("explain the plagal cadence in E flat", "plagal-cadence", "Eb major"),
        ("How do I harmonize a major scale?", "harmonizing-the-major-scale", None),
        ("what's a secondary dominant", "secondary-dominant", None),
        ("What is the deceptive cadence in F# minor?", "deceptive-cadence", "F# minor"),
        ("Explain the ii-V-I in C", "ii-v-i", "C major"),
        ("What is a major third?", "major-third", None),
        ("What is the dorian mode?", "dorian-mode", None),
        ("What chords are in a minor key?", "harmonizing-the-minor-scale", None),
    ],
)
def test_concept_questions_reach_the_knowledge_base(
    question: str, concept: str, key: str | None
) -> None:
    from music_reasoning.sdk.concepts import ConceptInfo
    from music_reasoning.sdk.question import explain_question

    result = explain_question(question)
    assert result is not None and isinstance(result.data, ConceptInfo)
    assert (result.data.id, result.data.key, result.source) == (concept, key, "deterministic")


def test_a_named_scale_or_chord_still_comes_first() -> None:
    from music_reasoning.sdk.concepts import find_concept

    # both name a concept ("dorian", "minor triad") but also a subject: chord routing wins
    assert find_concept("What is D dorian?") == ("dorian-mode", None)
    assert find_subject("What is D dorian?") == ("scale", ["D", "dorian"])
    assert find_subject("Is an A minor triad sad?") == ("chord", ["Am"])


@pytest.mark.parametrize(
    ("question", "scale"),
    [
        ("What notes are in D dorian?", "D dorian"),
        ("Explain the A harmonic minor scale", "A harmonic minor"),
        ("What is the C major pentatonic scale?", "C major pentatonic"),
    ],
)
def test_a_named_scale_beats_the_general_concept(question: str, scale: str) -> None:
    from music_reasoning.sdk.hybrid import Hybrid

    result = explain_question(question, hybrid=Hybrid(mode="deterministic"))
    assert result is not None
    assert f"{result.data.root} {result.data.type.replace('_', ' ')}" == scale


def test_a_key_phrase_does_not_turn_a_concept_question_into_a_scale() -> None:
    from music_reasoning.sdk.hybrid import Hybrid

    result = explain_question(
        "Explain the minor third in F# minor", hybrid=Hybrid(mode="deterministic")
    )
    assert result is not None and result.data.id == "minor-third"
