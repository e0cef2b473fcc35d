"""Apps on the scripted engine, driven through Starlette's TestClient (lifespan included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from music_reasoning.server.app import create_app
from music_reasoning.server.config import ServerConfig

from .fake_engine import ScriptedEngine

MakeClient = Callable[..., TestClient]


def build(engine: ScriptedEngine | None = None, **config: Any) -> FastAPI:
    options: dict[str, Any] = {"max_tokens": 64, "default_max_tokens": 16, "timeout": 10.0}
    options.update(config)
    return create_app(ServerConfig(**options), engine=engine or ScriptedEngine(), model_id="fake")


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """``make_client(engine=..., wait=True, **config)``: a started client (closed after)."""
    clients: list[TestClient] = []

    def make(
        engine: ScriptedEngine | None = None, *, wait: bool = True, **config: Any
    ) -> TestClient:
        app = build(engine, **config)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        if wait:
            assert app.state.server.generator.wait_ready(10)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
