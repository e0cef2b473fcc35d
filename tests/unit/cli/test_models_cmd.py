from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from music_reasoning.cli.main import cli, main

DATA = b"GGUF" + os.urandom(4096)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_add_list_info_use_verify_rm(tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(DATA)
    code, out = run("models", "add", "mine", "--path", str(gguf), "--format", "base")
    assert code == 0 and "added mine" in out
    code, out = run("models", "list", "--json")
    rows = {(r["name"], r["variant"]): r for r in json.loads(out)}
    assert rows[("mine", "Q4_K_M")]["installed"] and rows[("gemma3-270m", "Q4_K_M")]["default"]
    assert not rows[("core3b:v4.8", "Q8_0")]["installed"]
    assert not rows[("core3b:v4.8", "Q8_0")]["downloadable"]  # no URL configured here
    code, out = run("models", "use", "mine")
    assert code == 0 and "default model: mine" in out
    code, out = run("models", "verify", "mine", "--json")
    assert json.loads(out)[0]["sha256"] == hashlib.sha256(DATA).hexdigest()
    code, out = run("models", "rm", "mine")
    assert "forgot mine" in out and gguf.exists()


def test_info_shows_known_weaknesses() -> None:
    code, out = run("models", "info", "core3b:v4.5")
    assert code == 0
    assert "backdoor_progression" in out and "fixed in core3b:v4.8" in out


def test_errors_are_one_line_with_a_code(capsys: object) -> None:
    assert main(["models", "pull", "core3b:v4.8"]) == 3  # MODEL_UNAVAILABLE
    assert main(["models", "info", "no-such-model"]) == 3
    assert main(["models", "add", "x", "--url", "http://127.0.0.1:1/x"]) == 2  # no sha256


def test_add_checks_the_file_and_url_at_once(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a model " * 200)
    assert main(["models", "add", "x", "--path", str(text)]) == 4  # CORRUPTED_MODEL
    sha = "ab" * 32
    assert main(["models", "add", "x", "--url", "ftp://127.0.0.1/x", "--sha256", sha]) == 2
    assert run("models", "list", "--json")[1].count('"x"') == 0


def test_forgetting_the_default_model_resets_the_default(tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(DATA)
    run("models", "add", "mine", "--path", str(gguf))
    run("models", "use", "mine")
    code, out = run("models", "rm", "mine", "--forget")
    assert code == 0 and "default model is gemma3-270m again" in out
    rows = json.loads(run("models", "list", "--json")[1])
    assert [(r["name"], r["variant"]) for r in rows if r["default"]] == [("gemma3-270m", "Q4_K_M")]
    assert all(r["name"] != "mine" for r in rows)


def test_verify_all_reports_every_file_then_fails(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.gguf", tmp_path / "bad.gguf"
    good.write_bytes(DATA)
    bad.write_bytes(DATA)
    run("models", "add", "good", "--path", str(good))
    run("models", "add", "bad", "--path", str(bad), "--quantization", "Q8_0")
    run("models", "add", "bad:Q8_0", "--path", str(bad), "--sha256", "cd" * 32)
    result = CliRunner().invoke(cli, ["models", "verify"])
    assert result.exit_code != 0
    assert "good:Q4_K_M: ok" in result.output and "bad:Q8_0: [CORRUPTED_MODEL]" in result.output


def test_json_errors_are_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "info", "no-such-model", "--json"]) == 3
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error["code"] == "MODEL_UNAVAILABLE" and error["suggestion"]
    assert captured.err.startswith("error [MODEL_UNAVAILABLE]")


def test_a_file_that_is_not_gguf_is_described_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" * 40)
    assert main(["models", "add", "x", "--path", str(secret)]) == 4  # CORRUPTED_MODEL
    err = capsys.readouterr().err
    assert "root" not in err.replace(str(secret), "") and "1,280 bytes" in err
    assert "not a GGUF file" in err and "suggestion: Point at a .gguf model file" in err


def test_redefining_the_embedded_model_is_invalid_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["models", "add", "gemma3-270m", "--url", "http://127.0.0.1:1/x", "--sha256", "0" * 64]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error [INVALID_INPUT]") and "another name" in err


def test_info_tells_the_trained_context_from_the_configured_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MUSIC_REASONING_N_CTX", "1024")
    code, out = run("models", "info", "core3b:v4.5")  # not installed: the registry's figure
    assert code == 0
    assert re.search(r"^context \(trained\) +4096 tokens \(from the registry\)$", out, re.M)
    assert re.search(r"^context \(configured\) +1024 tokens \(n_ctx, env; ", out, re.M)
    data = json.loads(run("models", "info", "core3b:v4.5", "--json")[1])
    assert data["context"] == {
        "trained": 4096,
        "trained_from": "registry",
        "configured": 1024,
        "configured_from": "env",
    }


def test_list_keeps_its_columns_for_long_names(tmp_path: Path) -> None:
    gguf = tmp_path / "long.gguf"
    gguf.write_bytes(DATA)
    name = "hf.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF"  # as `models pull hf.co/...` names it
    assert run("models", "add", name, "--path", str(gguf), "--format", "base")[0] == 0
    code, out = run("models", "list")
    lines = out.splitlines()
    header, row = lines[0], next(line for line in lines if line.startswith(name))
    assert code == 0
    # the variant, size and state columns start where the header says, after the full name
    assert row.index("Q4_K_M") == header.index("variant") > len(name)
    assert row.index("installed") == header.index("state")
