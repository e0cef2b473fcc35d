"""Telemetry: off by default, no text unless allowed, a real loopback endpoint, the CLI."""

from __future__ import annotations

import json
import logging
import multiprocessing
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from music_reasoning.cli.main import cli
from music_reasoning.config import cache_dir, config_file, load_settings
from music_reasoning.sdk.telemetry import (
    Telemetry,
    disable_telemetry,
    enable_telemetry,
    read_events,
    summarize,
    telemetry_enabled,
    telemetry_path,
)

PROMPT = "Facts: G7 is G B D F. Explain G7."
ANSWER = "G7 is a dominant seventh chord."


def record_sample(tele: Telemetry) -> None:
    tele.record(
        "explain.chord",
        latency_ms=12.5,
        model="/home/someone/models/gemma.gguf",
        tier="creator",
        source="local",
        prompt=PROMPT,
        answer=ANSWER,
    )
    tele.record("explain.chord", latency_ms=7.5, source="cache")
    tele.record("explain.scale", tier="free", error_code="TIER_LIMIT", prompt=PROMPT)


class Sink:
    """A real HTTP server on loopback that stores every POSTed JSON body."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        self.received = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                sink.bodies.append(json.loads(self.rfile.read(length)))
                sink.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                sink.received.set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/events"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


def test_disabled_by_default_writes_nothing(isolated_home: Path) -> None:
    assert telemetry_enabled() is False
    tele = Telemetry(load_settings())
    assert tele.enabled is False
    record_sample(tele)
    assert not telemetry_path().exists()
    assert read_events() == []
    assert not any(p.is_file() for p in isolated_home.rglob("*"))


def test_enabled_records_events_without_text() -> None:
    tele = Telemetry(load_settings(telemetry=True))
    record_sample(tele)
    events = read_events()
    assert telemetry_path() == cache_dir() / "telemetry.jsonl"
    assert [e["event"] for e in events] == ["explain.chord", "explain.chord", "explain.scale"]
    first = events[0]
    assert first["latency_ms"] == 12.5 and first["tier"] == "creator"
    assert first["source"] == "local" and first["error_code"] is None
    assert first["model"] == "gemma.gguf"  # the path is reduced to the file name
    assert first["ts"].endswith("+00:00")
    assert events[2]["error_code"] == "TIER_LIMIT"
    raw = telemetry_path().read_text()
    assert PROMPT not in raw and ANSWER not in raw and "someone" not in raw
    assert all("prompt" not in e and "answer" not in e for e in events)


def test_include_text_adds_prompt_and_answer() -> None:
    tele = Telemetry(load_settings(telemetry=True, telemetry_include_text=True))
    record_sample(tele)
    events = read_events()
    assert (events[0]["prompt"], events[0]["answer"]) == (PROMPT, ANSWER)
    assert (events[2]["prompt"], events[2]["answer"]) == (PROMPT, None)


def test_env_var_turns_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSIC_REASONING_TELEMETRY", "1")
    assert telemetry_enabled() is True
    Telemetry().record("x")
    assert [e["event"] for e in read_events()] == ["x"]


def test_read_events_limit_and_torn_lines() -> None:
    tele = Telemetry(load_settings(telemetry=True))
    for i in range(5):
        tele.record(f"e{i}")
    with telemetry_path().open("a") as fh:
        fh.write('{"event": "torn", "lat')  # a writer died mid-line
    assert [e["event"] for e in read_events()] == ["e0", "e1", "e2", "e3", "e4"]
    assert [e["event"] for e in read_events(2)] == ["e3", "e4"]
    assert read_events(0) == []


def test_a_full_file_is_rotated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("music_reasoning.sdk.telemetry.MAX_FILE_BYTES", 600)
    tele = Telemetry(load_settings(telemetry=True))
    for i in range(12):
        tele.record(f"e{i}")
    old = telemetry_path().with_name("telemetry.jsonl.1")
    assert old.is_file() and old.stat().st_size > 600
    assert not telemetry_path().exists() or telemetry_path().stat().st_size <= 600
    kept = [e["event"] for e in read_events(path=old)] + [e["event"] for e in read_events()]
    assert kept == [f"e{i}" for i in range(12 - len(kept), 12)]


def test_summarize_counts_and_means() -> None:
    record_sample(Telemetry(load_settings(telemetry=True)))
    summary = summarize()
    assert summary["events"] == 3
    assert summary["by_event"] == {"explain.chord": 2, "explain.scale": 1}
    assert summary["by_source"] == {"local": 1, "cache": 1}
    assert summary["error_codes"] == {"TIER_LIMIT": 1}
    assert summary["mean_latency_ms"] == 10.0
    assert summarize([])["mean_latency_ms"] is None


def test_unwritable_file_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    tele = Telemetry(load_settings(telemetry=True), path=blocker / "t.jsonl")
    with caplog.at_level(logging.WARNING, logger="music_reasoning.sdk.telemetry"):
        tele.record("x")
    assert any("not written" in r.getMessage() for r in caplog.records)


def _write_many(path: str, worker: int, count: int) -> None:
    tele = Telemetry(load_settings(telemetry=True), path=Path(path))
    for i in range(count):
        tele.record(f"w{worker}", latency_ms=float(i), model="m" * 300)


def test_concurrent_processes_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(str(path), w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * 4
    lines = path.read_text().splitlines()
    assert len(lines) == 800
    events = [json.loads(line) for line in lines]  # every line is whole JSON
    assert Counter(e["event"] for e in events) == {"w0": 200, "w1": 200, "w2": 200, "w3": 200}


def test_endpoint_receives_the_events(sink: Sink) -> None:
    settings = load_settings(telemetry=True, telemetry_endpoint=sink.url)
    with Telemetry(settings) as tele:
        record_sample(tele)
        assert tele.flush(timeout=10)
    assert [b["event"] for b in sink.bodies] == ["explain.chord", "explain.chord", "explain.scale"]
    assert sink.bodies[0]["latency_ms"] == 12.5
    assert all("prompt" not in b for b in sink.bodies)
    assert sink.headers[0]["content-type"] == "application/json"
    assert len(read_events()) == 3  # the local file too


def test_endpoint_gets_text_only_when_allowed(sink: Sink) -> None:
    settings = load_settings(
        telemetry=True, telemetry_endpoint=sink.url, telemetry_include_text=True
    )
    with Telemetry(settings) as tele:
        tele.record("explain.chord", prompt=PROMPT, answer=ANSWER)
        assert tele.flush(timeout=10)
    assert sink.bodies[0]["prompt"] == PROMPT and sink.bodies[0]["answer"] == ANSWER


def test_failing_endpoints_do_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/events"
    refusing = Sink(status=500)
    try:
        for url in (dead, refusing.url, "not a url at all"):
            caplog.clear()
            settings = load_settings(telemetry=True, telemetry_endpoint=url)
            tele = Telemetry(settings)
            with caplog.at_level(logging.WARNING, logger="music_reasoning.sdk.telemetry"), tele:
                tele.record("a")
                tele.record("b")
                assert tele.flush(timeout=10)
            assert any("endpoint" in r.getMessage() for r in caplog.records), url
        assert [b["event"] for b in refusing.bodies] == ["a", "b"]
    finally:
        refusing.close()
    assert len(read_events()) == 6  # the local file is written whatever the endpoint does


def test_record_does_not_wait_for_a_slow_endpoint() -> None:
    """A server that accepts but never answers: record() returns at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/events"
        tele = Telemetry(load_settings(telemetry=True, telemetry_endpoint=url))
        started = time.monotonic()
        for _ in range(5):
            tele.record("x")
        assert time.monotonic() - started < 0.5
        tele.close(timeout=0.1)
    finally:
        sock.close()


