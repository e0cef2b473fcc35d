"""Versioned prompt templates for both kinds of model.

* A GGUF that carries a chat template gets system + few-shot + history + question as
  chat messages rendered by the model's own template.
* A base model (no template, like the embedded Gemma 3 270M) gets an instruction and
  few-shot ``Question:``/``Answer:`` pairs to complete, with stop strings so the
  answer ends at the next question or blank line.

Both start with the same fixed prefix on every call, which is what lets the decoder
reuse its KV state across calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["PROMPT_VERSION", "BuiltPrompt", "PromptBuilder"]

PROMPT_VERSION = "1"

SYSTEM = (
    "You are a music theory tutor. Answer the question correctly and concisely, "
    "in one to three sentences, naming the exact notes, intervals or chords."
)

FEW_SHOT: tuple[tuple[str, str], ...] = (
    (
        "What notes are in a C major chord?",
        "A C major chord stacks a major third and a perfect fifth on C: C, E and G.",
    ),
    (
        "What is the relative minor of F major?",
        "The relative minor of F major is D minor; both keys have one flat, Bb.",
    ),
    (
        "What is a perfect fifth above D?",
        "A perfect fifth above D is A, seven semitones higher.",
    ),
)

BASE_STOPS = ("\nQuestion:", "\n\n")


@dataclass(frozen=True)
class BuiltPrompt:
    """A rendered prompt and the stop strings that end its answer."""

    text: str
    stop: tuple[str, ...]


class PromptBuilder:
    """Renders questions (and chat history) for one model.

    Args:
        chat_template: render (role, content) messages with the model's template,
            or None for a base model.
    """

    def __init__(self, chat_template: Callable[[Sequence[tuple[str, str]]], str] | None) -> None:
        self._render = chat_template

    @property
    def kind(self) -> str:
        return "chat" if self._render else "base"

    def build(self, question: str, history: Sequence[tuple[str, str]] = ()) -> BuiltPrompt:
        """Render ``question`` after the fixed prefix and any earlier (question, answer) turns."""
        turns = (*FEW_SHOT, *history)
        if self._render is not None:
            messages: list[tuple[str, str]] = [("system", SYSTEM)]
            for q, a in turns:
                messages += [("user", q), ("assistant", a)]
            messages.append(("user", question.strip()))
            return BuiltPrompt(self._render(messages), ())
        parts = [SYSTEM, ""]
        for q, a in turns:
            parts += [f"Question: {q}", f"Answer: {a}", ""]
        parts.append(f"Question: {' '.join(question.split())}")
        parts.append("Answer:")
        return BuiltPrompt("\n".join(parts), BASE_STOPS)
