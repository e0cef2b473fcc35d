"""Every command on a read-only MUSIC_REASONING_HOME: readers work, writers are coded.

The home holds the assembled embedded model (hard-linked from the session's, so its
verified marker still matches), a config with telemetry on and a used answer cache;
then it is bind-mounted read-only (a real EROFS, even for root).  Commands run through
``main()`` as a user would: no traceback, at most one WARNING for the cache and one for
telemetry, and STORAGE_UNAVAILABLE (exit 12) for the ones that must write.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from music_reasoning.cli.main import main
from music_reasoning.errors import EXIT_CODES
from music_reasoning.sdk.cache import ExplanationCache
from tests.support.mounts import read_only

STORAGE = EXIT_CODES["STORAGE_UNAVAILABLE"]
CONFIG = "# read-only home\n[music_reasoning]\ntelemetry = true\nn_ctx = 1024\n"


@pytest.fixture(scope="module")
def ro_home(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("ro-home")
    models = home / "cache" / "models"
    models.mkdir(parents=True)
    for src in (model_path, model_path.with_name(model_path.name + ".sha256")):
        if src.exists():
            os.link(src, models / src.name)
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text(CONFIG)
    with ExplanationCache(home / "cache" / "explanations.sqlite3") as cache:
        cache.put(ExplanationCache.make_key(model="m", kind="k", data={}, params={}), {"a": 1})
    with read_only(home):
        yield home


@pytest.fixture
def home(ro_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MUSIC_REASONING_HOME", str(ro_home))
    from music_reasoning.sdk import cache, telemetry

    monkeypatch.setattr(cache, "_off_folders", set())  # each command is its own process
    monkeypatch.setattr(telemetry, "_unwritable", set())
    return ro_home


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def warnings_about(err: str, word: str) -> int:
    return sum(1 for line in err.splitlines() if line.startswith("WARNING") and word in line)


@pytest.mark.parametrize(
    "args",
    [
        ["models", "list"],
        ["models", "list", "--json"],
        ["models", "verify"],
        ["config", "show"],
        ["telemetry", "show"],
        ["chord", "Am", "--explain", "--timeout", "120"],
        ["ask", "What notes are in a G7 chord?", "--max-tokens", "8", "--timeout", "120"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_reading_commands_work(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert out.strip()
    assert warnings_about(err, "caching is off") <= 1
    assert warnings_about(err, "telemetry is off") <= 1
    assert len([line for line in err.splitlines() if line.startswith("WARNING")]) <= 2


def test_chord_explain_still_explains(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "chord", "Am", "--explain", "--json", "--timeout", "120")
    assert code == 0, err
    assert "A" in out and json.loads(out)
    assert warnings_about(err, "caching is off") == 1


def test_batch_writes_its_answers_outside_the_home(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("What is a triad?\n")
    out_file = tmp_path / "answers.jsonl"
    code, _, err = run(
        capsys, "batch", str(prompts), "-o", str(out_file), "--max-tokens", "8", "--quiet"
    )
    assert code == 0, err
    assert out_file.read_text().strip()


@pytest.mark.parametrize(
    "args",
    [["telemetry", "on"], ["telemetry", "off"], ["models", "use", "gemma3-270m"]],
    ids=lambda a: " ".join(a),
)
def test_writing_commands_are_storage_unavailable(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run(capsys, *args)
    assert code == STORAGE, err
    assert "error [STORAGE_UNAVAILABLE]" in err and "read-only" in err
    assert (home / "config" / "config.toml").read_text() == CONFIG
