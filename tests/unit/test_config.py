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


@pytest.mark.parametrize(
    "bad",
    [
        {"n_ctx": -5},
        {"n_ctx": 3.5},
        {"n_ctx": 1 << 40},
        {"n_parallel": True},  # a bool is not a number, even though True == 1
        {"n_parallel": 0},
        {"timeout": True},
        {"timeout": 0.0},
        {"timeout": -1},
        {"timeout": float("inf")},
        {"n_threads": -1},
        {"n_gpu_layers": -2},
        {"max_prompt_chars": 0},
        {"max_tokens_ceiling": 0},
        {"max_turns": 0},
        {"retries": -1},
        {"memory_budget_mb": -1},
        {"keep_alive": -1},
        {"cloud_timeout": float("nan")},
        {"cache_max_entries": 0},
        {"verbose": "maybe"},
        {"telemetry": 2},
        {"mode": True},
    ],
)
def test_an_argument_out_of_range_or_of_the_wrong_type_is_refused(bad: dict[str, object]) -> None:
    """``load_settings(n_ctx=-5)`` was accepted and failed later as INFERENCE_FAILED."""
    ((name, value),) = bad.items()
    with pytest.raises(InvalidInputError) as info:
        load_settings(**bad)
    err = info.value
    assert err.code == "INVALID_INPUT"
    assert repr(name) in err.message and "argument" in err.message
    assert name in err.suggestion
    assert err.details == {"setting": name, "source": "argument", "value": repr(value)}


def test_several_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="n_ctx"):
        load_settings(timeout=True, n_parallel=True, n_ctx=-5)


def test_a_bad_environment_variable_is_named_with_its_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSIC_REASONING_N_CTX", "-5")
    with pytest.raises(InvalidInputError) as info:
        load_settings()
    err = info.value
    assert "MUSIC_REASONING_N_CTX" in err.message and "'-5'" in err.message
    assert "MUSIC_REASONING_N_CTX" in err.suggestion and "256" in err.suggestion
    assert err.details["source"] == "env"
    monkeypatch.setenv("MUSIC_REASONING_N_CTX", "1024")
    monkeypatch.setenv("MUSIC_REASONING_N_PARALLEL", "true")
    with pytest.raises(InvalidInputError, match="MUSIC_REASONING_N_PARALLEL"):
        load_settings()


@pytest.mark.parametrize("line", ["n_parallel = true", "timeout = 0", "keep_alive = -3.5"])
def test_a_bad_config_file_value_is_named_with_the_file(isolated_home: Path, line: str) -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_text(f"[music_reasoning]\n{line}\n")
    with pytest.raises(InvalidInputError) as info:
        load_settings()
    err = info.value
    assert line.split()[0] in err.message and str(path) in err.message
    assert str(path) in err.suggestion and err.details["source"] == "config file"


def test_values_at_the_edges_of_their_ranges_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSIC_REASONING_VERBOSE", "off")
    monkeypatch.setenv("MUSIC_REASONING_TELEMETRY", "on")
    s = load_settings(
        n_ctx=256, n_parallel=256, n_threads=0, n_gpu_layers=-1, timeout=0.5, retries=0,
        keep_alive=0, memory_budget_mb=0, max_turns=1, cloud_timeout=86_400,
    )  # fmt: skip
    assert (s.n_ctx, s.n_parallel, s.n_threads, s.n_gpu_layers) == (256, 256, 0, -1)
    assert (s.timeout, s.retries, s.keep_alive, s.cloud_timeout) == (0.5, 0, 0, 86_400)
    assert (s.verbose, s.telemetry) == (False, True)
    assert load_settings(n_ctx=512.0).n_ctx == 512  # a whole float is a whole number


def test_saving_a_bad_value_is_refused_and_leaves_the_file(isolated_home: Path) -> None:
    path = config_file()
    path.parent.mkdir(parents=True)
    path.write_text("[music_reasoning]\nn_ctx = 4096\n")
    with pytest.raises(InvalidInputError, match="n_ctx"):
        save_setting("n_ctx", "-5")
    assert path.read_text() == "[music_reasoning]\nn_ctx = 4096\n"
