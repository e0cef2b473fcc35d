"""`explain CONCEPT`, concept questions in `ask --grounded`, and the plain `ask` label."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from music_reasoning.cli import main as cli_main
from music_reasoning.cli.main import main


def test_explain_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "plagal cadence", "--key", "Eb"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Plagal cadence:")
    assert "Examples in Eb major:" in out and "IV - I: Ab - Eb" in out


def test_explain_json_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "tritone sub", "--level", "beginner", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["source"], doc["verified"]) == ("deterministic", True)
    assert doc["data"]["id"] == "tritone-substitution" and doc["data"]["level"] == "beginner"
    assert doc["data"]["examples"][0]["chords"][0]["symbol"] == "Db7"


def test_explain_unknown_concept_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "plagl cadense"]) == 2
    err = capsys.readouterr().err
    assert "error [INVALID_INPUT]" in err and "plagal cadence" in err
    assert main(["explain", "plagal cadence", "--key", "H", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize("concept", ["tritone \udcff", "\udcfftritone", "tritone\ud800"])
def test_explain_refuses_text_that_is_not_utf8(
    capsys: pytest.CaptureFixture[str], concept: str
) -> None:
    # `explain $'tritone \xff'` answered "Tritone": the byte was dropped with the punctuation
    assert main(["explain", concept]) == 2
    err = capsys.readouterr().err
    assert "error [INVALID_INPUT]: Concept is not valid text" in err and "suggestion:" in err
    assert main(["explain", concept, "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "INVALID_INPUT"


class _Metrics:
    def to_dict(self) -> dict[str, Any]:
        return {"model": "fake", "completion_tokens": 3}


class _Completion:
    text = "A tritone sub is a chord."
    metrics = _Metrics()


class _FakeEngine:
    def load(self) -> None:
        pass

    def complete(self, prompt: str, params: Any) -> _Completion:
        return _Completion()

    def stream(self, prompt: str, params: Any) -> Iterator[str]:
        yield "A tritone "
        yield "sub."


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "get_engine", lambda model=None: _FakeEngine())
    monkeypatch.setattr(cli_main, "_params", lambda *args: None)


def test_ask_grounded_answers_a_concept_from_the_knowledge_base(
    capsys: pytest.CaptureFixture[str], fake_engine: None
) -> None:
    assert main(["ask", "--grounded", "What is a tritone substitution?", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["data"]["id"] == "tritone-substitution"
    assert (doc["source"], doc["verified"]) == ("deterministic", True)
    assert main(["ask", "--grounded", "explain the plagal cadence in E flat"]) == 0
    captured = capsys.readouterr()
    assert "IV - I: Ab - Eb" in captured.out
    assert "source: deterministic, verified: True" in captured.err


def test_plain_ask_says_it_is_unverified(
    capsys: pytest.CaptureFixture[str], fake_engine: None
) -> None:
    assert main(["ask", "What is a tritone substitution?", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert (doc["source"], doc["verified"]) == ("local", False)
    assert "(the model alone: unverified)" in captured.err
    assert main(["ask", "What is a tritone substitution?"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "A tritone sub is a chord."
    assert "(the model alone: unverified)" in captured.err
    assert main(["ask", "--stream", "Why?"]) == 0
    assert "(the model alone: unverified)" in capsys.readouterr().err


def test_a_grounded_fallback_is_labelled_too(
    capsys: pytest.CaptureFixture[str], fake_engine: None
) -> None:
    assert main(["ask", "--grounded", "Why does music move us?", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verified"] is False
    assert "the model answers alone" in captured.err
    assert "(the model alone: unverified)" in captured.err


@pytest.mark.parametrize("stream", [[], ["--stream"], ["--json"]])
def test_ask_with_a_model_that_does_not_load_prints_no_answer_label(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stream: list[str]
) -> None:
    # the label came first, as if an answer were coming, then CORRUPTED_MODEL
    fake = tmp_path / "notgguf.gguf"
    fake.write_text("not a model\n")
    assert main(["ask", "--model", str(fake), *stream, "What is a chord?"]) == 4
    captured = capsys.readouterr()
    assert "error [CORRUPTED_MODEL]" in captured.err
    assert "unverified" not in captured.err
