"""What routes share: the app's :class:`ServerState`, the API-key check and the model gate.

Routes reach the state through ``request.app.state.server`` (one per app, so two apps
in one process never share a queue or counters).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from music_reasoning.errors import AuthenticationError, ServerBusyError
from music_reasoning.server.admission import Admission, Ticket
from music_reasoning.server.config import ServerConfig
from music_reasoning.server.errors import ApiError
from music_reasoning.server.generate import Generator
from music_reasoning.server.metrics import ServerMetrics

if TYPE_CHECKING:
    from music_reasoning.server.music import MusicService

__all__ = ["ServerState", "model_slot", "require_key", "require_model", "state_of"]


@dataclass
class ServerState:
    """Everything one app instance owns."""

    config: ServerConfig
    generator: Generator
    admission: Admission
    metrics: ServerMetrics
    music: MusicService
    draining: bool = False


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="api_key",
    description="The server's API key (`--api-key`), required when the server has one.",
)


async def require_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """Refuse the request unless it carries the server's key (when it has one).

    Raises:
        ApiError: 401 ``UNAUTHORIZED``, the key compared in constant time.
    """
    key = state_of(request).config.api_key
    if key is None:
        return
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode("utf-8"), key.encode("utf-8")):
        raise ApiError(
            AuthenticationError(
                "Missing API key." if credentials is None else "Wrong API key.",
            ),
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_model(state: ServerState) -> None:
    """Refuse with 503 while the model is loading, or with its load error if it failed.

    Raises:
        ApiError: 503 ``SERVER_BUSY`` (loading, with ``Retry-After``) or the load error.
    """
    generator = state.generator
    if generator.ready:
        return
    if generator.load_error is not None:
        raise ApiError(generator.load_error, status=503)
    raise ApiError(
        ServerBusyError("The model is still loading.", suggestion="Retry in a few seconds."),
        status=503,
        headers={"Retry-After": str(state.admission.retry_after)},
    )


@asynccontextmanager
async def model_slot(state: ServerState) -> AsyncIterator[Ticket]:
    """The model is ready and this request holds one of its slots for the block."""
    require_model(state)
    async with state.admission.slot() as ticket:
        yield ticket
