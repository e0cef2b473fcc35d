"""Shared fixtures: every test gets its own MUSIC_REASONING_HOME (state, config, cache)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("MUSIC_REASONING_HOME", str(home))
    for var in ("MODEL_PATH", "N_CTX", "N_PARALLEL", "TIMEOUT", "MAX_PROMPT_CHARS"):
        monkeypatch.delenv(f"MUSIC_REASONING_{var}", raising=False)
    yield home
