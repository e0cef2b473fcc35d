"""Follow-ups in a grounded conversation: answered from the subject's lesson, at the
level asked, or left to the model with the facts in context and checked."""

from __future__ import annotations

import pytest

from music_reasoning.sdk.conversation import Conversation
from music_reasoning.sdk.hybrid import Hybrid


@pytest.fixture
def talk() -> Conversation:
    return Conversation(hybrid=Hybrid(mode="deterministic"), use_cache=False)


def headings(result: object) -> list[str]:
    return [h for h, _ in result.lesson.sections]  # type: ignore[attr-defined]


def test_a_follow_up_without_a_subject_is_left_to_the_caller(talk: Conversation) -> None:
    assert talk.ask("Where does it resolve?") is None
    assert talk.context() == []
    assert talk.check("It has the notes C, E and G.") == []


def test_where_a_chord_goes_is_answered_from_its_lesson(talk: Conversation) -> None:
    first = talk.ask("What notes are in a G7 chord?")
    assert first is not None and first.data.symbol == "G7"
    answer = talk.ask("Where does it resolve?")
    assert answer is not None and answer.verified and answer.source == "deterministic"
    assert headings(answer) == ["Where it goes"]
    assert "C" in answer.explanation and answer.data.symbol == "G7"
    full = dict(first.lesson.sections)
    assert answer.lesson.sections[0][1] == full["Where it goes"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What can I substitute for it?", "Substitutes"),
        ("Which keys is it in?", "Keys"),
        ("How is it built?", "How it is built"),
        ("What about its inversions?", "Inversions"),
    ],
)
def test_each_topic_finds_its_section(talk: Conversation, question: str, expected: str) -> None:
    talk.ask("Tell me about G7.")
    answer = talk.ask(question)
    assert answer is not None and expected in headings(answer)


def test_a_scale_follow_up_and_a_new_subject(talk: Conversation) -> None:
    talk.ask("Spell D dorian")
    answer = talk.ask("How does it differ from the others?")
    assert answer is not None and headings(answer) == ["What makes it different"]
    assert "B" in answer.explanation  # dorian's raised sixth over D
    talk.ask("What is Am?")
    assert talk.subject is not None and talk.subject.data.symbol == "Am"


def test_simpler_and_deeper_move_the_level(talk: Conversation) -> None:
    first = talk.ask("What is Cmaj7?")
    assert first is not None and first.lesson.level == "intermediate"
    simpler = talk.ask("Can you say that more simply?")
    assert simpler is not None and simpler.lesson.level == "beginner"
    assert len(simpler.explanation) < len(first.explanation)
    deeper = talk.ask("Now in more detail please")
    assert deeper is not None and deeper.lesson.level == "intermediate"
    assert talk.ask("Go deeper") is not None and talk.level == "advanced"


def test_a_concept_follow_up_in_another_key(talk: Conversation) -> None:
    first = talk.ask("What is a plagal cadence?")
    assert first is not None and first.data.id == "plagal-cadence"
    answer = talk.ask("And in E flat?")
    assert answer is not None and answer.data.key == "Eb major"
    assert "Ab" in answer.explanation
    assert talk.ask("Why is that?") is None  # nothing placed: the model's turn


def test_the_model_gets_the_facts_and_its_answer_is_checked(talk: Conversation) -> None:
    talk.ask("What is G7?")
    (turn,) = talk.context()
    assert "G7" in turn[0] and "G, B, D and F" in turn[1]
    assert talk.check("It wants to move to C, with B rising to C.") == []
    planted = talk.check("It is built from G, B, D and F#.")
    assert planted and "F#" in planted[0]
    talk.reset()
    assert talk.subject is None and talk.context() == []
