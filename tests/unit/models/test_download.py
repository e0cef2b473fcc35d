"""The model downloader against a real loopback HTTP server: resume, retries, mirrors, parts.

Every test ends with either the exact file (hash-checked) in place, or a clear error and no
``dest`` file.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import random
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from music_reasoning.errors import CorruptedModelError, InvalidInputError, MusicReasoningError
from music_reasoning.models import _transfer
from music_reasoning.models._partial import Part, PartialState, parse_content_range, plan_parts
from music_reasoning.models.download import (
    DownloadError,
    InsufficientDiskError,
    download_model,
)
from tests.support.http_server import FileServer, Request

Serve = Callable[..., FileServer]
LOW_THRESHOLD = 100_000


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random (incompressible) bytes."""
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(source: FileServer | list[str], dest: Path, data: bytes, **options: Any) -> Path:
    """Download ``data``'s file quickly: tiny backoff, no progress bar unless asked."""
    urls = [source.url] if isinstance(source, FileServer) else source
    kwargs: dict[str, Any] = {"backoff": 0.01, "progress": False, "timeout": 10.0} | options
    return download_model(urls, dest, sha256=sha(data), **kwargs)


def partial_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".partial")


def sidecar_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".partial.json")


def read_sidecar(dest: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sidecar_of(dest).read_text())
    return data


def assert_published(dest: Path, data: bytes) -> None:
    assert sha(dest.read_bytes()) == sha(data)
    assert dest.read_bytes() == data
    assert not partial_of(dest).exists()
    assert not sidecar_of(dest).exists()
    assert dest.with_name(dest.name + ".sha256").read_text().startswith(sha(data))


def assert_nothing_left(dest: Path) -> None:
    assert not dest.exists()
    assert not partial_of(dest).exists()
    assert not sidecar_of(dest).exists()


def range_end(request: Request) -> int:
    match = re.fullmatch(r"bytes=\d+-(\d+)", request.range or "")
    assert match, request.range
    return int(match.group(1)) + 1


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "models" / "model.gguf"


# -- plain, throttled, progress ---------------------------------------------------------


def test_plain_download(serve: Serve, dest: Path) -> None:
    data = payload(20_000)
    srv = serve(data)
    assert fetch(srv, dest, data) == dest
    assert_published(dest, data)
    assert [r.method for r in srv.requests] == ["HEAD", "GET"]
    assert srv.gets[0].range is None
    assert srv.gets[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    ("bits_per_second", "size"),
    [(56_000, 20_000), (1_000_000, 200_000), (5_000_000, 600_000)],
    ids=["56kbit-20KB", "1Mbit-200KB", "5Mbit-600KB"],
)
def test_throttled_links(serve: Serve, dest: Path, bits_per_second: int, size: int) -> None:
    data = payload(size)
    rate = bits_per_second / 8
    srv = serve(data, rate=rate)
    started = time.monotonic()
    fetch(srv, dest, data)
    assert time.monotonic() - started >= 0.8 * size / rate  # the throttle really applied
    assert_published(dest, data)


