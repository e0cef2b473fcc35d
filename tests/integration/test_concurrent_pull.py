"""Two processes pulling one model: the second says whose download it waits for, then
returns the finished file; nothing but the model and its marker stays."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from music_reasoning.models import store
from music_reasoning.models.registry import add_user_model
from tests.support.http_server import Behavior, FileServer

HOLD = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1]); lock.acquire()
print("held", flush=True); time.sleep(float(sys.argv[2]))
"""


def test_a_second_pull_in_another_process_names_the_first(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    data = b"GGUF" + os.urandom(200_000)
    with FileServer(data, Behavior()) as server:
        add_user_model("tiny", urls=[server.url], sha256=hashlib.sha256(data).hexdigest())
        target = Path(next(r.path for r in store.list_models() if r.name == "tiny"))
        target.parent.mkdir(parents=True)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(target) + ".lock", "3"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            started = time.monotonic()
            pull = subprocess.run(
                [sys.executable, "-m", "music_reasoning.cli.main", "models", "pull", "tiny"],
                capture_output=True,
                text=True,
                timeout=120,
                env=os.environ,
            )
        finally:
            holder.wait(timeout=30)
    assert pull.returncode == 0, pull.stderr
    assert f"waiting for another download of tiny:Q4_K_M (pid {holder.pid})" in pull.stderr
    assert time.monotonic() - started > 1.0  # it did wait for the holder
    assert Path(pull.stdout.strip()) == target and target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name, target.name + ".sha256"]
