"""OpenAI requests in the package's terms: turns, parameters, finish reasons."""

from __future__ import annotations

from typing import Any

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.params import DEFAULT_SEED, GenerationParams
from music_reasoning.server.schemas import ChatCompletionRequest, ChatMessage
from music_reasoning.server.translate import chat_turns, finish_reason, generation_params


def msgs(*pairs: tuple[str, Any]) -> list[ChatMessage]:
    return [ChatMessage(role=role, content=content) for role, content in pairs]  # type: ignore[arg-type]


def test_the_last_user_message_is_the_question_and_earlier_pairs_are_turns() -> None:
    question, history = chat_turns(
        msgs(
            ("user", "What is a triad?"),
            ("assistant", "Three notes in thirds."),
            ("user", "And a seventh chord?"),
        )
    )
    assert question == "And a seventh chord?"
    assert history == (("What is a triad?", "Three notes in thirds."),)


def test_system_messages_go_in_front_of_the_question_and_users_are_joined() -> None:
    question, history = chat_turns(
        msgs(
            ("system", "Answer in one sentence."),
            ("user", "Hi."),
            ("user", [{"type": "text", "text": "What is "}, {"type": "text", "text": "G7?"}]),
        )
    )
    assert question == "Answer in one sentence.\nHi.\nWhat is G7?"
    assert history == ()


def test_an_assistant_message_first_answers_an_empty_question() -> None:
    question, history = chat_turns(msgs(("assistant", "Hello!"), ("user", "What is C?")))
    assert (question, history) == ("What is C?", (("", "Hello!"),))


@pytest.mark.parametrize(
    "messages",
    [
        [("user", "Q"), ("assistant", "A")],
        [("system", "Be brief.")],
    ],
)
def test_without_a_final_user_message_there_is_no_question(
    messages: list[tuple[str, str]],
) -> None:
    with pytest.raises(InvalidInputError, match="last message"):
        chat_turns(msgs(*messages))


def request(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=msgs(("user", "Q")), **fields)


def test_missing_fields_keep_the_package_defaults() -> None:
    params = generation_params(
        request(), max_tokens=None, cap=100, default_max_tokens=40, timeout=9.0
    )
    base = GenerationParams()
    assert params.max_tokens == 40 and params.timeout == 9.0
    assert (params.temperature, params.top_p, params.seed) == (
        base.temperature,
        base.top_p,
        DEFAULT_SEED,
    )
    assert params.stop == ()


def test_openai_fields_map_onto_generation_params() -> None:
    params = generation_params(
        request(temperature=0.0, top_p=0.5, seed=7, stop="\n\n"),
        max_tokens=12,
        cap=100,
        default_max_tokens=40,
        timeout=9.0,
    )
    assert (params.temperature, params.top_p, params.seed, params.max_tokens) == (0.0, 0.5, 7, 12)
    assert params.stop == ("\n\n",)
    listed = generation_params(
        request(stop=["a", "b"]), max_tokens=None, cap=100, default_max_tokens=40, timeout=9.0
    )
    assert listed.stop == ("a", "b")


def test_max_tokens_above_the_cap_is_refused_not_clamped() -> None:
    with pytest.raises(InvalidInputError) as exc:
        generation_params(request(), max_tokens=101, cap=100, default_max_tokens=40, timeout=9.0)
    assert exc.value.details == {"max_tokens": 101, "cap": 100}


def test_finish_reasons_are_openai_words() -> None:
    assert [finish_reason(r) for r in ("stop", "length", "cancelled")] == [
        "stop",
        "length",
        "stop",
    ]