def test_progress_bar_goes_to_stderr(
    serve: Serve, dest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = payload(100_000)
    srv = serve(data, rate=500_000)
    fetch(srv, dest, data, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "model.gguf" in captured.err
    assert "100%" in captured.err
    assert "B/s" in captured.err


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    serve: Serve, dest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = payload(20_000)
    fetch(serve(data), dest, data, progress=None)
    assert capsys.readouterr().err == ""


def test_given_client_is_used_and_left_open(serve: Serve, dest: Path) -> None:
    data = payload(20_000)
    srv = serve(data)
    with httpx.Client(headers={"X-Test": "yes"}) as client:
        fetch(srv, dest, data, client=client)
        assert not client.is_closed
    assert srv.gets[0].headers["x-test"] == "yes"
    assert_published(dest, data)


# -- resume -----------------------------------------------------------------------------


def test_dropped_connections_resume_with_range(serve: Serve, dest: Path) -> None:
    data = payload(200_000)
    srv = serve(data, drop_after=30_000, drop_times=3)
    fetch(srv, dest, data, retries=5)
    gets = srv.gets
    assert [g.range for g in gets] == [None, "bytes=30000-", "bytes=60000-", "bytes=90000-"]
    assert [g.if_range for g in gets[1:]] == [srv.etag] * 3
    assert [g.status for g in gets] == [200, 206, 206, 206]
    assert sum(g.sent for g in gets) == len(data)  # resumed every time, never restarted
    assert_published(dest, data)


def test_server_ignoring_range_restarts_cleanly(serve: Serve, dest: Path) -> None:
    data = payload(150_000)
    srv = serve(data, drop_after=50_000, drop_times=1, ignore_range=True)
    fetch(srv, dest, data)
    gets = srv.gets
    assert len(gets) == 2
    assert (gets[1].range, gets[1].status) == ("bytes=50000-", 200)
    assert_published(dest, data)


def _changing(serve: Serve) -> tuple[FileServer, bytes, bytes]:
    old, new = payload(120_000, seed=1), payload(130_000, seed=2)
    srv = serve(old, drop_after=40_000, drop_times=1, new_content=new, change_after_gets=1)
    return srv, old, new


def test_file_changed_between_attempts_restarts_with_new_content(serve: Serve, dest: Path) -> None:
    srv, _, new = _changing(serve)
    old_etag = srv.etag
    fetch(srv, dest, new)
    second = srv.gets[1]
    assert (second.range, second.if_range, second.status) == ("bytes=40000-", old_etag, 200)
    assert srv.etag != old_etag
    assert_published(dest, new)


def test_file_changed_between_attempts_with_old_hash_is_corrupted(serve: Serve, dest: Path) -> None:
    srv, old, new = _changing(serve)
    with pytest.raises(CorruptedModelError) as info:
        fetch(srv, dest, old)
    err = info.value
    assert sha(old) in err.message and sha(new) in err.message
    assert (err.details["expected_sha256"], err.details["actual_sha256"]) == (sha(old), sha(new))
    assert_nothing_left(dest)


def test_resume_of_partial_left_by_a_failed_run(serve: Serve, dest: Path) -> None:
    data = payload(200_000)
    srv = serve(data, drop_after=50_000, drop_times=1)
    with pytest.raises(DownloadError) as info:
        fetch(srv, dest, data, retries=0)
    assert info.value.transient
    assert not dest.exists()
    assert partial_of(dest).stat().st_size == 50_000
    sidecar = read_sidecar(dest)
    assert isinstance(sidecar.pop("last_modified"), str)
    assert sidecar == {
        "version": 1,
        "url": srv.url,
        "sha256": sha(data),
        "size": 200_000,
        "etag": srv.etag,
        "parts": [{"start": 0, "end": 200_000, "done": 50_000}],
    }
    fetch(srv, dest, data, retries=0)
    last = srv.gets[-1]
    assert (last.range, last.if_range, last.status, last.sent) == (
        "bytes=50000-",
        srv.etag,
        206,
        150_000,
    )
    assert_published(dest, data)


def test_partial_of_a_file_that_changed_since_is_discarded(serve: Serve, dest: Path) -> None:
    old, new = payload(100_000, seed=1), payload(100_000, seed=2)
    srv = serve(old, drop_after=30_000, drop_times=1)
    with pytest.raises(DownloadError):
        fetch(srv, dest, new, retries=0)
    assert partial_of(dest).exists()
    srv.set_content(new)  # the HEAD of the next run shows a new ETag
    fetch(srv, dest, new, retries=0)
    assert srv.gets[-1].range is None
    assert_published(dest, new)


def test_unreadable_sidecar_means_a_fresh_start(serve: Serve, dest: Path) -> None:
    data = payload(50_000)
    srv = serve(data)
    dest.parent.mkdir(parents=True)
    partial_of(dest).write_bytes(b"junk" * 100)
    sidecar_of(dest).write_text("{not json")
    fetch(srv, dest, data)
    assert srv.gets[0].range is None
    assert_published(dest, data)


def test_server_without_head_or_validators(serve: Serve, dest: Path) -> None:
    data = payload(60_000)
    srv = serve(data, allow_head=False, send_validators=False, drop_after=10_000, drop_times=1)
    fetch(srv, dest, data)
    assert srv.heads[0].status == 405
    second = srv.gets[1]
    assert (second.range, second.if_range, second.status) == ("bytes=10000-", None, 206)
    assert_published(dest, data)


def test_file_of_unknown_size(serve: Serve, dest: Path) -> None:
    data = payload(80_000)
    srv = serve(data, allow_head=False, send_length=False)
    fetch(srv, dest, data)
    assert [g.range for g in srv.gets] == [None]
    assert_published(dest, data)


# -- errors, retries, mirrors -----------------------------------------------------------


def test_corrupted_byte_raises_with_both_hashes(serve: Serve, dest: Path) -> None:
    data = payload(50_000)
    bad = bytearray(data)
    bad[12_345] ^= 0xFF
    srv = serve(data, corrupt_at=12_345)
    with pytest.raises(CorruptedModelError) as info:
        fetch(srv, dest, data)
    err = info.value
    assert err.code == "CORRUPTED_MODEL"
    assert sha(data) in err.message and sha(bytes(bad)) in err.message
    assert err.details["actual_sha256"] == sha(bytes(bad))
    assert err.details["url"] == srv.url
    assert_nothing_left(dest)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_status_then_success(serve: Serve, dest: Path, status: int) -> None:
    data = payload(30_000)
    srv = serve(data, fail_times=3, fail_status=status)
    fetch(srv, dest, data, retries=5)
    assert [(r.method, r.status) for r in srv.requests] == [("HEAD", status)] * 3 + [
        ("HEAD", 200),
        ("GET", 200),
    ]
    assert_published(dest, data)


def test_5xx_gives_up_after_the_last_retry(serve: Serve, dest: Path) -> None:
    data = payload(30_000)
    srv = serve(data, fail_times=1_000)
    with pytest.raises(DownloadError) as info:
        fetch(srv, dest, data, retries=2)
    assert (info.value.status_code, info.value.transient) == (500, True)
    assert len(srv.requests) == 3
    assert not dest.exists()


def test_404_fails_at_once_without_retries(serve: Serve, dest: Path) -> None:
    data = payload(30_000)
    srv = serve(data, status=404)
    with pytest.raises(DownloadError) as info:
        fetch(srv, dest, data, retries=5)
    err = info.value
    assert isinstance(err, MusicReasoningError) and isinstance(err, ConnectionError)
    assert (err.code, err.status_code, err.url, err.transient) == (
        "DOWNLOAD_FAILED",
        404,
        srv.url,
        False,
    )
    assert "404" in err.message and srv.url in err.message
    assert "URL" in err.suggestion
    assert err.to_dict()["details"]["status_code"] == 404
    assert len(srv.requests) == 1
    assert_nothing_left(dest)


def test_mirrors_are_tried_in_order(serve: Serve, dest: Path) -> None:
    data = payload(40_000)
    missing, failing, good = serve(data, status=404), serve(data, fail_times=1_000), serve(data)
    fetch([missing.url, failing.url, good.url], dest, data, retries=2)
    assert len(missing.requests) == 1
    assert len(failing.requests) == 3
    assert [r.method for r in good.requests] == ["HEAD", "GET"]
    assert_published(dest, data)


def test_every_mirror_failing_names_each(serve: Serve, dest: Path) -> None:
    data = payload(10_000)
    a, b = serve(data, status=404), serve(data, status=403)
    with pytest.raises(DownloadError) as info:
        fetch([a.url, b.url], dest, data)
    err = info.value
    assert err.status_code == 403
    assert a.url in err.message and b.url in err.message
    assert [item["details"]["status_code"] for item in err.details["attempts"]] == [404, 403]
    assert_nothing_left(dest)


def test_next_mirror_resumes_the_partial(serve: Serve, dest: Path) -> None:
    data = payload(150_000)
    flaky, good = serve(data, drop_after=60_000, drop_times=100), serve(data)
    fetch([flaky.url, good.url], dest, data, retries=0)
    assert (good.gets[0].range, good.gets[0].status) == ("bytes=60000-", 206)
    assert_published(dest, data)


def test_wrong_announced_size_skips_the_url(serve: Serve, dest: Path) -> None:
    data = payload(10_000)
    srv = serve(data)
    with pytest.raises(DownloadError) as info:
        fetch(srv, dest, data, size=len(data) + 1)
    assert "announces 10000 bytes" in info.value.message
    assert srv.gets == []
    assert not dest.exists()


@pytest.mark.parametrize(
    "override",
    [
        {"urls": []},
        {"urls": ["ftp://example.org/model.gguf"]},
        {"sha256": "abc"},
        {"parts": 0},
        {"retries": -1},
        {"timeout": 0},
        {"size": -5},
    ],
    ids=["no-url", "ftp", "short-hash", "parts", "retries", "timeout", "size"],
)
def test_invalid_arguments(tmp_path: Path, override: dict[str, Any]) -> None:
    args: dict[str, Any] = {"urls": ["http://127.0.0.1:9/m"], "sha256": "0" * 64} | override
    with pytest.raises(InvalidInputError):
        download_model(args.pop("urls"), tmp_path / "m.gguf", **args)


# -- parallel parts ---------------------------------------------------------------------


def test_parallel_parts_fetch_distinct_ranges(serve: Serve, dest: Path) -> None:
    data = payload(600_000)
    srv = serve(data, rate=200_000)  # per connection: 3 s one after another
    started = time.monotonic()
    fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD)
    assert time.monotonic() - started < 2.0  # the parts really ran side by side
    gets = srv.gets
    assert sorted(g.range or "" for g in gets) == [
        "bytes=0-149999",
        "bytes=150000-299999",
        "bytes=300000-449999",
        "bytes=450000-599999",
    ]
    assert all(g.if_range == srv.etag and g.status == 206 for g in gets)
    assert_published(dest, data)


def test_small_file_is_one_stream_even_with_parts(serve: Serve, dest: Path) -> None:
    data = payload(50_000)
    srv = serve(data)
    fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD)
    assert [g.range for g in srv.gets] == [None]


