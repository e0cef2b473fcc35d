"""Integration fixtures: the real embedded model through the real llama.cpp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from music_reasoning.config import load_settings
from music_reasoning.engine.local import LocalEngine
from music_reasoning.models.files import embedded_model_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded model, assembled from its packages into a session cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MUSIC_REASONING_HOME", str(tmp_path_factory.mktemp("session-home")))
    try:
        return embedded_model_path()
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def engine(model_path: Path) -> Iterator[LocalEngine]:
    """One loaded engine shared by the read-only tests."""
    eng = LocalEngine(model_path, settings=load_settings(n_ctx=1024, n_parallel=8))
    eng.load()
    yield eng
    eng.unload()
