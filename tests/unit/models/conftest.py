"""Fixtures for the downloader tests: loopback file servers and deterministic payloads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.http_server import Behavior, FileServer

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the environment says."""
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def serve() -> Iterator[Callable[..., FileServer]]:
    """Start a :class:`FileServer` for ``content`` with :class:`Behavior` keyword options."""
    servers: list[FileServer] = []

    def start(content: bytes, **behavior: Any) -> FileServer:
        server = FileServer(content, Behavior(**behavior))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
