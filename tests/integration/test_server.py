"""`music-reasoning serve` on the real embedded model, driven by the official openai client.

Each server is the real command (``python -m music_reasoning.cli.main serve --port 0``)
in its own process, on loopback; tests talk to it over HTTP only.  One server per
module answers most tests; with ``--parallel 1 --max-queue 1`` a second streamed
request waits and a third is refused.  Another, per test, is stopped with SIGTERM
mid-stream.  Answers are small (``max_tokens`` 4 to 16) to keep the tests fast.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

KEY = "server-test-key-5b1e"
START_TIMEOUT = 90.0
_SERVING = re.compile(r"serving (\S+) on http://127\.0\.0\.1:(\d+)")


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:PORT
    model: str
    log: Path

    def client(self, key: str = KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=60)

    def http(self, key: str | None = KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", headers={"Authorization": f"Bearer {KEY}"}).text

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_server(model_path: Path, folder: Path, *options: str) -> Served:
    """Run the serve command on a free loopback port; return once /health is 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSIC_REASONING_")}
    env["MUSIC_REASONING_HOME"] = str(folder / "home")
    log = folder / "serve.log"
    cmd = [sys.executable, "-m", "music_reasoning.cli.main", "serve", "--port", "0"]
    cmd += ["--model", str(model_path), *options]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + START_TIMEOUT
    url = model = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if url is None:
            found = _SERVING.search(log.read_text(errors="replace"))
            if found:
                model, url = found.group(1), f"http://127.0.0.1:{found.group(2)}"
        if url is not None:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    assert model is not None
                    return Served(proc, url, model, log)
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError(f"serve was not healthy within {START_TIMEOUT:g} s:\n{log.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def served(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(
        model_path,
        tmp_path_factory.mktemp("serve"),
        "--api-key",
        KEY,
        "--parallel",
        "1",
        "--max-queue",
        "1",
    )
    try:
        yield server
    finally:
        stop_server(server.proc)


CHAT = [{"role": "user", "content": "What notes are in a C major chord?"}]


# -- the OpenAI API through the official client ----------------------------------------------
def test_models_lists_the_served_model(served: Served) -> None:
    models = served.client().models.list().data
    assert [m.id for m in models] == [served.model]
    assert served.model.endswith(".gguf")  # served from a path: the file's name


def test_chat_completion(served: Served) -> None:
    r = served.client().chat.completions.create(
        model=served.model,
        messages=CHAT,
        max_tokens=12,
        temperature=0,
    )
    choice = r.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert r.usage is not None
    assert 1 <= r.usage.completion_tokens <= 12
    assert r.usage.prompt_tokens > 20  # the engine's instructions and worked examples
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.id.startswith("chatcmpl-") and r.model == served.model


def test_chat_completion_streamed(served: Served) -> None:
    stream = served.client().chat.completions.create(
        model=served.model,
        messages=[
            {"role": "user", "content": "What is a perfect fifth above D?"},
            {"role": "assistant", "content": "A."},
            {"role": "user", "content": "And a perfect fourth above D?"},
        ],
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    reasons = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert reasons in (["stop"], ["length"])
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    assert 1 <= usage.completion_tokens <= 16
    assert len({c.id for c in chunks}) == 1


def test_text_completion_whole_and_streamed(served: Served) -> None:
    client = served.client()
    prompt = "The notes of the C major scale are"
    whole = client.completions.create(model=served.model, prompt=prompt, max_tokens=8)
    assert whole.choices[0].text.strip() and whole.choices[0].finish_reason in ("stop", "length")
    assert whole.usage is not None and 1 <= whole.usage.completion_tokens <= 8
    assert whole.usage.prompt_tokens < 20  # raw: the prompt alone, no template
    pieces = [
        c.choices[0].text
        for c in client.completions.create(
            model=served.model, prompt=prompt, max_tokens=8, stream=True
        )
        if c.choices
    ]
    assert "".join(pieces).strip()


def test_a_completion_never_writes_a_special_token_as_text(served: Served) -> None:
    """The embedded model continues this prompt with <start_of_image> (a marker token
    that renders as its text) again and again: /v1/completions once sent it out."""
    client = served.client()
    prompt = "Look at this image: "
    whole = client.completions.create(
        model=served.model, prompt=prompt, max_tokens=12, temperature=0
    )
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(
            model=served.model, prompt=prompt, max_tokens=12, temperature=0, stream=True
        )
        if c.choices
    )
    for text in (whole.choices[0].text, streamed):
        for special in ("<start_of_image>", "<end_of_image>", "<start_of_turn>", "<unused"):
            assert special not in text, text