def test_each_part_resumes_on_its_own(serve: Serve, dest: Path) -> None:
    data = payload(600_000)
    srv = serve(data, drop_after=40_000, drop_times=2)
    fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD)
    gets = srv.gets
    assert len(gets) == 6
    dropped = [g for g in gets if g.sent == 40_000]
    resumed = sorted(g.range_start or 0 for g in gets if (g.range_start or 0) % 150_000)
    assert len(dropped) == 2
    assert resumed == sorted((g.range_start or 0) + 40_000 for g in dropped)
    assert sum(g.sent for g in gets) == len(data)
    assert_published(dest, data)


def test_parallel_resume_after_a_failed_run(serve: Serve, dest: Path) -> None:
    data = payload(400_000)
    srv = serve(data, drop_after=30_000, drop_times=4)
    with pytest.raises(DownloadError):
        fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD, retries=0)
    assert not dest.exists()
    parts = read_sidecar(dest)["parts"]
    assert [(p["start"], p["end"]) for p in parts] == [
        (0, 100_000),
        (100_000, 200_000),
        (200_000, 300_000),
        (300_000, 400_000),
    ]
    done = {p["end"]: p["done"] for p in parts}
    assert all(0 <= d <= 30_000 for d in done.values()) and sum(done.values()) > 0
    first_run = len(srv.gets)  # parts not yet started when one failed were cancelled
    srv.behavior.drop_after = None
    fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD, retries=0)
    again = srv.gets[first_run:]
    assert len(again) == 4
    for g in again:
        assert g.range_start == range_end(g) - 100_000 + done[range_end(g)]
    assert sum(g.sent for g in again) == len(data) - sum(done.values())
    assert_published(dest, data)


