"""A password in a model URL never reaches a log line, an error message or its details.

Real loopback servers (tests/support/http_server.py); the URLs carry ``user:pw@``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from music_reasoning.errors import CorruptedModelError, DownloadError, MusicReasoningError
from music_reasoning.models.download import download_model
from tests.support.http_server import FileServer

Serve = Callable[..., FileServer]
PASSWORD = "hunter2-s3cret"
DATA = random.Random(7).randbytes(4096)


def with_password(url: str) -> str:
    return url.replace("http://", f"http://mirror-user:{PASSWORD}@", 1)


def refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return f"http://mirror-user:{PASSWORD}@127.0.0.1:{port}/model.bin"


def assert_clean(err: MusicReasoningError, caplog: pytest.LogCaptureFixture) -> None:
    shown = json.dumps(err.to_dict()) + str(err) + err.suggestion
    shown += "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in shown
    assert "mirror-user" not in shown  # the whole userinfo goes
    assert "***@127.0.0.1" in shown  # ...but the URL is still recognisable


def test_failed_mirrors_and_retries_show_no_password(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    busy = serve(DATA, fail_status=503, fail_times=100)
    missing = serve(DATA, status=404)
    caplog.set_level(logging.DEBUG, logger="music_reasoning")
    with pytest.raises(DownloadError) as info:
        download_model(
            [with_password(busy.url), with_password(missing.url), refused_url()],
            tmp_path / "m.gguf",
            sha256=hashlib.sha256(DATA).hexdigest(),
            retries=1,
            backoff=0.01,
            progress=False,
        )
    err = info.value
    assert err.code == "DOWNLOAD_FAILED" and len(err.details["attempts"]) == 3
    assert any(r.levelno == logging.WARNING for r in caplog.records)  # retries and mirrors
    assert busy.requests and missing.requests  # the credentials were still used
    assert_clean(err, caplog)


def test_a_bad_hash_shows_no_password(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(DATA)
    caplog.set_level(logging.DEBUG, logger="music_reasoning")
    with pytest.raises(CorruptedModelError) as info:
        download_model(
            [with_password(server.url)], tmp_path / "m.gguf", sha256="0" * 64, progress=False
        )
    assert info.value.details["url"].startswith("http://***@127.0.0.1")
    assert_clean(info.value, caplog)


def test_a_good_download_logs_no_password(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(DATA)
    caplog.set_level(logging.DEBUG, logger="music_reasoning")
    dest = download_model(
        [with_password(server.url)],
        tmp_path / "m.gguf",
        sha256=hashlib.sha256(DATA).hexdigest(),
        progress=False,
    )
    assert dest.read_bytes() == DATA
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "***@127.0.0.1" in logged and PASSWORD not in logged