def test_refusals_arrive_as_the_clients_exceptions_with_our_codes(served: Served) -> None:
    client = served.client()
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o", messages=CHAT, max_tokens=4)
    assert unknown.value.code == "MODEL_UNAVAILABLE"
    with pytest.raises(openai.BadRequestError) as too_many:
        client.chat.completions.create(model=served.model, messages=CHAT, max_tokens=100_000)
    assert too_many.value.code == "INVALID_INPUT"
    assert isinstance(too_many.value.body, dict) and too_many.value.body["param"] == "max_tokens"
    with pytest.raises(openai.AuthenticationError) as wrong_key:
        served.client("not-the-key").models.list()
    assert wrong_key.value.code == "UNAUTHORIZED"


# -- plain HTTP: health, metrics, music, limits -------------------------------------------------
def test_health_is_open_and_the_rest_needs_the_key(served: Served) -> None:
    with served.http(key=None) as anonymous:
        health = anonymous.get("/health")
        assert health.status_code == 200
        assert health.json()["loaded"] is True and health.json()["model"] == served.model
        for path in ("/metrics", "/v1/models", "/v1/theory/chord?chord=G7"):
            r = anonymous.get(path)
            assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED", path


def test_metrics_count_what_was_served(served: Served) -> None:
    served.client().chat.completions.create(model=served.model, messages=CHAT, max_tokens=4)
    text = served.metrics()
    served_ok = re.search(
        r'music_reasoning_http_requests_total\{method="POST",route="/v1/chat/completions",'
        r'status="200"\} (\d+)',
        text,
    )
    assert served_ok and int(served_ok.group(1)) >= 1
    tokens = re.search(r"^music_reasoning_completion_tokens_total (\S+)$", text, re.M)
    assert tokens and float(tokens.group(1)) >= 1
    ttft = re.search(r"^music_reasoning_time_to_first_token_seconds_count (\S+)$", text, re.M)
    assert ttft and float(ttft.group(1)) >= 1
    assert "music_reasoning_model_loaded 1.0" in text
    assert "music_reasoning_active_sequences 0.0" in text


def test_music_explanations_and_theory_lookups(served: Served) -> None:
    with served.http() as http:
        chord = http.post(
            "/v1/music/chord", json={"chord": "G7", "temperature": 0, "use_cache": False}
        )
        assert chord.status_code == 200, chord.text
        result = chord.json()
        assert result["data"]["notes"] == ["G", "B", "D", "F"]
        assert result["verified"] is True and result["source"] in ("local", "deterministic")
        assert result["explanation"].endswith(result["lesson"]["text"])
        question = http.post(
            "/v1/music/question",
            json={"question": "Spell D dorian", "mode": "deterministic", "level": "beginner"},
        )
        assert question.json()["data"]["notes"] == ["D", "E", "F", "G", "A", "B", "C"]
        concept = http.post("/v1/music/concept", json={"concept": "tritone substitution"})
        assert concept.json()["data"]["id"] == "tritone-substitution"
        progression = http.post(
            "/v1/music/progression",
            json={"chords": ["Dm7", "G7", "Cmaj7"], "mode": "deterministic"},
        )
        assert [a["roman"] for a in progression.json()["data"]["analysis"]] == [
            "ii7",
            "V7",
            "Imaj7",
        ]
        facts = http.get("/v1/theory/progression", params={"chords": "Dm7 G7 Cmaj7"}).json()
        assert facts["key"] == "C major"
        assert http.get("/v1/theory/chord", params={"chord": "Bb7"}).json()["notes"] == [
            "Bb",
            "D",
            "F",
            "Ab",
        ]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"model": "x", "messages": [', 400, "INVALID_INPUT"),  # not JSON
        (b"[1, 2, 3]", 422, "INVALID_INPUT"),  # JSON, not an object
        (b'{"model": 5, "messages": "hi", "max_tokens": -1}', 422, "INVALID_INPUT"),
        (json.dumps({"model": "m", "messages": CHAT, "max_tokens": 1e300}).encode(), 422, None),
        (json.dumps({"model": "m", "messages": [{"role": "user", "content": "a" * (1 << 20)}]})
         .encode(), 413, "INVALID_INPUT"),  # a 1 MB prompt: over the body cap
    ],
)  # fmt: skip
def test_bad_bodies_are_coded_4xx(
    served: Served, content: bytes, status: int, code: str | None
) -> None:
    with served.http() as http:
        r = http.post(
            "/v1/chat/completions", content=content, headers={"Content-Type": "application/json"}
        )
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == (code or "INVALID_INPUT")


