from __future__ import annotations

import logging

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.params import (
    MAX_TIMEOUT,
    PRESETS,
    GenerationParams,
    resolve_params,
    validate_prompt,
    validate_prompts,
)


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_empty_prompt_is_invalid(prompt: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        validate_prompt(prompt, max_chars=1000)


def test_prompt_over_limit_is_invalid_and_keeps_context() -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_prompt("x" * 1001, max_chars=1000)
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["length"] == 1001
    assert validate_prompt("x" * 1000, max_chars=1000) == "x" * 1000


def test_non_string_prompt_is_invalid() -> None:
    with pytest.raises(InvalidInputError):
        validate_prompt(42, max_chars=10)


@pytest.mark.parametrize("temperature", [-0.1, 1.01, 5])
def test_temperature_outside_unit_interval(temperature: float) -> None:
    with pytest.raises(InvalidInputError, match=r"outside \[0, 1\]"):
        resolve_params(temperature=temperature)


@pytest.mark.parametrize("max_tokens", [0, -5])
def test_non_positive_max_tokens(max_tokens: int) -> None:
    with pytest.raises(InvalidInputError, match="max_tokens"):
        resolve_params(max_tokens=max_tokens)


def test_max_tokens_above_ceiling_is_clamped_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="music_reasoning.params"):
        params = resolve_params(max_tokens=5000, max_tokens_ceiling=1024)
    assert params.max_tokens == 1024
    assert "clamped" in caplog.text


def test_presets_and_explicit_temperature() -> None:
    assert PRESETS == {"factual": 0.3, "creative": 0.5, "highly_creative": 0.7}
    assert resolve_params().temperature == 0.5
    assert resolve_params(preset="factual").temperature == 0.3
    assert resolve_params(preset="factual", temperature=0.9).temperature == 0.9
    with pytest.raises(InvalidInputError, match="preset"):
        resolve_params(preset="wild")


@pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), float("nan"), 1e23, MAX_TIMEOUT + 1])
def test_timeout_must_be_positive_and_finite(timeout: float) -> None:
    with pytest.raises(InvalidInputError, match="timeout"):
        resolve_params(timeout=timeout)


@pytest.mark.parametrize(
    ("prompt", "position", "where"),
    [
        ("\ud800", 0, "U+D800 is a lone surrogate"),
        ("What is \udcff a chord?", 8, "byte 0xFF is not UTF-8"),  # argv bytes, surrogateescape'd
    ],
)
def test_a_prompt_that_is_not_unicode_text_is_invalid(
    prompt: str, position: int, where: str
) -> None:
    with pytest.raises(InvalidInputError, match="not valid text") as info:
        validate_prompt(prompt, max_chars=1000)
    assert where in info.value.message
    assert info.value.details["position"] == position
    info.value.message.encode("ascii")  # printable on any terminal


@pytest.mark.parametrize("prompt", ["\0", "\0\0\0", "\x01\x02\x7f", "\u200b\u200d", "\0 \t\0"])
def test_a_prompt_of_only_control_or_invisible_characters_is_empty(prompt: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        validate_prompt(prompt, max_chars=1000)


@pytest.mark.parametrize(
    "prompt", ["What is a chord?", "Qu'est-ce qu'un accord ?", "C𝄪 là? 🎵", "a"]
)
def test_ordinary_prompts_in_any_script_pass(prompt: str) -> None:
    assert validate_prompt(prompt, max_chars=1000) == prompt


@pytest.mark.parametrize("prompts", ["What is a chord?", b"What is a chord?", 42, {"a": 1}, None])
def test_a_batch_must_be_a_list_of_prompts(prompts: object) -> None:
    with pytest.raises(InvalidInputError, match="list of prompts"):
        validate_prompts(prompts)


def test_a_batch_list_or_tuple_passes_as_a_list() -> None:
    assert validate_prompts(("a", None)) == ["a", None]  # each item is checked later
    assert validate_prompts([]) == []


@pytest.mark.parametrize("timeout", [True, False, "30", None])
def test_timeout_must_be_a_number_not_a_bool(timeout: object) -> None:
    with pytest.raises(InvalidInputError, match="timeout"):
        resolve_params(timeout=timeout)  # type: ignore[arg-type]
    assert resolve_params(timeout=1).timeout == 1.0


@pytest.mark.parametrize("temperature", [True, False])
def test_temperature_must_be_a_number_not_a_bool(temperature: bool) -> None:
    with pytest.raises(InvalidInputError, match="number"):
        resolve_params(temperature=temperature)


def test_banned_words_default_to_none_and_survive_to_dict() -> None:
    assert GenerationParams().banned_words == () and GenerationParams().allowed_words == ()
    params = GenerationParams(banned_words=("F#", "vi"), allowed_words=("F",))
    assert params.to_dict()["banned_words"] == ["F#", "vi"]
    assert params.to_dict()["allowed_words"] == ["F"]
