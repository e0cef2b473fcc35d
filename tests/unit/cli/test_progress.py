"""Progress on stderr when it is not a terminal: plain lines a script or CI log can read;
the JSONL writer's errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from music_reasoning.cli._output import Progress, jsonl_writer
from music_reasoning.errors import StorageError
from tests.support.mounts import read_only


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_at_the_start_every_tenth_and_at_the_end() -> None:
    out = io.StringIO()
    with Progress("batch", unit="prompt", total=40, stream=out, clock=Clock()) as progress:
        for n in range(40):
            progress.update(1, failed=1 if n % 10 == 0 else 0)
    lines = out.getvalue().splitlines()
    assert lines[0] == "batch: 0/40 prompts"
    assert "batch: 12/40 prompts, 2 failed" in lines
    assert lines[-1] == "batch: 40/40 prompts, 4 failed"
    assert len(lines) == 11  # the start and one line per tenth, the last one not repeated


def test_a_slow_run_gets_a_line_every_interval() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("batch", unit="prompt", total=1000, stream=out, clock=clock, interval=5)
    progress.update(1)
    assert out.getvalue().splitlines() == ["batch: 0/1000 prompts"]
    clock.now = 5.0
    progress.update(1)
    assert out.getvalue().splitlines()[-1] == "batch: 2/1000 prompts"
    progress.close()
    assert out.getvalue().splitlines()[-1] == "batch: 2/1000 prompts"  # not repeated


def test_a_total_told_later_and_quiet() -> None:
    out = io.StringIO()
    with Progress("eval", unit="question", stream=out, clock=Clock()) as progress:
        assert out.getvalue() == ""
        progress.set_total(16)
        progress.update(8)
        progress.update(8)
    assert out.getvalue().splitlines() == [
        "eval: 0/16 questions",
        "eval: 8/16 questions",
        "eval: 16/16 questions",
    ]
    quiet = io.StringIO()
    with Progress("batch", unit="prompt", total=3, quiet=True, stream=quiet) as progress:
        progress.update(3, failed=1)
    assert quiet.getvalue() == "" and (progress.done, progress.failed) == (3, 1)


def test_a_run_with_nothing_to_do_still_says_so() -> None:
    out = io.StringIO()
    with Progress("batch", unit="prompt", total=0, stream=out, clock=Clock()):
        pass
    assert out.getvalue().splitlines() == ["batch: 0/0 prompts"]


def test_a_jsonl_file_in_a_read_only_folder_suggests_another_path(tmp_path: Path) -> None:
    # `eval --answers /ro/x.jsonl` suggested moving MUSIC_REASONING_HOME, which does not
    # move a file the user named
    with read_only(tmp_path / "ro") as folder:
        writer = jsonl_writer(folder / "answers.jsonl", option="--answers")
        with pytest.raises(StorageError) as info:
            writer.__enter__()  # the file is opened on entering
    assert info.value.details["errno"] == "EROFS"
    assert "give --answers a path in a writable folder" in info.value.suggestion
    assert "MUSIC_REASONING_HOME" not in info.value.suggestion