def test_enable_and_disable_write_the_config_file() -> None:
    assert telemetry_enabled() is False
    path = enable_telemetry()
    assert path == config_file()
    assert "telemetry = true" in path.read_text()
    assert telemetry_enabled() is True
    disable_telemetry()
    assert telemetry_enabled() is False


def test_cli_on_show_off_round_trip() -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["telemetry", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    state = json.loads(shown.stdout)
    assert state["enabled"] is False and state["source"] == "default"
    assert state["path"] == str(telemetry_path())
    assert state["summary"]["events"] == 0

    turned = runner.invoke(cli, ["telemetry", "on"])
    assert turned.exit_code == 0 and "telemetry on" in turned.output
    record_sample(Telemetry())  # settings now come from config.toml
    state = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)
    assert state["enabled"] is True and state["source"] == "config file"
    assert state["summary"]["by_event"] == {"explain.chord": 2, "explain.scale": 1}

    text = runner.invoke(cli, ["telemetry", "show"]).output
    assert "telemetry      on (config file)" in text
    assert "TIER_LIMIT" in text and "mean latency" in text

    turned = runner.invoke(cli, ["telemetry", "off"])
    assert turned.exit_code == 0 and "telemetry off" in turned.output
    state = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)
    assert state["enabled"] is False
    Telemetry().record("after-off")
    assert len(read_events()) == 3


def test_cli_warns_when_the_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSIC_REASONING_TELEMETRY", "1")
    result = CliRunner().invoke(cli, ["telemetry", "off"])
    assert result.exit_code == 0
    assert "overrides config.toml" in result.output


def test_cli_ask_is_recorded_when_opted_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = tmp_path / "stand-in.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 2048)
    monkeypatch.setenv("MUSIC_REASONING_MODEL_PATH", str(model))
    runner = CliRunner()
    assert runner.invoke(cli, ["ask", "  "]).exit_code != 0  # off: nothing written
    assert read_events() == []
    monkeypatch.setenv("MUSIC_REASONING_TELEMETRY", "1")
    assert runner.invoke(cli, ["ask", "  "]).exit_code != 0
    (event,) = read_events()
    assert (event["event"], event["error_code"], event["model"]) == (
        "ask",
        "INVALID_INPUT",
        "stand-in.gguf",
    )
    assert "prompt" not in event and event["latency_ms"] >= 0
