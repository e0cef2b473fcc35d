"""ServerConfig: ranges, the settings it starts from, and the loopback-or-key rule."""

from __future__ import annotations

import pytest

from music_reasoning.config import load_settings
from music_reasoning.errors import InvalidInputError
from music_reasoning.server.config import API_KEY_ENV, ServerConfig, check_bind, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_addresses_need_no_key(host: str) -> None:
    assert is_loopback(host)
    check_bind(ServerConfig(host=host))  # no error


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com", "10.0.0.1"])
def test_any_other_address_needs_a_key(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(InvalidInputError) as exc:
        check_bind(ServerConfig(host=host))
    assert exc.value.code == "INVALID_INPUT"
    assert host in exc.value.message and "--api-key" in exc.value.suggestion
    check_bind(ServerConfig(host=host, api_key="k" * 24))  # with a key it may listen


@pytest.mark.parametrize(
    "bad",
    [
        {"port": -1},
        {"port": 65536},
        {"port": True},
        {"parallel": 0},
        {"max_queue": -1},
        {"max_body_bytes": 0},
        {"max_tokens": 0},
        {"default_max_tokens": 2000},  # above the cap of 1024
        {"timeout": 0},
        {"timeout": float("nan")},
        {"host": ""},
        {"host": "a b"},
        {"api_key": "   "},
        {"api_key": "key\nwith-newline"},
        {"api_key": "ключ"},
        {"cors_origins": ("ftp://x",)},
    ],
)
def test_out_of_range_values_are_invalid_input(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        ServerConfig(**bad)  # type: ignore[arg-type]


def test_from_settings_takes_caps_timeout_and_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(API_KEY_ENV, "from-env-key")
    settings = load_settings(max_tokens_ceiling=64, timeout=12.0, n_parallel=3)
    config = ServerConfig.from_settings(settings, port=0, max_queue=None)
    assert (config.max_tokens, config.default_max_tokens, config.timeout) == (64, 64, 12.0)
    assert (config.parallel, config.api_key, config.port) == (3, "from-env-key", 0)
    assert config.max_queue == ServerConfig().max_queue  # None keeps the default
    assert ServerConfig.from_settings(settings, api_key="flag").api_key == "flag"  # flag wins


def test_from_settings_refuses_unknown_options() -> None:
    with pytest.raises(InvalidInputError, match="max_queu"):
        ServerConfig.from_settings(max_queu=3)
