"""Multi-turn chat on top of the local engine, with automatic resets.

A turn that fails (an invalid message, a timeout, a decoding error) raises and leaves
the history as it was before the turn (apart from an automatic reset that came due):
the conversation can go on with the next message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from music_reasoning.engine.local import LocalEngine
from music_reasoning.engine.metrics import MetricsHook
from music_reasoning.engine.pool import ModelArg
from music_reasoning.engine.runtime import _params, get_engine
from music_reasoning.errors import InvalidInputError
from music_reasoning.params import DEFAULT_MAX_TOKENS, GenerationParams, validate_prompt

__all__ = ["ChatSession"]

logger = logging.getLogger(__name__)


class ChatSession:
    """A conversation that remembers earlier turns.

    The history is cleared automatically after ``max_turns`` turns (10 by default,
    ``MUSIC_REASONING_MAX_TURNS``) and before a prompt with its history and answer
    would overflow the context window.  ``resets`` counts the automatic resets.
    """

    def __init__(
        self,
        *,
        max_turns: int | None = None,
        preset: str | None = None,
        temperature: float | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float | None = None,
        model: ModelArg = None,
        engine: LocalEngine | None = None,
    ) -> None:
        self._engine = engine or get_engine(model)
        self.max_turns = self._engine.settings.max_turns if max_turns is None else max_turns
        if self.max_turns < 1:
            raise InvalidInputError(f"max_turns must be at least 1, got {self.max_turns}.")
        self._params: GenerationParams = _params(
            self._engine, temperature, preset, max_tokens, timeout
        )
        self.history: list[tuple[str, str]] = []
        self.resets = 0

    @property
    def turns(self) -> int:
        return len(self.history)

    def reset(self) -> None:
        """Forget the conversation so far."""
        self.history.clear()

    def add_turn(self, message: str, answer: str) -> None:
        """Remember a turn answered elsewhere (from the facts, say): later answers see it."""
        self._prepare(message)
        self.history.append((message.strip(), answer.strip()))

    def forget_last(self) -> None:
        """Drop the last turn (an answer that was not shown)."""
        if self.history:
            self.history.pop()

    def _prepare(self, message: str) -> None:
        validate_prompt(message, max_chars=self._engine.settings.max_prompt_chars)
        if self.turns >= self.max_turns:
            logger.info("chat auto-reset after %d turns", self.turns)
            self._auto_reset()
        elif self.history:
            need = self._engine.prompt_token_count(message, self.history) + self._params.max_tokens
            if need >= self._engine.settings.n_ctx:
                logger.info("chat auto-reset: %d tokens would overflow the context", need)
                self._auto_reset()

    def _auto_reset(self) -> None:
        self.reset()
        self.resets += 1

    def ask(self, message: str, *, on_metrics: MetricsHook | None = None) -> str:
        """Send a message and return the answer, remembering both.

        Raises:
            InvalidInputError, InferenceTimeoutError, InferenceError: the turn failed and
                is not remembered; the session can go on.
        """
        self._prepare(message)
        answer = self._engine.complete(
            message, self._params, history=self.history, on_metrics=on_metrics
        ).text
        self.history.append((message.strip(), answer))
        return answer

    def stream(self, message: str, *, on_metrics: MetricsHook | None = None) -> Iterator[str]:
        """Like :meth:`ask`, yielding the answer in chunks; the turn is recorded at the end.

        A turn that fails part way (after some chunks) is not recorded either.
        """
        self._prepare(message)
        parts: list[str] = []
        for chunk in self._engine.stream(
            message, self._params, history=list(self.history), on_metrics=on_metrics
        ):
            parts.append(chunk)
            yield chunk
        self.history.append((message.strip(), "".join(parts).strip()))
