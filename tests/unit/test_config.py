from __future__ import annotations

from pathlib import Path

import pytest

from music_reasoning.config import (
    atomic_write,
    cache_dir,
    config_dir,
    config_file,
    load_settings,
    save_setting,
)
from music_reasoning.errors import InsufficientDiskError, InvalidInputError, StorageError
from tests.support.mounts import read_only, small_disk


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


# -- files that may hold secrets: mode, comments, atomicity ------------------------------
CONFIG_WITH_KEY = """\
# my music-reasoning settings
[music_reasoning]
# the hosted endpoint
cloud_api_key = "sk-live-0123456789"  # keep this private
n_ctx = 4096

[other]
x = 1  # not ours
"""


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_saving_a_setting_keeps_mode_0600_comments_and_layout(isolated_home: Path) -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG_WITH_KEY)
    path.chmod(0o600)
    save_setting("telemetry", False)
    save_setting("default_model", "mine")
    text = path.read_text()
    assert _mode(path) == 0o600
    for kept in (
        "# my music-reasoning settings",
        "# the hosted endpoint",
        'cloud_api_key = "sk-live-0123456789"  # keep this private',
        "x = 1  # not ours",
    ):
        assert kept in text
    assert text.index("n_ctx = 4096") < text.index("[other]")  # order kept
    settings = load_settings()
    assert (settings.telemetry, settings.default_model) == (False, "mine")
    save_setting("default_model", None)
    assert "default_model" not in path.read_text()
    assert "# the hosted endpoint" in path.read_text()


def test_a_new_or_world_readable_config_gets_mode_0600(isolated_home: Path) -> None:
    path = save_setting("cloud_api_key", "sk-new-0123456789")
    assert _mode(path) == 0o600
    path.chmod(0o644)
    save_setting("telemetry", True)
    assert _mode(path) == 0o600


def test_settings_at_the_top_level_are_edited_where_they_are(isolated_home: Path) -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_text("# flat\nn_ctx = 1024\n")
    save_setting("telemetry", True)
    settings = load_settings()
    assert (settings.n_ctx, settings.telemetry) == (1024, True)
    assert path.read_text().startswith("# flat\n")


def test_atomic_write_mode_keeps_the_existing_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write(target, b"one", mode=0o600)
    assert _mode(target) == 0o600
    target.chmod(0o640)
    atomic_write(target, b"two")  # no mode: the file keeps the one it had
    assert (target.read_bytes(), _mode(target)) == (b"two", 0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_atomic_write_failure_is_coded_and_leaves_no_temp(tmp_path: Path) -> None:
    folder = tmp_path / "dest"
    (folder / "f.toml").mkdir(parents=True)  # a folder where the file belongs
    with pytest.raises(StorageError) as info:
        atomic_write(folder / "f.toml", b"x = 1\n")
    err = info.value
    assert err.code == "STORAGE_UNAVAILABLE" and err.details["errno"] == "EISDIR"
    assert str(folder / "f.toml") in err.message and err.suggestion
    assert [p.name for p in folder.iterdir()] == ["f.toml"]  # the temp file is gone


def test_atomic_write_on_a_full_disk_is_insufficient_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path / "tiny", "64k") as disk:
        with pytest.raises(InsufficientDiskError) as info:
            atomic_write(disk / "big.bin", b"x" * 256 * 1024)
        assert info.value.code == "INSUFFICIENT_DISK"
        assert list(disk.iterdir()) == []  # no half-written temp file left


def test_saving_into_a_read_only_config_folder_is_storage_unavailable(
    isolated_home: Path,
) -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG_WITH_KEY)
    with read_only(path.parent):
        assert load_settings().n_ctx == 4096  # reading needs no write
        with pytest.raises(StorageError) as info:
            save_setting("telemetry", True)
        assert info.value.details["errno"] == "EROFS"
        assert "read-only" in info.value.suggestion
    assert path.read_text() == CONFIG_WITH_KEY


@pytest.mark.parametrize("content", [b"\x00\xff\xfe binary \x80", b"n_ctx = 1\n\xc3\x28"])
def test_a_binary_config_file_is_a_coded_error_naming_it(
    isolated_home: Path, content: bytes
) -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    for call in (load_settings, lambda: save_setting("telemetry", True)):
        with pytest.raises(InvalidInputError) as info:
            call()
        err = info.value
        assert err.code == "INVALID_INPUT"
        assert str(path) in err.message and "UTF-8" in err.message
        assert "delete" in err.suggestion.lower() and str(path) in err.suggestion
    assert path.read_bytes() == content  # never overwritten
