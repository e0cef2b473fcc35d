"""OpenAI requests in the package's terms: messages to a question and turns, fields to params.

Chat messages become what the engine takes: the last user message is the question,
earlier user/assistant pairs are ``history`` turns (the engine renders them with the
model's template, after its fixed instructions and worked examples).  System and
developer messages are instructions for the answer: they go in front of the question.
Consecutive user messages are joined; an assistant message with no user message before
it answers an empty question.
"""

from __future__ import annotations

from dataclasses import replace

from music_reasoning.errors import InvalidInputError
from music_reasoning.params import GenerationParams, resolve_params
from music_reasoning.server.schemas import ChatMessage, SamplingFields

__all__ = ["chat_turns", "finish_reason", "generation_params"]


def chat_turns(messages: list[ChatMessage]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The question and the earlier (question, answer) turns of a chat.

    Raises:
        InvalidInputError: the last message is not the user's.
    """
    instructions: list[str] = []
    history: list[tuple[str, str]] = []
    asked: list[str] = []
    for message in messages:
        text = message.text().strip()
        if message.role in ("system", "developer"):
            if text:
                instructions.append(text)
        elif message.role == "user":
            asked.append(text)
        else:
            history.append(("\n".join(asked), text))
            asked = []
    if not asked:
        raise InvalidInputError(
            "The last message must be the user's: there is no question to answer.",
            suggestion='End messages with {"role": "user", "content": "..."}.',
        )
    question = "\n".join(asked)
    if instructions:
        question = "\n".join([*instructions, question])
    return question, tuple(history)


def generation_params(
    request: SamplingFields,
    *,
    max_tokens: int | None,
    cap: int,
    default_max_tokens: int,
    timeout: float,
) -> GenerationParams:
    """Sampling fields of an OpenAI request as :class:`GenerationParams`.

    Missing fields keep the package's defaults (temperature 0.5, top_p 0.95, seed 42).

    Raises:
        InvalidInputError: ``max_tokens`` above ``cap``.
    """
    wanted = default_max_tokens if max_tokens is None else max_tokens
    if wanted > cap:
        raise InvalidInputError(
            f"max_tokens {wanted} is above this server's cap of {cap}.",
            suggestion=f"Ask for at most {cap} tokens.",
            details={"max_tokens": wanted, "cap": cap},
        )
    params = resolve_params(
        temperature=request.temperature,
        max_tokens=wanted,
        timeout=timeout,
        max_tokens_ceiling=cap,
    )
    stops = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
    return replace(
        params,
        stop=tuple(stops),
        top_p=params.top_p if request.top_p is None else request.top_p,
        seed=params.seed if request.seed is None else request.seed,
    )


def finish_reason(reason: str) -> str:
    """The engine's finish reason in OpenAI's words (``stop`` or ``length``)."""
    return "length" if reason == "length" else "stop"
