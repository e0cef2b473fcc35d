"""The answer cache and telemetry on storage that refuses writes, and the cache's
``.corrupt-*`` copies (real files, a real read-only bind mount)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from music_reasoning.config import load_settings
from music_reasoning.sdk import telemetry as telemetry_module
from music_reasoning.sdk.cache import ExplanationCache
from music_reasoning.sdk.telemetry import Telemetry, read_events
from tests.support.mounts import read_only


def key(i: int) -> str:
    return ExplanationCache.make_key(model="m", kind="chord", data={"i": i}, params={})


def test_a_rebuild_keeps_only_the_newest_corrupt_copy(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    older = [
        tmp_path / "c.sqlite3.corrupt-20240101T000000-11",
        tmp_path / "c.sqlite3.corrupt-20240101T000000-11-wal",
        tmp_path / "c.sqlite3.corrupt-20240202T000000-22",
    ]
    for old in older:
        old.write_bytes(b"old damaged copy")
    unrelated = tmp_path / "c.sqlite3.backup"
    unrelated.write_bytes(b"mine")
    path.write_bytes(b"this is not a database" * 100)
    with ExplanationCache(path) as cache:
        cache.put(key(1), {"explanation": "x"})
        assert cache.get(key(1)) == {"explanation": "x"}
    copies = sorted(p.name for p in tmp_path.glob("c.sqlite3.corrupt-*"))
    assert len(copies) == 1 and copies[0] not in {p.name for p in older}
    assert (tmp_path / copies[0]).read_bytes().startswith(b"this is not a database")
    assert unrelated.read_bytes() == b"mine"


def test_a_read_only_cache_folder_is_off_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "cache"
    path = folder / "c.sqlite3"
    with ExplanationCache(path) as cache:  # written before, like a real home
        cache.put(key(1), {"explanation": "x"})
    before = sorted(p.name for p in folder.iterdir())
    with read_only(folder), caplog.at_level(logging.DEBUG, logger="music_reasoning.sdk.cache"):
        for _ in range(2):  # two instances in one process: one warning each at most
            with ExplanationCache(path) as cache:
                for i in range(5):
                    cache.put(key(i), {"explanation": "y"})
                    assert cache.get(key(i)) is None  # off: even the stored entry misses
                assert cache.stats()["max_entries"] > 0
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "caching is off" in warnings[0].getMessage()
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_read_only_telemetry_folder_is_off_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telemetry_module, "_unwritable", set())
    folder = tmp_path / "cache"
    path = folder / "telemetry.jsonl"
    settings = load_settings(telemetry=True)
    Telemetry(settings, path=path).record("before")
    with read_only(folder), caplog.at_level(logging.DEBUG, logger="music_reasoning"):
        for _ in range(2):
            tele = Telemetry(settings, path=path)
            for _ in range(3):
                tele.record("during")  # never raises
        assert [e["event"] for e in read_events(path=path)] == ["before"]  # reading works
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "telemetry is off" in warnings[0].getMessage()
    assert str(path) in warnings[0].getMessage()


def test_a_damaged_read_only_cache_is_off_not_moved(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    path = folder / "c.sqlite3"
    path.write_bytes(b"garbage" * 200)
    with read_only(folder), ExplanationCache(path) as cache:
        cache.put(key(1), {"explanation": "x"})
        assert cache.get(key(1)) is None
    assert [p.name for p in folder.iterdir()] == ["c.sqlite3"]
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT 1 FROM entries")
