"""The ASGI app: :func:`create_app` wires config, engine access, routes and middleware.

A request passes, outside in::

    AccessLogMiddleware   times it, counts it by route and status, logs one line
    CORSMiddleware        only with cors_origins
    DrainGate             503 once shutdown has begun
    BodyLimit             413 above max_body_bytes
    require_key           401 without the API key (on /v1 and /metrics, when set)
    route                 OpenAI (openai_routes), music (music_routes), /health, /metrics,
                          the playground at / and the API docs at /docs (pages.py)

Errors from any layer leave as the JSON envelope of ``errors.py``.  The model starts
loading when the app starts (lifespan); ``/health`` is 503 until it has loaded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from music_reasoning.config import load_settings
from music_reasoning.errors import InvalidInputError, ServerBusyError
from music_reasoning.server import music_routes, openai_routes
from music_reasoning.server.admission import Admission
from music_reasoning.server.config import RETRY_AFTER_S, ServerConfig
from music_reasoning.server.deps import ServerState, require_key, require_model
from music_reasoning.server.errors import ApiError, error_response, install_error_handlers
from music_reasoning.server.generate import Engine, Generator
from music_reasoning.server.metrics import AccessLogMiddleware, ServerMetrics
from music_reasoning.server.music import MusicService
from music_reasoning.server.pages import install_playground, offline_app

__all__ = ["BodyLimit", "DrainGate", "create_app"]

logger = logging.getLogger(__name__)

DESCRIPTION = """Music-theory explanations from a local model.

* `/v1/chat/completions`, `/v1/completions`, `/v1/models`: OpenAI-compatible (use the
  official `openai` client with `base_url=http://HOST:PORT/v1`).
* `/v1/music/*`: grounded explanations, checked against the theory layer's facts.
* `/v1/theory/*`: the facts alone, instantly, without the model.
* `/health`, `/metrics` (Prometheus).
* `/`: the web playground; these docs and the playground work offline.

Every error is `{"error": {"code", "message", "suggestion", "type", "param"}}`.
"""


class DrainGate:
    """Answers 503 ``SERVER_BUSY`` to every request once the server is shutting down."""

    def __init__(self, app: ASGIApp, *, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.state.draining:
            response = error_response(
                ServerBusyError(
                    "The server is shutting down.",
                    suggestion="Retry against another instance, or once it is back.",
                ),
                status=503,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses bodies over ``max_bytes`` with the JSON 413 (FastAPI's own limit answers in
    plain text): at once when Content-Length says so, else when the bytes read pass it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # FastAPI turns this into the handler's 413
                    raise StarletteHTTPException(413)
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = InvalidInputError(
            f"The request body is larger than this server accepts ({self.max_bytes} bytes).",
            suggestion="Send a smaller body (prompts are at most a few thousand characters).",
        )
        await error_response(error, status=413, headers={"Connection": "close"})(
            scope, receive, send
        )


def _identity(model: str | None) -> tuple[str, tuple[str, ...], int]:
    """The id clients use for ``model``, other accepted names, and the file's mtime.

    Raises:
        ModelUnavailableError: the model does not resolve to a file.
    """
    from music_reasoning.engine.runtime import get_pool

    pool = get_pool()
    choice = pool.choice(model)
    path = pool.resolve(model)
    is_path = os.sep in choice or choice.endswith(".gguf")
    model_id = path.name if is_path else choice
    return model_id, (path.name, path.stem, choice), int(path.stat().st_mtime)


def create_app(
    config: ServerConfig | None = None,
    *,
    engine: Engine | None = None,
    model_id: str | None = None,
    music: MusicService | None = None,
) -> FastAPI:
    """Build the server's ASGI app (it binds nothing: run it with uvicorn, or ``serve``).

    Args:
        config: limits, key and CORS; default: :meth:`ServerConfig.from_settings`.
        engine: the engine to serve; default: the process-wide engine for
            ``config.model``, shared with the SDK (so the music endpoints use it too).
        model_id: the id of ``engine`` when one is given (default ``"local"``).
        music: the SDK service for the music endpoints (default: built for the model).

    Raises:
        ModelUnavailableError: ``config.model`` (or the default model) has no file.
        InvalidInputError: a bad setting.
    """
    config = config or ServerConfig.from_settings()
    settings = load_settings()
    if engine is None:
        from music_reasoning.engine.runtime import get_engine

        ident, aliases, created = _identity(config.model)
        engine = get_engine(config.model)
    else:
        ident, aliases, created = model_id or "local", (), 0
    generator = Generator(
        engine,
        model_id=ident,
        aliases=aliases,
        max_prompt_chars=settings.max_prompt_chars,
        created=created,
    )
    admission = Admission(
        parallel=config.parallel,
        max_queue=config.max_queue,
        wait_timeout=config.timeout,
        retry_after=RETRY_AFTER_S,
    )
    metrics = ServerMetrics(
        queue_depth=lambda: admission.waiting,
        active=lambda: admission.active,
        loaded=lambda: float(generator.is_loaded()),
    )
    state = ServerState(
        config=config,
        generator=generator,
        admission=admission,
        metrics=metrics,
        music=music or MusicService(config.model),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        generator.start_loading()
        yield
        state.draining = True

    from music_reasoning import __version__

    app = offline_app(
        title="music-reasoning",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.server = state
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(DrainGate, state=state)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    keyed = [Security(require_key)]
    app.include_router(openai_routes.router, dependencies=keyed)
    app.include_router(music_routes.router, dependencies=keyed)
    install_playground(app)

    @app.get("/health", tags=["ops"], responses={503: {"description": "Loading or stopping."}})
    async def health(request: Request) -> JSONResponse:
        """200 once the model has loaded; 503 while it loads, if it failed, or when stopping."""
        if state.draining:
            raise ApiError(ServerBusyError("The server is shutting down."), status=503)
        require_model(state)
        return JSONResponse(
            {
                "status": "ok",
                "model": generator.model_id,
                "loaded": generator.is_loaded(),
                "parallel": admission.parallel,
                "active": admission.active,
                "queue_depth": admission.waiting,
                "max_queue": admission.max_queue,
            }
        )

    @app.get("/metrics", tags=["ops"], dependencies=keyed, response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus text format (see ``server/metrics.py`` for the names)."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app
