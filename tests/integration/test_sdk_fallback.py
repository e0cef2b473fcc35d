"""Local-to-cloud fallback, cache and telemetry with real parts: the embedded model,
llama-cpp-python's OpenAI-compatible server on loopback, SQLite and a JSONL file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from music_reasoning.config import load_settings
from music_reasoning.sdk import Hybrid
from music_reasoning.sdk.backends import LocalBackend
from music_reasoning.sdk.cache import ExplanationCache
from music_reasoning.sdk.cloud import CloudClient
from music_reasoning.sdk.facts import chord_facts
from music_reasoning.sdk.telemetry import Telemetry
from music_reasoning.sdk.tiers import CloudQuota
from music_reasoning.sdk.verify import find_contradictions
from music_reasoning.theory import build_chord

G7 = build_chord("G7")


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def hybrid(tmp_path: Path, **kw: object) -> Hybrid:
    settings = load_settings(timeout=120.0)  # a busy machine must not turn answers into TIMEOUT
    return Hybrid(settings=settings, quota=CloudQuota(tmp_path / "q.json"), **kw)  # type: ignore[arg-type]


def test_missing_local_model_falls_back_to_the_cloud(cloud_server: str, tmp_path: Path) -> None:
    h = hybrid(
        tmp_path,
        local=LocalBackend(tmp_path / "missing.gguf"),
        cloud=CloudClient(cloud_server, timeout=120),
    )
    r = h.explain(G7, chord_facts(G7))
    assert r.corrections[0].startswith("local failed: [MODEL_UNAVAILABLE]")
    assert r.error is None and r.explanation and r.verified
    assert r.source in ("cloud", "deterministic")  # deterministic: the cloud answer was wrong
    assert r.metrics is not None  # the cloud call's usage
    assert find_contradictions(r.explanation, chord_facts(G7)) == []
    assert CloudQuota(tmp_path / "q.json").used() >= 1


def test_cloud_failure_degrades_to_data(model_path: Path, tmp_path: Path) -> None:
    h = hybrid(
        tmp_path,
        local=LocalBackend(tmp_path / "missing.gguf"),
        cloud=CloudClient(dead_url(), timeout=2, retries=0),
    )
    r = h.explain(G7, chord_facts(G7))
    assert r.explanation is None and r.data.notes == ("G", "B", "D", "F")
    assert r.error is not None and r.error.code == "CLOUD_UNAVAILABLE"
    assert [c.split("]")[0] for c in r.corrections] == [
        "local failed: [MODEL_UNAVAILABLE",
        "cloud failed: [CLOUD_UNAVAILABLE",
    ]


def test_cache_and_telemetry_on_the_local_model(model_path: Path, tmp_path: Path) -> None:
    settings = load_settings(telemetry=True, timeout=120.0)
    events = tmp_path / "events.jsonl"
    with (
        ExplanationCache(tmp_path / "cache.sqlite3") as cache,
        Telemetry(settings, path=events) as telemetry,
    ):
        h = Hybrid(
            settings=settings,
            local=LocalBackend(model_path),
            cache=cache,
            telemetry=telemetry,
            quota=CloudQuota(tmp_path / "q.json"),
        )
        first = h.explain(G7, chord_facts(G7))
        second = h.explain(G7, chord_facts(G7))
        assert first.source in ("local", "deterministic") and second.source == "cache"
        assert second.explanation == first.explanation
        telemetry.flush()
    # A new process-like view of the same file still hits.
    with ExplanationCache(tmp_path / "cache.sqlite3") as again:
        h2 = Hybrid(settings=settings, local=LocalBackend(model_path), cache=again)
        assert h2.explain(G7, chord_facts(G7)).source == "cache"
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["event"] for e in lines] == ["explain.chord", "explain.chord"]
    assert [e["source"] for e in lines][1] == "cache"
    assert all("prompt" not in e and "answer" not in e for e in lines)  # no text by default
