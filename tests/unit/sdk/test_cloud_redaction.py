"""A cloud endpoint that echoes the Authorization header never gets the key shown.

A real loopback HTTP server (http.server on 127.0.0.1) answers each POST as the test
sets it: an error body, a plain-text 5xx or a completion, each quoting the request's
``Authorization`` header back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from music_reasoning.config import load_settings
from music_reasoning.errors import CloudError, InferenceTimeoutError
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.cache import ExplanationCache
from music_reasoning.sdk.cloud import CloudClient
from music_reasoning.sdk.facts import chord_facts
from music_reasoning.sdk.hybrid import Hybrid
from music_reasoning.sdk.tiers import CloudQuota
from music_reasoning.theory import build_chord

KEY = "sk-test-7f3aQ9zLmN2pX4"
PLAIN_KEY = "plainkey-0042-zz"  # a key with no recognisable shape: only the exact key catches it
PARAMS = GenerationParams(max_tokens=16, timeout=10.0)


class Echo:
    """What the server answers next: ``(status, kind)``; kind is json, text or completion."""

    def __init__(self) -> None:
        self.status = 401
        self.kind = "json"
        self.seen: list[str] = []


@pytest.fixture
def echo() -> Iterator[tuple[str, Echo]]:
    state = Echo()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            auth = self.headers.get("authorization", "")
            state.seen.append(auth)
            if state.kind == "completion":
                body: Any = {
                    "model": "echo",
                    "choices": [
                        {
                            "message": {"content": f"G7 is G B D F. You sent {auth}."},
                            "finish_reason": "stop",
                        }
                    ],
                }
                data, ctype = json.dumps(body).encode(), "application/json"
            elif state.kind == "json":
                message = f"Invalid credentials: Authorization: {auth} (header {auth!r})"
                data = json.dumps({"error": {"message": message}}).encode()
                ctype = "application/json"
            else:
                data = f"upstream failed; request headers:\n{self.headers}".encode()
                ctype = "text/plain"
            self.send_response(state.status if state.kind != "completion" else 200)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()


def shown(err: CloudError, caplog: pytest.LogCaptureFixture) -> str:
    return (
        json.dumps(err.to_dict())
        + str(err)
        + err.suggestion
        + "\n".join(r.getMessage() for r in caplog.records)
    )


@pytest.mark.parametrize("key", [KEY, PLAIN_KEY])
@pytest.mark.parametrize(("status", "kind"), [(401, "json"), (400, "json"), (503, "text")])
def test_an_echoed_key_is_masked_in_errors_and_logs(
    echo: tuple[str, Echo],
    caplog: pytest.LogCaptureFixture,
    key: str,
    status: int,
    kind: str,
) -> None:
    url, state = echo
    state.status, state.kind = status, kind
    caplog.set_level(logging.DEBUG, logger="music_reasoning")
    client = CloudClient(url, api_key=key, retries=1, backoff=0.0)
    with pytest.raises(CloudError) as info:
        client.complete("What is G7?", params=PARAMS)
    assert state.seen and state.seen[0] == f"Bearer {key}"  # the server did get the key
    text = shown(info.value, caplog)
    assert key not in text
    assert "***" in info.value.message  # the echo is still there, masked
    assert info.value.status_code == status


def test_an_answer_that_echoes_the_key_is_not_cached_with_it(
    echo: tuple[str, Echo], tmp_path: Path
) -> None:
    url, state = echo
    state.kind = "completion"
    answer = CloudClient(url, api_key=PLAIN_KEY).complete("Q", params=PARAMS).text
    assert answer == "G7 is G B D F. You sent Bearer ***."
    cache = ExplanationCache(tmp_path / "c.sqlite3")
    hybrid = Hybrid(
        settings=load_settings(),
        tier="creator",
        mode="cloud-only",
        cloud=CloudClient(url, api_key=PLAIN_KEY),
        cache=cache,
        quota=CloudQuota(tmp_path / "q.json"),
    )
    g7 = build_chord("G7")
    result = hybrid.explain(g7, chord_facts(g7))
    assert result.source == "cloud" and PLAIN_KEY not in (result.explanation or "")
    assert cache.stats()["entries"] == 1  # it was cached...
    cache.close()
    assert PLAIN_KEY.encode() not in (tmp_path / "c.sqlite3").read_bytes()  # ...without it


class TimingOut:
    name = "local"

    def model_id(self) -> str:
        return "local-model"

    def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        raise InferenceTimeoutError("too slow")


def test_hybrid_corrections_carry_no_key(echo: tuple[str, Echo], tmp_path: Path) -> None:
    url, state = echo
    state.status, state.kind = 401, "json"
    cache = ExplanationCache(tmp_path / "c.sqlite3")
    hybrid = Hybrid(
        settings=load_settings(),
        tier="creator",
        mode="auto",
        local=TimingOut(),
        cloud=CloudClient(url, api_key=PLAIN_KEY, retries=0),
        cache=cache,
        quota=CloudQuota(tmp_path / "q.json"),
    )
    g7 = build_chord("G7")
    result = hybrid.explain(g7, chord_facts(g7))
    assert result.error is not None and result.error.code == "CLOUD_UNAVAILABLE"
    assert any("cloud failed" in c for c in result.corrections)
    everything = json.dumps([list(result.corrections), result.error.message])
    assert PLAIN_KEY not in everything and "***" in everything
    cache.close()
    stored = (tmp_path / "c.sqlite3").read_bytes()
    assert PLAIN_KEY.encode() not in stored
