"""The examples and the CLI, run as a user would: real processes, the real embedded model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env_home: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MUSIC_REASONING_HOME": str(env_home), "MUSIC_REASONING_TIMEOUT": "120"}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Path:
    """A home whose cache already holds the assembled, verified embedded model."""
    home = tmp_path_factory.mktemp("cli-home")
    models = home / "cache" / "models"
    models.mkdir(parents=True)
    for f in model_path.parent.iterdir():
        if f.name.endswith((".gguf", ".sha256")):
            os.link(f, models / f.name)
    return home


@pytest.mark.parametrize(
    "example", ["basic_usage.py", "advanced_usage.py", "batch_processing.py", "many_callers.py"]
)
def test_examples_run(example: str, home: Path) -> None:
    out = run([sys.executable, str(ROOT / "examples" / example)], home)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    if example == "basic_usage.py":
        assert "INVALID_INPUT" in out.stdout
    if example == "advanced_usage.py":
        assert "[metrics] prompt=" in out.stdout
    if example == "many_callers.py":
        assert "8 answers" in out.stdout and "eight threads at once" in out.stdout
    if example == "batch_processing.py":
        assert "2: error INVALID_INPUT" in out.stdout
        assert "8 items" in out.stdout


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "music_reasoning.cli.main", *args]


def test_cli_ask_grounded_answers_from_the_facts(home: Path) -> None:
    out = run(cli("ask", "--grounded", "What notes are in a G7 chord?", "--json"), home)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["data"]["notes"] == ["G", "B", "D", "F"] and data["verified"] is True
    assert data["explanation"] and data["source"] in ("local", "deterministic", "cache")
    out = run(cli("ask", "--grounded", "Say hello.", "--max-tokens", "8"), home)
    assert out.returncode == 0 and "the model answers alone" in out.stderr and out.stdout.strip()


def test_cli_ask_json_and_stream(home: Path) -> None:
    out = run(cli("ask", "What notes are in a G7 chord?", "--json", "--temperature", "0"), home)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answer"] and data["prompt_tokens"] > 0 and data["completion_tokens"] > 0
    out = run(cli("ask", "What is a cadence?", "--stream", "--max-tokens", "20"), home)
    assert out.returncode == 0 and out.stdout.strip()


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (["ask", ""], "INVALID_INPUT", 2),
        (["ask", "hi", "--temperature", "1.5"], "INVALID_INPUT", 2),
        (["ask", "hi", "--max-tokens", "0"], "INVALID_INPUT", 2),
        (["ask", "hi", "--model", "/nonexistent/model.gguf"], "MODEL_UNAVAILABLE", 3),
    ],
)
def test_cli_errors_are_one_clear_line(
    home: Path, args: list[str], code: str, exit_code: int
) -> None:
    out = run(cli(*args), home)
    assert out.returncode == exit_code
    assert f"error [{code}]" in out.stderr
    assert "suggestion:" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_status_and_warmup(home: Path) -> None:
    out = run(cli("status", "--json"), home)
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["loaded"] and status["backend"] and status["load_count"] == 1
    out = run(cli("warmup", "--json"), home)
    assert out.returncode == 0 and json.loads(out.stdout)["model_load_ms"] > 0


def test_cli_batch_is_resumable(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "questions.txt"
    too_long = "Why? " * 300  # over the 1000-character limit: refused (again on a rerun)
    source.write_text(f"What is a triad?\n\nWhat is an octave?\n{too_long}\nWhat is a scale?\n")
    output = tmp_path / "answers.jsonl"
    out = run(cli("batch", str(source), "-o", str(output), "--quiet", "--max-tokens", "16"), home)
    assert out.returncode == 2, out.stderr  # a prompt went unanswered: not a success
    summary = json.loads(out.stdout)
    assert (summary["total"], summary["answered"], summary["skipped"]) == (4, 3, 0)
    assert summary["failed"] == 1 and summary["failed_ids"] == ["4"]
    records = {r["id"]: r for r in map(json.loads, output.read_text().splitlines())}
    assert {i: (r["index"], r["prompt"][:9]) for i, r in records.items()} == {
        "1": (0, "What is a"),
        "3": (1, "What is a"),
        "4": (2, "Why? Why?"),
        "5": (3, "What is a"),
    }
    assert records["4"]["error"]["code"] == "INVALID_INPUT" and records["5"]["text"]
    # Simulate an interruption: the last answer was never written (a torn line remains).
    kept = [line for line in output.read_text().splitlines() if '"id": "5"' not in line]
    output.write_text("\n".join(kept) + '\n{"id": "5", "pro')
    out = run(cli("batch", str(source), "-o", str(output), "--quiet", "--max-tokens", "16"), home)
    summary = json.loads(out.stdout)
    assert (summary["skipped"], summary["answered"], summary["failed"]) == (2, 1, 1)
    answered = [
        json.loads(x)
        for x in output.read_text().splitlines()
        if x.startswith('{"id": "5", "index"')
    ]
    assert len(answered) == 1 and answered[0]["text"] and answered[0]["index"] == 3


def test_cli_eval_models_writes_the_comparison_report(home: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    args = ["eval", "--models", "gemma3-270m", "--set", "diagnostic", "--limit", "2"]
    out = run(cli(*args, "--report", str(report), "--json"), home)
    assert out.returncode == 0, out.stderr
    assert "eval: model 1/1: gemma3-270m (Q4_K_M" in out.stderr
    printed = json.loads(out.stdout)
    stored = json.loads((report / "report.json").read_text())
    assert printed["models"] == stored["models"] and len(stored["models"]) == 1
    entry = stored["models"][0]
    assert entry["model"] == "gemma3-270m" and entry["quantization"] == "Q4_K_M"
    assert entry["eval"]["raw"]["questions"] == entry["eval"]["hybrid"]["questions"] == 2
    assert entry["eval"]["hybrid"]["accuracy"] == 1.0  # the grounded data answers both
    assert 0.0 <= entry["eval"]["hybrid"]["own_words"] <= 1.0
    table = [ln for ln in (report / "report.md").read_text().splitlines() if ln.startswith("| `")]
    assert len(table) == 1 and table[0].startswith("| `gemma3-270m` | Q4_K_M |")
    charts = sorted(p.name for p in report.glob("*.png"))
    assert charts == [
        "accuracy.png",
        "contradicted.png",
        "coverage.png",
        "own_words.png",
        "size_mib.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in report.glob("*.png"))
    assert sorted(printed["files"]) == sorted(str(p) for p in report.iterdir())
    # an unknown model is refused before anything runs, with the registry's error
    out = run(cli("eval", "--models", "gemma3-270m,nosuch-model", "--report", str(report)), home)
    assert out.returncode == 3 and "error [MODEL_UNAVAILABLE]" in out.stderr
    assert "model 1/" not in out.stderr
