"""The cloud client against a real OpenAI-compatible server: llama-cpp-python's own,
serving the embedded model on loopback."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest

from music_reasoning.errors import CloudError
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.cloud import CloudClient

PROMPT = (
    "Facts: G7 is a G dominant seventh chord. Its notes are G, B, D and F. "
    "Explain the G7 chord in two sentences."
)
PARAMS = GenerationParams(temperature=0.0, max_tokens=24, seed=42, timeout=60)


def test_completion_returns_text_and_token_counts(cloud_server: str) -> None:
    with CloudClient(cloud_server, timeout=60) as client:
        out = client.complete(PROMPT, params=PARAMS)
    assert out.text.strip()
    assert out.prompt_tokens > 10  # the prompt is ~30 tokens through the chat format
    assert 0 < out.completion_tokens <= PARAMS.max_tokens
    assert out.finish_reason in {"stop", "length"}
    assert out.latency_ms > 0
    assert out.model  # the server names the model it used


def test_max_tokens_stop_and_seed_reach_the_server(cloud_server: str) -> None:
    with CloudClient(cloud_server, timeout=60) as client:
        short = client.complete(PROMPT, params=GenerationParams(max_tokens=3, temperature=0.0))
        assert short.completion_tokens <= 3
        assert short.finish_reason == "length"
        greedy = client.complete(PROMPT, params=PARAMS)
        again = client.complete(PROMPT, params=PARAMS)
        stopped = client.complete(PROMPT, params=replace(PARAMS, stop=(".",)))
    assert greedy.text == again.text  # temperature 0, same seed: the same answer
    assert "." in greedy.text  # so the stop string matters
    assert "." not in stopped.text
    assert stopped.text and greedy.text.startswith(stopped.text)


def test_system_message_and_model_name_are_accepted(cloud_server: str) -> None:
    with CloudClient(cloud_server, model="gemma-270m", timeout=60) as client:
        out = client.complete(PROMPT, system="You are a music teacher.", params=PARAMS)
    assert out.text.strip()
    assert out.model == "gemma-270m"  # llama.cpp's server echoes the requested name


def test_hybrid_backend_protocol(cloud_server: str) -> None:
    with CloudClient(cloud_server, timeout=60) as client:
        text, metrics = client.generate(PROMPT, PARAMS)
    assert text.strip()
    assert metrics["completion_tokens"] > 0 and metrics["latency_ms"] > 0


def test_api_key_is_sent_as_bearer(cloud_server_with_key: tuple[str, str]) -> None:
    base_url, key = cloud_server_with_key
    with CloudClient(base_url, api_key=key, timeout=60) as client:
        assert client.complete(PROMPT, params=PARAMS).text.strip()


@pytest.mark.parametrize("key", ["wrong-key", None])
def test_wrong_or_missing_key_is_refused(
    cloud_server_with_key: tuple[str, str], key: str | None
) -> None:
    base_url, _ = cloud_server_with_key
    client = CloudClient(base_url, api_key=key, timeout=60)
    with client, pytest.raises(CloudError) as info:
        client.complete(PROMPT, params=PARAMS)
    err = info.value
    assert err.status_code == 401
    assert err.transient is False
    assert err.code == "CLOUD_UNAVAILABLE"
    assert "MUSIC_REASONING_CLOUD_API_KEY" in err.message
    assert "MUSIC_REASONING_CLOUD_API_KEY" in err.suggestion


def test_dead_port_is_a_transient_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CloudError) as info:
        CloudClient(f"http://127.0.0.1:{port}/v1", backoff=0.05).complete("Q", params=PARAMS)
    assert info.value.transient is True
    assert info.value.status_code is None


def test_timeout_is_honoured(cloud_server: str) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=64, seed=42, timeout=60)
    with CloudClient(cloud_server, timeout=0.05, retries=0) as client:
        started = time.monotonic()
        with pytest.raises(CloudError) as info:
            client.complete(PROMPT, params=params)
        elapsed = time.monotonic() - started
    assert info.value.transient is True
    assert "did not answer within" in info.value.message
    assert elapsed < 2.0
