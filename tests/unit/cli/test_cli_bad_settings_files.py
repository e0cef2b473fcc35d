"""A binary config.toml or models.toml is a coded INVALID_INPUT line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from music_reasoning.cli.main import main
from music_reasoning.config import config_file
from music_reasoning.models.registry import user_registry_path

BINARY = b"\x7fELF\x02\x01\x01\x00\xff\xfe\x80\x81 not text"


@pytest.mark.parametrize(
    ("where", "args"),
    [
        (config_file, ["config", "show"]),
        (config_file, ["models", "list"]),
        (user_registry_path, ["models", "list"]),
        (user_registry_path, ["models", "info", "gemma3-270m"]),
    ],
)
def test_binary_settings_file_is_invalid_input_naming_it(
    capsys: pytest.CaptureFixture[str], where: object, args: list[str]
) -> None:
    path: Path = where()  # type: ignore[operator]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(BINARY)
    assert main(args) == 2  # INVALID_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err and "UnicodeDecodeError" not in err
    assert "error [INVALID_INPUT]" in err and str(path) in err
    assert "suggestion:" in err and "delete" in err
