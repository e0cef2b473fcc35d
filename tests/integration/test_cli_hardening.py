"""The CLI under bad input and bad output, as a user runs it: real processes, real model.

Each case must end with a coded error (``error [CODE]`` and a suggestion on stderr, the
code's exit status) and never a traceback; nothing the user asked may go unanswered
without saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_examples_and_cli import ROOT, cli, run


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Path:
    """A home whose cache already holds the assembled, verified embedded model."""
    home = tmp_path_factory.mktemp("cli-hardening-home")
    models = home / "cache" / "models"
    models.mkdir(parents=True)
    for f in model_path.parent.iterdir():
        if f.name.endswith((".gguf", ".sha256")):
            os.link(f, models / f.name)
    return home


def chat(home: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MUSIC_REASONING_HOME": str(home), "MUSIC_REASONING_TIMEOUT": "120"}
    return subprocess.run(
        cli("chat", *args),
        input=text,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=ROOT,
    )


def assert_clean(out: subprocess.CompletedProcess[str], code: str, exit_code: int) -> None:
    assert out.returncode == exit_code, out.stderr
    assert f"error [{code}]" in out.stderr and "suggestion:" in out.stderr
    assert "Traceback" not in out.stderr


def test_chat_reports_a_timeout_and_asks_the_next_question(home: Path) -> None:
    out = chat(home, "What is a triad?\nWhat is a seventh chord?\n/exit\n", "--timeout", "0.001")
    assert_clean(out, "TIMEOUT", 6)
    assert out.stderr.count("error [TIMEOUT]") == 2  # the second question was asked too
    assert "(2 of 2 questions got no answer)" in out.stderr


def test_chat_reports_an_invalid_question_and_answers_the_next(home: Path) -> None:
    too_long = "Why? " * 250
    out = chat(home, f"{too_long}\nWhat is a triad?\n/exit\n", "--max-tokens", "16")
    assert_clean(out, "INVALID_INPUT", 2)
    assert out.stdout.strip()  # the second question got an answer
    assert "(1 of 2 questions got no answer)" in out.stderr


def test_grounded_chat_answers_named_subjects_from_the_facts(home: Path) -> None:
    out = chat(
        home,
        "What is a plagal cadence in E flat?\nWhat notes are in D dorian?\n/exit\n",
        "--grounded",
        "--level",
        "beginner",
    )
    assert out.returncode == 0, out.stderr
    assert "IV - I: Ab - Eb" in out.stdout  # the concept, realized in E flat
    assert "D, E, F, G, A, B and C" in out.stdout  # the scale itself, not the Dorian concept
    assert out.stderr.count("verified: True") == 2


def test_grounded_chat_answers_follow_ups_about_the_last_subject(home: Path) -> None:
    out = chat(
        home,
        "What is G7?\nWhere does it resolve?\nSay that more simply\n"
        "Why do musicians like it?\n/exit\n",
        "--grounded",
        "--max-tokens",
        "40",
    )
    assert out.returncode == 0, out.stderr
    # the follow-up is answered from G7's lesson: its resolution to C, checked
    assert "Where it goes\nAs a dominant chord it resolves to" in out.stdout
    assert "B moves up a half step to C" in out.stdout
    assert out.stderr.count("source: deterministic, verified: True") >= 2
    # the level moved: the beginner lesson's shorter "Where it goes"
    assert "It pulls toward C: its B rises a half step to C." in out.stdout
    # the last line is the model's, with G7's facts in context: shown only when checked
    checked = "source: local, checked against the facts about G7" in out.stderr
    replaced = "the model's answer contradicted the facts about G7" in out.stderr
    assert checked != replaced
    assert "unverified" not in out.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", b"What is \xff a chord?"],
        ["explain", b"tritone \xff"],  # answered "Tritone": the byte was dropped
    ],
    ids=lambda a: a[0],
)
def test_free_text_commands_refuse_bytes_that_are_not_utf8(argv: list[str | bytes]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "music_reasoning.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert_clean(out, "INVALID_INPUT", 2)
    assert "byte 0xFF is not UTF-8" in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["scale", "C", "major", "--json"],
        ["models", "list", "--available"],
        ["explain", "tritone"],
        ["--help"],
    ],
    ids=" ".join,
)
def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly(
    tmp_path: Path, args: list[str]
) -> None:
    # `... | head -1` exited 1 with nothing on stderr (click's BrokenPipeError handling)
    reader, writer = os.pipe()
    os.close(reader)  # gone before the command writes: its first write meets EPIPE
    try:
        out = subprocess.run(
            cli(*args),
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            env={**os.environ, "MUSIC_REASONING_HOME": str(tmp_path)},
            cwd=ROOT,
        )
    finally:
        os.close(writer)
    assert out.returncode in (0, 141), out.stderr  # 141: 128 + SIGPIPE, as git and ls
    assert out.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"


@pytest.mark.parametrize("question", ["", "\x01\x02", "   "])
def test_ask_checks_the_question_before_looking_for_the_model(home: Path, question: str) -> None:
    out = run(cli("ask", question, "--model", "/nonexistent/model.gguf"), home)
    assert_clean(out, "INVALID_INPUT", 2)  # not MODEL_UNAVAILABLE: the input came first
    assert "Prompt is empty" in out.stderr


@pytest.mark.parametrize(
    ("content", "output", "code", "exit_code", "says"),
    [
        (
            b'{"id": "2", "prompt": "What is a tritone?"}\nWhat is a cadence?\n',
            None,
            "INVALID_INPUT",
            2,
            "like line 1",
        ),
        (b'{"prompt": null}\n', None, "INVALID_INPUT", 2, "'prompt' must be text"),
        (b"What is a chord?\n\x89PNG\r\n\x1a\n\x00", None, "INVALID_INPUT", 2, "not UTF-8 text"),
        (b"What is a chord?\n", "DIR", "STORAGE_UNAVAILABLE", 12, "folder"),
        (b"What is a chord?\n", "/proc/version", "STORAGE_UNAVAILABLE", 12, "/proc/version"),
    ],
)
def test_batch_refuses_bad_input_and_output_before_loading(
    home: Path,
    tmp_path: Path,
    content: bytes,
    output: str | None,
    code: str,
    exit_code: int,
    says: str,
) -> None:
    source = tmp_path / "q.jsonl"
    source.write_bytes(content)
    args = ["-v", "batch", str(source)]
    if output == "DIR":
        (tmp_path / "out").mkdir()
        args += ["-o", str(tmp_path / "out")]
    elif output:
        args += ["-o", output]
    out = run(cli(*args), home)
    assert_clean(out, code, exit_code)
    assert says in out.stderr
    assert "loaded" not in out.stderr  # refused before the model was loaded
    assert not (tmp_path / "q.answers.jsonl").exists()


def test_batch_on_a_full_disk_is_insufficient_disk(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "q.txt"
    source.write_text("What is a chord?\n")
    out = run(cli("batch", str(source), "-o", "/dev/full", "--max-tokens", "4"), home)
    assert_clean(out, "INSUFFICIENT_DISK", 9)


def test_batch_answers_every_unique_prompt_reports_progress_and_fails_loudly(
    home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "q.jsonl"
    source.write_text(
        '{"id": "tritone", "prompt": "What is a tritone?"}\nWhat is a cadence?\n\x01\x02\n'
    )
    output = tmp_path / "answers.jsonl"
    out = run(cli("batch", str(source), "-o", str(output), "--max-tokens", "8"), home)
    assert out.returncode == 2 and "Traceback" not in out.stderr  # one prompt was refused
    summary = json.loads(out.stdout)
    assert (summary["total"], summary["answered"], summary["failed"]) == (3, 2, 1)
    assert summary["failed_ids"] == ["3"] and summary["errors"] == {"INVALID_INPUT": 1}
    assert "batch: 0/3 prompts" in out.stderr and "batch: 3/3 prompts, 1 failed" in out.stderr
    assert "1 of 3 prompts failed (INVALID_INPUT 1)" in out.stderr
    answers = {r["id"]: r for r in map(json.loads, output.read_text().splitlines())}
    assert answers["tritone"]["text"] and answers["2"]["text"]  # the cadence is answered
    quiet = run(cli("batch", str(source), "-o", str(output), "--quiet"), home)
    assert quiet.returncode == 2 and "batch:" not in quiet.stderr.replace("batch: 1 of", "")
    assert json.loads(quiet.stdout)["skipped"] == 2
