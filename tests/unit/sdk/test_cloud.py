"""The cloud client's request building and error mapping (httpx.MockTransport), plus
timeouts and refused connections on real loopback sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from music_reasoning.config import load_settings
from music_reasoning.errors import EXIT_CODES, CloudError, InvalidInputError
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.cloud import CloudClient, CloudCompletion

BASE = "http://cloud.test/v1"
PARAMS = GenerationParams(temperature=0.2, top_p=0.9, max_tokens=33, stop=("\n\n",), seed=7)
Handler = Callable[[httpx.Request], httpx.Response]


def completion_body(text: str = "G, B, D and F.") -> dict[str, object]:
    return {
        "id": "x",
        "object": "chat.completion",
        "model": "served-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


class Recorder:
    """A scripted endpoint: answers in turn, records every request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, **kwargs: object) -> CloudClient:
        return CloudClient(BASE, transport=httpx.MockTransport(self), backoff=0.0, **kwargs)  # type: ignore[arg-type]


def test_request_carries_messages_parameters_and_key() -> None:
    rec = Recorder(httpx.Response(200, json=completion_body()))
    with rec.client(api_key="k-123", model="m-1") as client:
        out = client.complete("What is G7?", system="Be brief.", params=PARAMS)
    (req,) = rec.requests
    assert req.method == "POST"
    assert str(req.url) == "http://cloud.test/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer k-123"
    body = json.loads(req.content)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is G7?"},
    ]
    assert (body["model"], body["temperature"], body["top_p"]) == ("m-1", 0.2, 0.9)
    assert (body["max_tokens"], body["stop"], body["seed"]) == (33, ["\n\n"], 7)
    assert out == CloudCompletion(
        text="G, B, D and F.",
        model="served-model",
        prompt_tokens=12,
        completion_tokens=5,
        latency_ms=out.latency_ms,
        finish_reason="stop",
    )
    assert out.latency_ms >= 0


def test_without_key_model_system_or_stop_those_fields_are_left_out() -> None:
    rec = Recorder(httpx.Response(200, json=completion_body()))
    with rec.client() as client:
        client.complete("Q", params=GenerationParams())
    (req,) = rec.requests
    body = json.loads(req.content)
    assert "authorization" not in req.headers
    assert "model" not in body and "stop" not in body
    assert body["messages"] == [{"role": "user", "content": "Q"}]


def test_trailing_slash_in_base_url() -> None:
    rec = Recorder(httpx.Response(200, json=completion_body()))
    client = CloudClient(BASE + "/", transport=httpx.MockTransport(rec))
    client.complete("Q", params=PARAMS)
    assert str(rec.requests[0].url) == "http://cloud.test/v1/chat/completions"


def test_generate_and_model_id_serve_the_hybrid_layer() -> None:
    rec = Recorder(httpx.Response(200, json=completion_body("Answer.")))
    client = rec.client(api_key="secret", model="m-1")
    text, metrics = client.generate("Q", PARAMS)
    assert text == "Answer."
    assert metrics["completion_tokens"] == 5 and metrics["model"] == "served-model"
    assert client.name == "cloud"
    assert client.model_id() == "cloud:http://cloud.test/v1:m-1"
    assert "secret" not in client.model_id()


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_names_the_setting(status: int) -> None:
    rec = Recorder(httpx.Response(status, json={"detail": "Invalid API key"}))
    with pytest.raises(CloudError) as info:
        rec.client(api_key="bad", retries=3).complete("Q", params=PARAMS)
    err = info.value
    assert (err.code, err.status_code, err.transient) == ("CLOUD_UNAVAILABLE", status, False)
    assert "MUSIC_REASONING_CLOUD_API_KEY" in err.message
    assert "MUSIC_REASONING_CLOUD_API_KEY" in err.suggestion
    assert "Invalid API key" in err.message
    assert len(rec.requests) == 1  # never retried
    assert "bad" not in json.dumps(err.to_dict())


@pytest.mark.parametrize(
    ("status", "transient"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_status_codes_map_to_transient_or_not(status: int, transient: bool) -> None:
    rec = Recorder(httpx.Response(status, json={"error": {"message": "nope"}}))
    with pytest.raises(CloudError) as info:
        rec.client(retries=2).complete("Q", params=PARAMS)
    assert info.value.status_code == status
    assert info.value.transient is transient
    assert "nope" in info.value.message
    assert len(rec.requests) == (3 if transient else 1)


def test_a_transient_failure_is_retried_then_succeeds() -> None:
    rec = Recorder(httpx.Response(503, text="busy"), httpx.Response(200, json=completion_body()))
    assert rec.client().complete("Q", params=PARAMS).text == "G, B, D and F."
    assert len(rec.requests) == 2


def test_default_is_one_retry() -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(CloudError) as info:
        rec.client().complete("Q", params=PARAMS)
    assert info.value.transient is True and info.value.status_code is None
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"choices": [{"message": {"content": 5}}]}),
        httpx.Response(200, json=["a list"]),
    ],
)
def test_malformed_reply(reply: httpx.Response) -> None:
    rec = Recorder(reply)
    with pytest.raises(CloudError) as info:
        rec.client().complete("Q", params=PARAMS)
    assert info.value.transient is False
    assert "not a chat completion" in info.value.message
    assert len(rec.requests) == 1


def test_missing_usage_counts_as_zero_tokens() -> None:
    body = completion_body()
    del body["usage"]
    out = Recorder(httpx.Response(200, json=body)).client().complete("Q", params=PARAMS)
    assert (out.prompt_tokens, out.completion_tokens) == (0, 0)


def test_from_settings() -> None:
    assert CloudClient.from_settings(load_settings()) is None
    client = CloudClient.from_settings(
        load_settings(
            cloud_base_url="http://127.0.0.1:9/v1",
            cloud_api_key="k",
            cloud_model="m",
            cloud_timeout=4.5,
        )
    )
    assert client is not None
    assert (client.base_url, client.model, client.timeout) == ("http://127.0.0.1:9/v1", "m", 4.5)


@pytest.mark.parametrize("url", ["", "ftp://x/v1", "not a url", "http://"])
def test_bad_base_url(url: str) -> None:
    with pytest.raises(InvalidInputError):
        CloudClient(url)


def test_cloud_error_has_its_own_exit_code() -> None:
    assert EXIT_CODES["CLOUD_UNAVAILABLE"] == 10
    assert isinstance(CloudError("x"), ConnectionError)


# -- real loopback sockets -------------------------------------------------------------
@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    sock.close()


def test_request_timeout_is_honoured(silent_server: str) -> None:
    client = CloudClient(silent_server, timeout=0.3, retries=1, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(CloudError) as info:
        client.complete("Q", params=PARAMS)
    elapsed = time.monotonic() - started
    assert info.value.transient is True
    assert "did not answer within" in info.value.message
    assert 0.6 <= elapsed < 3.0  # two attempts of 0.3 s each


def test_call_budget_bounds_the_retries(silent_server: str) -> None:
    client = CloudClient(silent_server, timeout=5.0, retries=5, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(CloudError):
        client.complete("Q", params=GenerationParams(timeout=0.5))
    assert time.monotonic() - started < 2.5


def test_refused_connection_is_transient() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(CloudError) as info:
        CloudClient(f"http://127.0.0.1:{port}/v1", backoff=0.0).complete("Q", params=PARAMS)
    assert info.value.transient is True
    assert info.value.status_code is None
    assert "Cannot reach" in info.value.message
