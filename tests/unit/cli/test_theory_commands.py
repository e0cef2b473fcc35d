"""The deterministic theory commands: no model is loaded for them."""

from __future__ import annotations

import json

import pytest

from music_reasoning.cli.main import main


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_chord_from_notes_and_symbol(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "chord", "E", "G", "C")["symbol"] == "C/E"
    data = run_json(capsys, "chord", "Bb7")
    assert data["notes"] == ["Bb", "D", "F", "Ab"]
    assert data["quality"] == "dominant seventh"


def test_scale_and_progression(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "scale", "A", "harmonic", "minor")["notes"] == [
        "A", "B", "C", "D", "E", "F", "G#",
    ]  # fmt: skip
    data = run_json(capsys, "progression", "Dm7", "G7", "Cmaj7")
    assert data["key"] == "C major"
    assert [a["roman"] for a in data["analysis"]] == ["ii7", "V7", "Imaj7"]  # type: ignore[index, union-attr]


def test_human_output_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scale", "D", "dorian"]) == 0
    assert "W-H-W-W-W-H-W" in capsys.readouterr().out
    assert main(["chord", "Xmaj7"]) == 2
    err = capsys.readouterr().err
    assert "error [INVALID_INPUT]" in err and "Xmaj7" in err and "suggestion:" in err