def test_parallel_with_server_ignoring_ranges_falls_back_to_one_stream(
    serve: Serve, dest: Path
) -> None:
    data = payload(400_000)
    srv = serve(data, ignore_range=True)  # still claims Accept-Ranges: bytes
    fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD)
    gets = srv.gets
    assert gets[0].range is not None
    assert (gets[-1].range, gets[-1].status) == (None, 200)
    assert_published(dest, data)


# -- lock, disk, interrupts -------------------------------------------------------------


def test_two_threads_make_one_transfer(serve: Serve, dest: Path) -> None:
    data = payload(200_000)
    srv = serve(data, rate=1_000_000)
    barrier = threading.Barrier(2)
    results: list[Path] = []
    errors: list[BaseException] = []

    def pull() -> None:
        barrier.wait()
        try:
            results.append(fetch(srv, dest, data))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert results == [dest, dest]
    assert (len(srv.heads), len(srv.gets)) == (1, 1)
    assert_published(dest, data)


def test_verified_file_is_returned_without_requests(serve: Serve, dest: Path) -> None:
    data = payload(20_000)
    srv = serve(data)
    fetch(srv, dest, data)
    seen = len(srv.requests)
    assert fetch(srv, dest, data) == dest
    assert len(srv.requests) == seen


def test_existing_file_with_the_right_hash_is_adopted(serve: Serve, dest: Path) -> None:
    data = payload(20_000)
    srv = serve(data)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(data)
    assert fetch(srv, dest, data) == dest
    assert srv.requests == []
    assert_published(dest, data)


