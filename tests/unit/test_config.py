from __future__ import annotations

from pathlib import Path

import pytest

from music_reasoning.config import (
    cache_dir,
    config_dir,
    config_file,
    load_settings,
    save_setting,
)
from music_reasoning.errors import InvalidInputError


def test_home_moves_all_state(isolated_home: Path) -> None:
    assert cache_dir() == isolated_home / "cache"
    assert config_dir() == isolated_home / "config"


def test_precedence_argument_env_file_default(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = isolated_home / "config"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text(
        "[music_reasoning]\nn_ctx = 1024\ntimeout = 12.5\nmax_turns = 4\n"
    )
    monkeypatch.setenv("MUSIC_REASONING_TIMEOUT", "7")
    s = load_settings(max_turns=3)
    assert (s.max_turns, s.sources["max_turns"]) == (3, "argument")
    assert (s.timeout, s.sources["timeout"]) == (7.0, "env")
    assert (s.n_ctx, s.sources["n_ctx"]) == (1024, "config file")
    assert (s.n_parallel, s.sources["n_parallel"]) == (8, "default")


def test_bad_values_and_unknown_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSIC_REASONING_N_CTX", "lots")
    with pytest.raises(InvalidInputError, match="n_ctx"):
        load_settings()
    with pytest.raises(InvalidInputError, match="Unknown"):
        load_settings(colour="blue")


def test_broken_config_file_is_a_clear_error(isolated_home: Path) -> None:
    cfg = isolated_home / "config"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text("n_ctx = [")
    with pytest.raises(InvalidInputError, match="config file"):
        load_settings()


def test_save_setting_round_trips_and_keeps_other_keys(isolated_home: Path) -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_text("[music_reasoning]\nn_ctx = 4096\n\n[other]\nx = 1\n")
    save_setting("telemetry", "on")
    save_setting("default_model", "gemma3-270m")
    settings = load_settings()
    assert settings.telemetry is True and settings.sources["telemetry"] == "config file"
    assert settings.default_model == "gemma3-270m" and settings.n_ctx == 4096
    assert "[other]" in path.read_text()
    save_setting("default_model", None)
    assert load_settings().default_model is None
    with pytest.raises(InvalidInputError):
        save_setting("no_such_setting", 1)
    with pytest.raises(InvalidInputError):
        save_setting("n_ctx", "lots")