def test_a_long_prompt_and_an_unknown_route_are_coded(served: Served) -> None:
    with served.http() as http:
        long = http.post(
            "/v1/chat/completions",
            json={"model": served.model, "messages": [{"role": "user", "content": "x" * 5000}]},
        )
        assert long.status_code == 400 and long.json()["error"]["param"] == "messages"
        nowhere = http.post("/v2/chat", json={})
        assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "INVALID_INPUT"


def _gauge(served: Served, name: str) -> float:
    found = re.search(rf"^music_reasoning_{name} (\S+)$", served.metrics(), re.M)
    assert found, name
    return float(found.group(1))


def _wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_a_full_queue_is_429_and_a_closed_stream_frees_its_slot(served: Served) -> None:
    long_body = {"model": served.model, "prompt": "A list of chords:", "max_tokens": 1024}
    queued: list[httpx.Response] = []
    with served.http() as http:
        with http.stream("POST", "/v1/completions", json={**long_body, "stream": True}) as first:
            assert first.status_code == 200
            lines = first.iter_lines()
            assert next(line for line in lines if line.startswith("data: "))  # holds the slot
            assert _gauge(served, "active_sequences") == 1

            def wait_in_the_queue() -> None:
                with served.http() as own:
                    queued.append(
                        own.post(
                            "/v1/chat/completions",
                            json={"model": served.model, "messages": CHAT, "max_tokens": 4},
                        )
                    )

            waiter = threading.Thread(target=wait_in_the_queue)
            waiter.start()
            _wait_for(lambda: _gauge(served, "queue_depth") == 1)
            refused = http.post(
                "/v1/chat/completions",
                json={"model": served.model, "messages": CHAT, "max_tokens": 4},
            )
            assert refused.status_code == 429, refused.text
            assert refused.headers["Retry-After"].isdigit()
            assert refused.json()["error"]["code"] == "SERVER_BUSY"
        # the first stream is closed mid-answer: its slot goes to the waiting request
        waiter.join(60)
    assert queued and queued[0].status_code == 200, queued
    _wait_for(lambda: _gauge(served, "active_sequences") == 0)
    assert _gauge(served, "queue_depth") == 0
    assert 'status="429"} 1.0' in served.metrics()


def test_sigterm_lets_the_stream_in_flight_finish(model_path: Path, tmp_path: Path) -> None:
    server = start_server(model_path, tmp_path, "--parallel", "2")
    try:
        body = {"model": server.model, "prompt": "The C major scale:", "max_tokens": 48}
        events: list[str] = []
        with (
            httpx.Client(base_url=server.url, timeout=60) as http,
            http.stream("POST", "/v1/completions", json={**body, "stream": True}) as r,
        ):
            lines = r.iter_lines()
            events.append(next(line for line in lines if line.startswith("data: ")))
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            try:  # a new request is refused: no listener any more, or 503 if it got in
                late = httpx.post(server.url + "/v1/completions", json=body, timeout=5)
                assert late.status_code == 503
                assert late.json()["error"]["code"] == "SERVER_BUSY"
            except httpx.TransportError:
                pass
            events += [line for line in lines if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]"  # the answer in flight was finished
        last = json.loads(events[-2].removeprefix("data: "))
        assert last["choices"][0]["finish_reason"] in ("stop", "length")
        assert server.proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        stop_server(server.proc)
    log = server.log_tail()
    assert "finishing in-flight requests" in log and "Traceback" not in log
