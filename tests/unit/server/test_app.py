"""The whole app on the scripted engine: routes, SSE, errors, limits, auth, metrics."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from music_reasoning.errors import InferenceError, ModelUnavailableError

from .conftest import MakeClient, build
from .fake_engine import ScriptedEngine

CHAT = {"model": "fake", "messages": [{"role": "user", "content": "What is C major?"}]}


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    err: dict[str, Any] = body["error"]
    assert {"code", "message", "suggestion", "type", "param"} <= set(err), err
    assert err["message"] and err["suggestion"]
    return err


def sse_events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


# -- OpenAI routes ---------------------------------------------------------------------
def test_chat_completion_whole(make_client: MakeClient) -> None:
    engine = ScriptedEngine()
    client = make_client(engine)
    body = {
        **CHAT,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is a triad?"},
            {"role": "assistant", "content": "Three notes."},
            {"role": "user", "content": "What is C major?"},
        ],
        "temperature": 0,
        "max_tokens": 10,
        "stop": ["\n\n"],
        "seed": 3,
    }
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == "fake"
    choice = data["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "C, E and G."}
    assert choice["finish_reason"] == "stop"
    usage = data["usage"]
    assert usage["completion_tokens"] == 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + 4
    call = engine.calls[0]
    assert call.prompt == "Be brief.\nWhat is C major?"
    assert call.history == (("What is a triad?", "Three notes."),)
    assert (call.params.temperature, call.params.max_tokens, call.params.seed) == (0.0, 10, 3)
    assert call.params.stop == ("\n\n",) and call.raw is False


def test_max_tokens_ends_an_answer_with_finish_reason_length(make_client: MakeClient) -> None:
    r = make_client().post("/v1/chat/completions", json={**CHAT, "max_completion_tokens": 2})
    choice = r.json()["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ("C, E", "length")


def test_chat_stream_is_sse_chunks_then_usage_then_done(make_client: MakeClient) -> None:
    r = make_client().post(
        "/v1/chat/completions",
        json={**CHAT, "stream": True, "stream_options": {"include_usage": True}},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "C, E and G."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4


def test_text_completion_continues_the_prompt_raw(make_client: MakeClient) -> None:
    engine = ScriptedEngine()
    client = make_client(engine)
    r = client.post(
        "/v1/completions", json={"model": "fake", "prompt": "C major:", "max_tokens": 3}
    )
    data = r.json()
    assert data["object"] == "text_completion"
    assert (
        data["choices"][0]["text"] == "C, E and" and data["choices"][0]["finish_reason"] == "length"
    )
    assert engine.calls[0].raw is True and engine.calls[0].prompt == "C major:"
    many = client.post("/v1/completions", json={"model": "fake", "prompt": ["a", "b"]}).json()
    assert [c["index"] for c in many["choices"]] == [0, 1]
    assert many["usage"]["completion_tokens"] == 8
    streamed = client.post("/v1/completions", json={"model": "fake", "prompt": "a", "stream": True})
    texts = [json.loads(e)["choices"][0]["text"] for e in sse_events(streamed.text)[:-1]]
    assert "".join(texts) == "C, E and G."


def test_models_lists_the_served_model(make_client: MakeClient) -> None:
    data = make_client().get("/v1/models").json()
    assert data["object"] == "list" and [m["id"] for m in data["data"]] == ["fake"]


# -- refusals ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/v1/chat/completions", {**CHAT, "model": "gpt-4"}, 404, "model"),
        ("/v1/chat/completions", {**CHAT, "max_tokens": 65}, 400, "max_tokens"),
        ("/v1/chat/completions", {**CHAT, "max_tokens": 0}, 422, "max_tokens"),
        ("/v1/chat/completions", {**CHAT, "max_tokens": "5"}, 422, "max_tokens"),
        ("/v1/chat/completions", {**CHAT, "temperature": 1.5}, 422, "temperature"),
        ("/v1/chat/completions", {**CHAT, "n": 2}, 422, "n"),
        ("/v1/chat/completions", {**CHAT, "logit_bias": {}}, 422, "logit_bias"),
        ("/v1/chat/completions", {**CHAT, "stop": ["a"] * 5}, 422, "stop"),
        ("/v1/chat/completions", {**CHAT, "messages": []}, 422, "messages"),
        (
            "/v1/chat/completions",
            {**CHAT, "messages": [{"role": "assistant", "content": "hi"}]},
            400,
            "messages",
        ),
        (
            "/v1/chat/completions",
            {**CHAT, "messages": [{"role": "user", "content": "x" * 1001}]},
            400,
            "messages",
        ),
        ("/v1/completions", {"model": "fake", "prompt": ["a", "b"], "stream": True}, 400, "prompt"),
        ("/v1/completions", {"model": "fake", "prompt": "\u200b"}, 400, "prompt"),
        ("/v1/completions", {"model": "fake", "prompt": []}, 422, "prompt"),
    ],
)
def test_bad_requests_are_coded_4xx_and_never_reach_the_engine(
    make_client: MakeClient, path: str, body: dict[str, Any], status: int, param: str
) -> None:
    engine = ScriptedEngine()
    r = make_client(engine).post(path, json=body)
    assert r.status_code == status, r.text
    err = error_of(r)
    code = "MODEL_UNAVAILABLE" if status == 404 else "INVALID_INPUT"
    assert (err["code"], err["param"]) == (code, param)
    assert engine.calls == []


def test_a_lone_surrogate_in_a_stop_string_is_a_coded_422(make_client: MakeClient) -> None:
    # json.loads turns "\\ud800" into a lone surrogate; it must not reach the engine.
    engine = ScriptedEngine()
    body = json.dumps({**CHAT, "stop": ["a", "\ud800"]})
    r = make_client(engine).post(
        "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert (error_of(r)["code"], error_of(r)["param"]) == ("INVALID_INPUT", "stop")
    assert engine.calls == []


def test_malformed_json_is_400_and_unknown_routes_and_methods_are_coded(
    make_client: MakeClient,
) -> None:
    client = make_client()
    r = client.post(
        "/v1/chat/completions", content=b'{"model": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and error_of(r)["code"] == "INVALID_INPUT"
    assert "JSON" in error_of(r)["message"]
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and error_of(r)["code"] == "INVALID_INPUT"
    r = client.get("/v1/chat/completions")
    assert r.status_code == 405 and error_of(r)["code"] == "INVALID_INPUT"


def test_bodies_over_the_cap_are_413_whether_declared_or_streamed(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=1000)
    big = json.dumps({**CHAT, "user": "u" * 2000}).encode()
    r = client.post(
        "/v1/chat/completions", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and error_of(r)["code"] == "INVALID_INPUT"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes read are counted
        for i in range(0, len(big), 300):
            yield big[i : i + 300]

    r = client.post(
        "/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and error_of(r)["code"] == "INVALID_INPUT"
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200  # small is fine


def test_an_unexpected_failure_is_a_coded_500_without_the_traceback(
    make_client: MakeClient,
) -> None:
    engine = ScriptedEngine(fail_after=0, error=KeyError("secret internal detail"))
    r = make_client(engine).post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 500
    err = error_of(r)
    assert err["code"] == "ERROR" and err["type"] == "server_error"
    assert "secret" not in r.text and "Traceback" not in r.text


def test_an_engine_error_before_the_first_chunk_is_an_http_error(make_client: MakeClient) -> None:
    engine = ScriptedEngine(fail_after=0, error=InferenceError("decode failed"))
    r = make_client(engine).post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert r.status_code == 500 and error_of(r)["code"] == "INFERENCE_FAILED"


def test_an_engine_error_mid_stream_is_an_error_event_that_ends_it(
    make_client: MakeClient,
) -> None:
    engine = ScriptedEngine(fail_after=2, error=InferenceError("decode failed"))
    r = make_client(engine).post("/v1/chat/completions", json={**CHAT, "stream": True})
    events = sse_events(r.text)
    assert "[DONE]" not in events
    assert json.loads(events[-1])["error"]["code"] == "INFERENCE_FAILED"
    texts = [json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1]]
    assert "".join(texts) == "C, E"


# -- loading, queue, draining --------------------------------------------------------------
def test_health_is_503_while_loading_and_200_once_loaded(make_client: MakeClient) -> None:
    gate = threading.Event()
    client = make_client(ScriptedEngine(load_gate=gate), wait=False)
    for path in ("/health", "/v1/chat/completions"):
        r = client.get(path) if path == "/health" else client.post(path, json=CHAT)
        assert r.status_code == 503 and error_of(r)["code"] == "SERVER_BUSY"
        assert r.headers["retry-after"] == "1"
    # deterministic theory needs no model
    assert client.get("/v1/theory/scale", params={"root": "D", "type": "dorian"}).status_code == 200
    gate.set()
    assert client.app.state.server.generator.wait_ready(5)  # type: ignore[attr-defined]
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["model"] == "fake"


def test_a_model_that_failed_to_load_is_reported_with_its_code(make_client: MakeClient) -> None:
    engine = ScriptedEngine(load_error=ModelUnavailableError("no file"))
    client = make_client(engine, wait=False)
    for _ in range(100):
        if client.app.state.server.generator.load_error:  # type: ignore[attr-defined]
            break
        time.sleep(0.01)
    r = client.get("/health")
    assert r.status_code == 503 and error_of(r)["code"] == "MODEL_UNAVAILABLE"


def test_a_full_queue_is_429_with_retry_after(make_client: MakeClient) -> None:
    gate = threading.Event()
    engine = ScriptedEngine(gate=gate)
    client = make_client(engine, parallel=1, max_queue=0)
    held: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: held.append(client.post("/v1/chat/completions", json=CHAT))
    )
    worker.start()
    try:
        for _ in range(200):  # until the first request holds the slot
            if engine.calls:
                break
            time.sleep(0.01)
        r = client.post("/v1/chat/completions", json=CHAT)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert error_of(r)["code"] == "SERVER_BUSY" and error_of(r)["type"] == "rate_limit_error"
        metrics = client.get("/metrics").text
        assert "music_reasoning_active_sequences 1.0" in metrics
    finally:
        gate.set()
        worker.join(10)
    assert held[0].status_code == 200
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_while_draining_every_request_is_503(make_client: MakeClient) -> None:
    client = make_client()
    client.app.state.server.draining = True  # type: ignore[attr-defined]
    for r in (client.get("/health"), client.post("/v1/chat/completions", json=CHAT)):
        assert r.status_code == 503 and error_of(r)["code"] == "SERVER_BUSY"


# -- auth, CORS, metrics ---------------------------------------------------------------------
def test_the_api_key_is_required_on_v1_and_metrics_but_not_health(make_client: MakeClient) -> None:
    client = make_client(api_key="right-key-123")
    for r in (client.get("/v1/models"), client.get("/metrics")):
        assert r.status_code == 401 and error_of(r)["code"] == "UNAUTHORIZED"
        assert r.headers["www-authenticate"] == "Bearer"
    wrong = client.get("/v1/models", headers={"Authorization": "Bearer right-key-12"})
    assert wrong.status_code == 401 and error_of(wrong)["message"] == "Wrong API key."
    basic = client.get("/v1/models", headers={"Authorization": "Basic right-key-123"})
    assert basic.status_code == 401
    ok = {"Authorization": "Bearer right-key-123"}
    assert client.get("/v1/models", headers=ok).status_code == 200
    assert client.get("/metrics", headers=ok).status_code == 200
    assert client.get("/health").status_code == 200
    # the key is checked before the body: a bad body without the key is 401, not 422
    assert client.post("/v1/chat/completions", json={"x": 1}).status_code == 401


def test_cors_is_off_unless_origins_are_given(make_client: MakeClient) -> None:
    preflight = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    off = make_client().options("/v1/chat/completions", headers=preflight)
    assert "access-control-allow-origin" not in off.headers
    on = make_client(cors_origins=("http://localhost:5173",))
    r = on.options("/v1/chat/completions", headers=preflight)
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
    other = on.options("/v1/chat/completions", headers={**preflight, "Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in other.headers


def test_metrics_count_requests_tokens_and_time_to_first_token(make_client: MakeClient) -> None:
    client = make_client()
    client.post("/v1/chat/completions", json=CHAT)
    client.post("/v1/chat/completions", json={**CHAT, "model": "other"})
    client.get("/nowhere")
    text = client.get("/metrics").text
    assert (
        'music_reasoning_http_requests_total{method="POST",route="/v1/chat/completions",'
        'status="200"} 1.0'
    ) in text
    assert 'route="/v1/chat/completions",status="404"} 1.0' in text
    assert 'route="unmatched",status="404"} 1.0' in text
    assert "music_reasoning_completion_tokens_total 4.0" in text
    assert "music_reasoning_time_to_first_token_seconds_count 1.0" in text
    assert "music_reasoning_tokens_per_second 50.0" in text
    assert "music_reasoning_queue_depth 0.0" in text
    assert "music_reasoning_model_loaded 1.0" in text
    assert (
        'music_reasoning_http_request_duration_seconds_count{route="/v1/chat/completions"}' in text
    )


def test_each_app_has_its_own_registry(make_client: MakeClient) -> None:
    first, second = make_client(), make_client()
    first.post("/v1/chat/completions", json=CHAT)
    assert "music_reasoning_completion_tokens_total 4.0" in first.get("/metrics").text
    assert "music_reasoning_completion_tokens_total 0.0" in second.get("/metrics").text


def test_every_request_gets_one_access_log_line(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    with caplog.at_level("INFO", logger="music_reasoning.server.access"):
        client.get("/v1/models?secret=1")
    lines = [r for r in caplog.records if r.name == "music_reasoning.server.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line.http_status == 200 and line.http_route == "/v1/models"  # type: ignore[attr-defined]
    assert "status=200" in line.getMessage() and "secret" not in line.getMessage()


def test_the_openapi_schema_documents_the_routes() -> None:
    schema = build().openapi()
    paths = schema["paths"]
    for path in (
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/models",
        "/v1/music/chord",
        "/v1/theory/chord",
        "/health",
        "/metrics",
    ):
        assert path in paths, path
    chat = paths["/v1/chat/completions"]["post"]
    assert "ChatCompletionRequest" in json.dumps(chat["requestBody"])
    assert "ChatCompletionOut" in json.dumps(chat["responses"]["200"])
    assert {"401", "422", "429"} <= set(chat["responses"])
