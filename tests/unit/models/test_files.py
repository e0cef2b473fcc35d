"""Model files: what a path that holds no model file is called in the error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from music_reasoning.cli.main import main
from music_reasoning.errors import ModelUnavailableError
from music_reasoning.models.files import check_gguf_header, resolve_model_path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    os.mkfifo(path)
    return path


def test_a_device_or_a_pipe_is_not_a_regular_file(fifo: Path) -> None:
    # `models add x --path /dev/zero` said "No model file ... reinstall the package"
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(ModelUnavailableError, match="it is not a regular file") as info:
            check_gguf_header(path)
        assert "reinstall" not in info.value.suggestion
        with pytest.raises(ModelUnavailableError, match="it is not a regular file"):
            resolve_model_path(str(path), configured=None, default=None)


def test_a_missing_file_keeps_its_message(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        check_gguf_header(tmp_path / "nope.gguf")
    assert info.value.message == f"No model file at {tmp_path / 'nope.gguf'}."


@pytest.mark.parametrize("command", [["models", "add", "x", "--path"], ["ask", "hi", "--model"]])
def test_the_cli_names_a_device_as_not_a_regular_file(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main([*command, "/dev/zero"]) == 3  # MODEL_UNAVAILABLE, as before
    err = capsys.readouterr().err
    assert "error [MODEL_UNAVAILABLE]" in err and "not a regular file" in err
    assert "reinstall" not in err


@pytest.mark.parametrize("name", ["ab ü" * 500, "a/" + "x" * 5000 + ".gguf", "ab\x00c"])
def test_a_name_no_file_system_can_hold_is_no_model(name: str) -> None:
    """Too long for a file name, or with a NUL: MODEL_UNAVAILABLE, not an OSError."""
    with pytest.raises(ModelUnavailableError):
        resolve_model_path(name, configured=None, default=None)
