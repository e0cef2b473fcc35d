"""The explanation cache on real SQLite files, real threads and real processes."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from music_reasoning.config import cache_dir
from music_reasoning.errors import InvalidInputError
from music_reasoning.sdk.cache import CACHE_FILENAME, ExplanationCache, measure_hit_latency


def key(i: int) -> str:
    return ExplanationCache.make_key(model="m", kind="chord", data={"i": i}, params={})


def value(i: int) -> dict[str, object]:
    return {"explanation": f"answer {i}", "verified": True, "metrics": {"n": i}}


def test_round_trip_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with ExplanationCache(path) as cache:
        assert cache.get(key(1)) is None
        cache.put(key(1), value(1))
        assert cache.get(key(1)) == value(1)
    with ExplanationCache(path) as again:
        assert again.get(key(1)) == value(1)
        assert again.get(key(2)) is None


def test_default_path_is_under_the_cache_dir(isolated_home: Path) -> None:
    with ExplanationCache() as cache:
        cache.put(key(1), value(1))
        assert cache.path == cache_dir() / CACHE_FILENAME
        assert cache.path.is_relative_to(isolated_home)
        assert cache.path.is_file()


def test_put_replaces_an_existing_value(tmp_path: Path) -> None:
    with ExplanationCache(tmp_path / "c.sqlite3") as cache:
        cache.put(key(1), value(1))
        cache.put(key(1), value(2))
        assert cache.get(key(1)) == value(2)
        assert cache.stats()["entries"] == 1


def test_make_key_is_canonical() -> None:
    a = ExplanationCache.make_key(
        model="m", kind="chord", data={"notes": ("C", "E"), "b": 1}, params={"t": 1.0, "s": {2, 1}}
    )
    b = ExplanationCache.make_key(
        model="m", kind="chord", data={"b": 1, "notes": ["C", "E"]}, params={"s": {1, 2}, "t": 1}
    )
    assert a == b
    assert len(a) == 64 and int(a, 16) >= 0
    # NFC and NFD spellings of the same text are the same key
    nfc = ExplanationCache.make_key(model="m", kind="k", data={"x": "\u00e9"}, params={})
    nfd = ExplanationCache.make_key(model="m", kind="k", data={"x": "e\u0301"}, params={})
    assert nfc == nfd
    for changed in (
        {"model": "other", "kind": "chord", "data": {"b": 1}, "params": {}},
        {"model": "m", "kind": "scale", "data": {"b": 1}, "params": {}},
        {"model": "m", "kind": "chord", "data": {"b": 2}, "params": {}},
        {"model": "m", "kind": "chord", "data": {"b": 1}, "params": {"t": 0.3}},
    ):
        assert ExplanationCache.make_key(**changed) != ExplanationCache.make_key(  # type: ignore[arg-type]
            model="m", kind="chord", data={"b": 1}, params={}
        )


def test_make_key_rejects_what_json_cannot_hold() -> None:
    with pytest.raises(InvalidInputError):
        ExplanationCache.make_key(model="m", kind="k", data={"x": object()}, params={})
    with pytest.raises(InvalidInputError):
        ExplanationCache.make_key(model="m", kind="k", data={}, params={"t": float("nan")})


def test_size_is_bounded(tmp_path: Path) -> None:
    with ExplanationCache(tmp_path / "c.sqlite3", max_entries=5) as cache:
        for i in range(12):
            cache.put(key(i), value(i))
        assert cache.stats()["entries"] == 5
        assert [i for i in range(12) if cache.get(key(i)) is not None] == [7, 8, 9, 10, 11]


def test_eviction_drops_the_least_recently_used(tmp_path: Path) -> None:
    with ExplanationCache(tmp_path / "c.sqlite3", max_entries=3) as cache:
        for i in range(3):
            cache.put(key(i), value(i))
        assert cache.get(key(0)) is not None  # 0 is now the most recently used
        cache.put(key(3), value(3))  # evicts 1
        assert cache.get(key(1)) is None
        cache.put(key(4), value(4))  # evicts 2
        assert cache.get(key(2)) is None
        assert all(cache.get(key(i)) is not None for i in (0, 3, 4))


def test_stats_count_hits_and_misses(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with ExplanationCache(path, max_entries=7) as cache:
        cache.put(key(1), value(1))
        cache.get(key(1))
        cache.get(key(1))
        cache.get(key(2))
        assert cache.stats() == {
            "entries": 1,
            "max_entries": 7,
            "hits": 2,
            "misses": 1,
            "path": str(path),
        }
        cache.clear()
        assert cache.stats()["entries"] == cache.stats()["hits"] == 0
        assert cache.get(key(1)) is None


def test_invalid_max_entries() -> None:
    with pytest.raises(InvalidInputError):
        ExplanationCache(max_entries=0)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"\x00garbage, not sqlite\xff" * 200), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:5000]), id="truncated"),
        pytest.param(
            lambda p: p.write_bytes(p.read_bytes()[:100] + b"\xab" * 20000), id="overwritten"
        ),
    ],
)
def test_corrupt_file_is_moved_aside_and_rebuilt(
    tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite3"
    with ExplanationCache(path) as cache:
        for i in range(200):
            cache.put(key(i), value(i))
    # fold the WAL into the main file so the damage hits real pages
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    damage(path)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="music_reasoning.sdk.cache"):
        cache = ExplanationCache(path)
    with cache:
        assert cache.get(key(1)) is None
        cache.put(key(1), value(1))
        assert cache.get(key(1)) == value(1)
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert len(list(tmp_path.glob("c.sqlite3.corrupt-*"))) == 1


def test_runtime_failure_degrades_to_a_miss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite3"
    with ExplanationCache(path) as cache:
        cache.put(key(1), value(1))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("DROP TABLE entries")  # the schema vanishes under the open cache
        other.close()
        with caplog.at_level(logging.WARNING, logger="music_reasoning.sdk.cache"):
            assert cache.get(key(1)) is None  # a miss and a warning, no exception
        assert any("continuing without it" in r.getMessage() for r in caplog.records)
        cache.put(key(2), value(2))  # the next call reconnects and recreates the table
        assert cache.get(key(2)) == value(2)
        assert cache.stats()["entries"] == 1


def test_unwritable_location_means_no_cache_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with caplog.at_level(logging.WARNING, logger="music_reasoning.sdk.cache"):
        cache = ExplanationCache(blocker / "sub" / "c.sqlite3")
        with cache:
            for _ in range(20):
                cache.put(key(1), value(1))
                assert cache.get(key(1)) is None
            assert cache.stats()["entries"] == 0
    warnings = [r for r in caplog.records if "caching is off" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per call


def test_value_that_is_not_json_is_skipped(tmp_path: Path) -> None:
    with ExplanationCache(tmp_path / "c.sqlite3") as cache:
        cache.put(key(1), {"x": object()})
        assert cache.get(key(1)) is None


def test_closed_cache_misses(tmp_path: Path) -> None:
    cache = ExplanationCache(tmp_path / "c.sqlite3")
    cache.put(key(1), value(1))
    cache.close()
    assert cache.get(key(1)) is None
    cache.put(key(2), value(2))


def test_threads_share_one_cache(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with ExplanationCache(tmp_path / "c.sqlite3") as cache:

        def work(t: int) -> None:
            try:
                for i in range(50):
                    k = key(t * 1000 + i)
                    cache.put(k, value(i))
                    assert cache.get(k) == value(i)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert cache.stats()["entries"] == 400
        assert cache.stats()["hits"] == 400


def _process_worker(path: str, worker: int, count: int) -> None:
    with ExplanationCache(Path(path)) as cache:
        for i in range(count):
            k = key(worker * 10_000 + i)
            cache.put(k, value(i))
            if cache.get(k) != value(i):
                raise SystemExit(3)
            cache.get(key((worker + 1) * 10_000 + i))  # read what a neighbour writes


def test_several_processes_write_and_read_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    workers, count = 4, 60
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_process_worker, args=(str(path), w, count)) for w in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * workers
    with ExplanationCache(path) as cache:
        assert cache.stats()["entries"] == workers * count
        for w in range(workers):
            for i in range(count):
                assert cache.get(key(w * 10_000 + i)) == value(i)


def test_hit_latency_benchmark_reports_percentiles() -> None:
    report = measure_hit_latency(200, entries=100)
    assert report["n"] == 200
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["p95_ms"] < 50  # generous: 2 shared cores; the target (5 ms) is in the docs


def _open_and_use(path: str, worker: int) -> None:
    with ExplanationCache(Path(path)) as cache:
        cache.put(key(worker), value(worker))
        if cache.get(key(worker)) != value(worker):
            raise SystemExit(3)


def test_processes_meeting_a_corrupt_file_rebuild_it_once(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database " * 500)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_and_use, args=(str(path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 4
    assert len(list(tmp_path.glob("c.sqlite3.corrupt-*"))) == 1  # moved aside once
    with ExplanationCache(path) as cache:
        assert all(cache.get(key(w)) == value(w) for w in range(4))
