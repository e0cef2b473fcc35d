"""Generation parameters: one frozen object passed down the stack, plus presets and validation."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from music_reasoning.errors import InvalidInputError

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "GenerationParams",
    "resolve_params",
    "validate_prompt",
    "validate_prompts",
    "validate_text",
]

logger = logging.getLogger(__name__)

#: Temperature presets from the roadmap: factual 0.3, creative 0.5 (default), highly creative 0.7.
PRESETS: dict[str, float] = {"factual": 0.3, "creative": 0.5, "highly_creative": 0.7}
DEFAULT_PRESET = "creative"
DEFAULT_MAX_TOKENS = 150
MAX_TIMEOUT = 86_400.0  # a day: settings, server and calls share it
DEFAULT_SEED = 42


@dataclass(frozen=True, kw_only=True)
class GenerationParams:
    """Sampling and limits for one generation.

    ``temperature`` 0 means greedy decoding.  ``timeout`` is the wall-clock budget
    in seconds for the whole call; when it passes, decoding stops.

    ``banned_words`` are whole words the model must not write (``F#``, ``vi``): the
    local engine never samples the token that would complete one, written with or
    without a leading space.  ``allowed_words`` stay writable where a banned word's
    tokens begin one of them (``F`` banned, ``F#`` allowed: after `` F`` only the
    continuation towards ``F#`` may follow).  Remote engines ignore both.
    """

    temperature: float = PRESETS[DEFAULT_PRESET]
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    max_tokens: int = DEFAULT_MAX_TOKENS
    stop: tuple[str, ...] = field(default_factory=tuple)
    seed: int = DEFAULT_SEED
    timeout: float = 30.0
    banned_words: tuple[str, ...] = ()
    allowed_words: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as plain JSON-ready values."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repeat_penalty": self.repeat_penalty,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "timeout": self.timeout,
            "banned_words": list(self.banned_words),
            "allowed_words": list(self.allowed_words),
        }


#: Unicode categories that show nothing: control and format characters, separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def validate_text(text: str, *, what: str) -> str:
    """Return ``text`` if it can be encoded as UTF-8 (``what`` names it in the message).

    Lone surrogates (``"\\ud800"``, or bytes that were not UTF-8 on the command line,
    which Python passes on as U+DC80..U+DCFF) are refused, rather than dropped or
    matched around.

    Raises:
        InvalidInputError: ``text`` holds a lone surrogate; the message names its position.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        where = (  # Python hands on bytes that were not UTF-8 as U+DC80..U+DCFF
            f"byte 0x{code - 0xDC00:02X} is not UTF-8"
            if 0xDC80 <= code <= 0xDCFF
            else f"U+{code:04X} is a lone surrogate"
        )
        raise InvalidInputError(
            f"{what} is not valid text: at character {exc.start}, {where}.",
            suggestion=(
                "Send UTF-8 text; on the command line, check that the terminal or file uses UTF-8."
            ),
            details={"position": exc.start, "length": len(text)},
        ) from exc
    return text


def validate_prompt(prompt: object, *, max_chars: int) -> str:
    """Return the prompt if it is non-empty text within ``max_chars``.

    A prompt must be encodable as UTF-8: lone surrogates (``"\\ud800"``, or bytes that
    were not UTF-8 on the command line, which Python passes on as surrogates) are
    refused.  A prompt made only of whitespace, control or format characters (NUL
    bytes, zero-width spaces) counts as empty.

    Raises:
        InvalidInputError: not a string, not valid text, empty, or too long.
    """
    if not isinstance(prompt, str):
        raise InvalidInputError(
            f"Prompt must be a string, got {type(prompt).__name__}.",
            suggestion="Pass the question as text.",
        )
    validate_text(prompt, what="Prompt")
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in prompt):
        raise InvalidInputError(
            "Prompt is empty.", suggestion="Ask a question, e.g. 'What notes are in a G7 chord?'."
        )
    if len(prompt) > max_chars:
        raise InvalidInputError(
            f"Prompt is {len(prompt)} characters; the limit is {max_chars}.",
            suggestion="Shorten the prompt or raise MUSIC_REASONING_MAX_PROMPT_CHARS.",
            details={"prompt_preview": prompt[:80], "length": len(prompt)},
        )
    return prompt


def validate_prompts(prompts: object) -> list[Any]:
    """Return the prompts of a batch as a list; each is checked later, on its own.

    Raises:
        InvalidInputError: ``prompts`` is one string (or bytes) rather than a sequence of
            prompts, or not a sequence at all.
    """
    if isinstance(prompts, str | bytes | bytearray):
        raise InvalidInputError(
            "A batch takes a list of prompts, got one string.",
            suggestion="Wrap the prompt in a list: ['What is a chord?'].",
        )
    if not isinstance(prompts, Sequence):
        raise InvalidInputError(
            f"A batch takes a list of prompts, got {type(prompts).__name__}.",
            suggestion="Pass a list of question strings.",
        )
    return list(prompts)


def resolve_params(
    *,
    temperature: float | None = None,
    preset: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    timeout: float = 30.0,
    max_tokens_ceiling: int = 1024,
    base: GenerationParams | None = None,
) -> GenerationParams:
    """Build validated :class:`GenerationParams` from the public keyword arguments.

    An explicit ``temperature`` wins over ``preset``; neither means the default preset.
    ``max_tokens`` above the ceiling is clamped with a warning.

    Raises:
        InvalidInputError: unknown preset, temperature outside [0, 1], non-positive
            max_tokens or timeout, or a bool where a number belongs.
    """
    if preset is not None and preset not in PRESETS:
        raise InvalidInputError(
            f"Unknown preset {preset!r}.",
            suggestion=f"Use one of: {', '.join(PRESETS)}.",
        )
    if temperature is None:
        temperature = PRESETS[preset or DEFAULT_PRESET]
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise InvalidInputError(f"Temperature must be a number, got {temperature!r}.")
    if not 0.0 <= float(temperature) <= 1.0:
        raise InvalidInputError(
            f"Temperature {temperature} is outside [0, 1].",
            suggestion="Use 0 for deterministic answers up to 1 for the most varied.",
        )
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
        raise InvalidInputError(
            f"max_tokens must be a positive integer, got {max_tokens!r}.",
            suggestion="Use e.g. max_tokens=150.",
        )
    if max_tokens > max_tokens_ceiling:
        logger.warning("max_tokens %d clamped to the ceiling %d", max_tokens, max_tokens_ceiling)
        max_tokens = max_tokens_ceiling
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise InvalidInputError(
            f"timeout must be a positive number of seconds up to {MAX_TIMEOUT:.0f} (a day), "
            f"got {timeout!r}.",
            suggestion="Use e.g. timeout=30.",
        )
    return replace(
        base or GenerationParams(),
        temperature=float(temperature),
        max_tokens=max_tokens,
        timeout=float(timeout),
    )
