"""A model imported from an Ollama store answers, loaded from where Ollama keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from music_reasoning.cli.main import main
from tests.support.ollama_store import ollama_store


def test_an_imported_ollama_model_answers(
    model_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "ollama"
    monkeypatch.setenv("OLLAMA_MODELS", str(root))
    blob = ollama_store(root, model_path, name="gemma3", tag="270m")  # a hard link
    assert main(["models", "import", "ollama", "gemma3:270m", "--json", "--quiet"]) == 0
    imported = json.loads(capsys.readouterr().out)["imported"][0]
    assert imported["model"] == "ollama/gemma3:270m:Q4_K_M" and imported["path"] == str(blob)
    question = "What is a chord?"
    assert main(["ask", "--model", "ollama/gemma3:270m", question, "--max-tokens", "4"]) == 0
    assert capsys.readouterr().out.strip()  # the model's words
    assert main(["models", "verify", "ollama/gemma3:270m", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["ok"] is True
