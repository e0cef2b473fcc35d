"""The concept knowledge base: every entry loads, links resolve, examples realize."""

from __future__ import annotations

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.sdk.concepts import (
    LEVELS,
    ConceptInfo,
    _kb,
    _realize,
    concept_ids,
    concept_questions,
    explain_concept,
    find_concept,
    find_key,
)
from music_reasoning.sdk.question import explain_question

MAJOR_KEYS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_KEYS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


def test_the_knowledge_base_is_large_and_linked() -> None:
    kb = _kb()
    assert len(kb.entries) >= 60
    for entry in kb.entries.values():
        assert all(r in kb.entries and r != entry.id for r in entry.related), entry.id
        assert all(getattr(entry, level).strip() for level in LEVELS), entry.id
        assert entry.definition.strip() and entry.examples


def test_names_and_aliases_are_unique_across_entries() -> None:
    seen: dict[str, str] = {}
    for entry in _kb().entries.values():
        for name in {entry.name.lower(), *(a.lower() for a in entry.aliases)}:
            assert seen.setdefault(name, entry.id) == entry.id, name


def test_the_schema_refuses_unknown_keys() -> None:
    from pydantic import ValidationError

    from music_reasoning.sdk.concepts import _Entry, _Example

    with pytest.raises(ValidationError):
        _Example.model_validate({"label": "x", "chord": "V7", "colour": "red"})
    with pytest.raises(ValidationError):
        _Example.model_validate({"label": "x", "chord": "V7", "interval": "P5"})
    with pytest.raises(ValidationError):
        _Entry.model_validate({"id": "Bad Id", "name": "x"})


@pytest.mark.parametrize("concept_id", concept_ids())
def test_every_example_realizes_in_twelve_keys(concept_id: str) -> None:
    for example in _kb().entries[concept_id].examples:
        modes = ("major", "minor") if example.effective_mode == "any" else (example.effective_mode,)
        for mode in modes:
            for tonic in MAJOR_KEYS if mode == "major" else MINOR_KEYS:
                realized = _realize(example, tonic, mode)
                assert realized.text and (realized.chords or realized.notes)


def test_plagal_cadence_in_e_flat_is_computed() -> None:
    result = explain_concept("plagal cadence", key="Eb")
    assert (result.source, result.verified) == ("deterministic", True)
    info = result.data
    assert isinstance(info, ConceptInfo)
    assert info.key == "Eb major"
    assert [c.symbol for c in info.examples[0].chords] == ["Ab", "Eb"]
    assert "Ab - Eb" in (result.explanation or "")
    assert result.to_dict()["data"]["examples"][0]["chords"][0]["notes"] == ["Ab", "C", "Eb"]


def test_minor_key_picks_minor_examples_and_levels_differ() -> None:
    info = explain_concept("amen cadence", key="F# minor", level="beginner").data
    assert [e.text for e in info.examples] == ["iv - i: Bm - F#m"]
    assert info.text == _kb().entries["plagal-cadence"].beginner
    defaults = explain_concept("tritone substitution").data
    assert [c.symbol for c in defaults.examples[0].chords] == ["Db7"]
    assert defaults.examples[-1].key == "A minor"  # a minor example without a key


def test_a_concept_without_examples_in_the_key_s_mode_uses_the_parallel_key() -> None:
    info = explain_concept("phrygian half cadence", key="C").data
    assert info.examples[0].key == "C minor"
    assert [c.symbol for c in info.examples[0].chords] == ["Fm/Ab", "G"]


def test_unknown_concept_suggests_close_names() -> None:
    with pytest.raises(InvalidInputError) as info:
        explain_concept("plagl cadense")
    assert "plagal cadence" in info.value.details["suggestions"]
    with pytest.raises(InvalidInputError):
        explain_concept("plagal cadence", level="expert")
    with pytest.raises(InvalidInputError):
        explain_concept("plagal cadence", key="H major")


@pytest.mark.parametrize(
    ("question", "key", "rest"),
    [
        ("explain the plagal cadence in E flat", "Eb major", "explain the plagal cadence"),
        ("the deceptive cadence in F# minor?", "F# minor", "the deceptive cadence ?"),
        ("the relative minor of Bb", "Bb major", "the relative minor"),
        ("a ii-V-I in the key of Am", "A minor", "a ii-V-I"),
        ("What is a plagal cadence?", None, "What is a plagal cadence?"),
    ],
)
def test_find_key(question: str, key: str | None, rest: str) -> None:
    assert find_key(question) == (key, rest)


def test_find_concept_prefers_the_longest_name() -> None:
    assert find_concept("What is a Phrygian half cadence?") == ("phrygian-half-cadence", None)
    assert find_concept("What's the half cadence in G?") == ("half-cadence", "G major")
    assert find_concept("How do I harmonize a major scale?") == (
        "harmonizing-the-major-scale",
        None,
    )
    assert find_concept("What notes are in a G7 chord?") is None


def test_the_question_set_routes_and_states_the_facts() -> None:
    questions = concept_questions()
    assert len(questions) >= 150
    right = 0
    for q in questions:
        result = explain_question(q.question)
        if result is None or not isinstance(result.data, ConceptInfo):
            continue
        text = (result.explanation or "").lower()
        if result.data.id == q.concept and all(f.lower() in text for f in q.facts):
            right += 1
    assert right / len(questions) >= 0.95