def test_existing_file_with_a_wrong_hash_is_replaced(serve: Serve, dest: Path) -> None:
    data = payload(20_000)
    srv = serve(data)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"an older model")
    fetch(srv, dest, data)
    assert_published(dest, data)


def test_not_enough_disk_space(serve: Serve, dest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = payload(100_000)
    srv = serve(data)
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=10_000))
    with pytest.raises(InsufficientDiskError) as info:
        fetch(srv, dest, data)
    err = info.value
    assert err.code == "INSUFFICIENT_DISK"
    assert (err.details["needed_bytes"], err.details["free_bytes"]) == (100_000, 10_000)
    assert "100,000" in err.message
    assert srv.gets == []  # checked before any body byte
    assert not dest.exists()


def test_disk_filling_up_while_writing(
    serve: Serve, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(100_000)
    srv = serve(data)

    def full(fh: object, chunk: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_transfer, "_write_all", full)
    with pytest.raises(InsufficientDiskError):
        fetch(srv, dest, data)
    assert not dest.exists()


def test_keyboard_interrupt_leaves_a_resumable_partial(serve: Serve, dest: Path) -> None:
    data = payload(300_000)
    srv = serve(data, interrupt_after=100_000)  # a real SIGINT to the main thread
    with pytest.raises(KeyboardInterrupt):
        fetch(srv, dest, data)
    assert not dest.exists()
    done = read_sidecar(dest)["parts"][0]["done"]
    assert 0 < done <= 100_000
    assert partial_of(dest).stat().st_size >= done
    fetch(srv, dest, data)
    last = srv.gets[-1]
    assert (last.range, last.status, last.sent) == (f"bytes={done}-", 206, len(data) - done)
    assert_published(dest, data)


def test_keyboard_interrupt_during_parallel_parts(serve: Serve, dest: Path) -> None:
    data = payload(600_000)
    srv = serve(data, rate=200_000, interrupt_after=30_000)
    with pytest.raises(KeyboardInterrupt):
        fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD)
    assert not dest.exists()
    parts = read_sidecar(dest)["parts"]
    done = sum(p["done"] for p in parts)
    assert 0 < done < len(data)
    assert all(p["done"] < p["end"] - p["start"] for p in parts)
    first_run = len(srv.gets)
    srv.behavior.rate = None
    fetch(srv, dest, data, parts=4, parallel_threshold=LOW_THRESHOLD)
    again = srv.gets[first_run:]
    assert sorted(g.range_start or 0 for g in again) == sorted(
        p["start"] + p["done"] for p in parts
    )
    assert sum(g.sent for g in again) == len(data) - done
    assert_published(dest, data)


# -- sidecar and range helpers ----------------------------------------------------------


@pytest.mark.parametrize(("size", "count"), [(10, 4), (7, 3), (3, 8), (0, 4), (1_000_003, 4)])
def test_plan_parts_tiles_the_file(size: int, count: int) -> None:
    parts = plan_parts(size, count)
    assert parts[0].start == 0 and parts[-1].end == size
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    assert len(parts) == max(1, min(count, size))


def test_parse_content_range() -> None:
    assert parse_content_range("bytes 10-19/100") == (10, 20, 100)
    assert parse_content_range("bytes 0-0/*") == (0, 1, None)
    assert parse_content_range("items 1-2/3") is None
    assert parse_content_range(None) is None


def test_sidecar_round_trip_and_rejection() -> None:
    state = PartialState("http://h/m", "a" * 64, 10, '"e"', None, [Part(0, 5, 2), Part(5, 10)])
    assert PartialState.from_json(json.loads(json.dumps(state.to_json()))) == state
    assert state.if_range() == '"e"'
    assert PartialState.from_json({"version": 99}) is None
    gap = state.to_json() | {"parts": [{"start": 0, "end": 5, "done": 0}]}
    assert PartialState.from_json(gap) is None
    weak = PartialState("u", "a" * 64, None, 'W/"e"', "Tue, 14 Nov 2023", [Part(0, None)])
    assert weak.if_range() == "Tue, 14 Nov 2023"


def test_the_sidecar_holding_urls_is_private(tmp_path: Path) -> None:
    from music_reasoning.models._partial import save_sidecar

    path = tmp_path / "m.gguf.partial.json"
    save_sidecar(path, PartialState("http://me:pw@h/m", "a" * 64, 10, None, None, [Part(0, 10)]))
    assert path.stat().st_mode & 0o777 == 0o600
