from __future__ import annotations

import logging

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.params import PRESETS, resolve_params, validate_prompt


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


@pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), float("nan")])
def test_timeout_must_be_positive_and_finite(timeout: float) -> None:
    with pytest.raises(InvalidInputError, match="timeout"):
        resolve_params(timeout=timeout)
