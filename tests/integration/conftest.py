"""Integration fixtures: the real embedded model through the real llama.cpp."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
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


# -- an OpenAI-compatible server on loopback: llama-cpp-python's own ------------------------
CLOUD_SERVER_START_TIMEOUT = 60.0
CLOUD_API_KEY = "test-key-7f3a"
#: The embedded model is a base model without a chat template, so the server must be told a
#: chat format.  ``gemma`` wraps turns in Gemma's own ``<start_of_turn>`` tokens (single
#: tokens in this vocabulary) and stops at ``<end_of_turn>``; of gemma, chatml and alpaca it
#: gave the most on-topic continuations for grounded prompts (chatml mostly echoes the
#: prompt).  Note that it drops system messages.
CLOUD_CHAT_FORMAT = "gemma"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cloud_server(
    model_path: Path, log_dir: Path, *, api_key: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m llama_cpp.server`` on a free loopback port; return it and its /v1 URL.

    Waits until ``GET /v1/models`` answers (any HTTP status: with an API key it is 401).
    """
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "1024",
        "--n_threads",
        "1",  # the test machine's cores are shared
        "--chat_format",
        CLOUD_CHAT_FORMAT,
        "--verbose",
        "False",
    ]
    if api_key:
        cmd += ["--api_key", api_key]
    log_path = log_dir / f"llama-server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + CLOUD_SERVER_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"llama_cpp.server exited with {proc.returncode}:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        try:
            httpx.get(f"{base_url}/models", timeout=1.0)
            return proc, base_url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_cloud_server(proc)
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"llama_cpp.server did not answer on {base_url} within "
                f"{CLOUD_SERVER_START_TIMEOUT:g} s:\n{tail}"
            )
        time.sleep(0.25)


def stop_cloud_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server (SIGTERM, then SIGKILL after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def cloud_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded model behind llama-cpp-python's OpenAI-compatible server (no API key).

    Yields the base URL, ``http://127.0.0.1:PORT/v1``; the server stops after the session.
    """
    proc, base_url = start_cloud_server(model_path, tmp_path_factory.mktemp("cloud-server"))
    try:
        yield base_url
    finally:
        stop_cloud_server(proc)


@pytest.fixture(scope="module")
def cloud_server_with_key(
    model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Like :func:`cloud_server`, but every request needs ``Authorization: Bearer KEY``.

    Yields ``(base_url, key)``.
    """
    proc, base_url = start_cloud_server(
        model_path, tmp_path_factory.mktemp("cloud-server-key"), api_key=CLOUD_API_KEY
    )
    try:
        yield base_url, CLOUD_API_KEY
    finally:
        stop_cloud_server(proc)
