"""Run the app with uvicorn: check the address, bind it ourselves, drain on SIGTERM.

The order is what lets every mistake end with a coded error before anything listens:
the config is valid, the address is allowed (:func:`~.config.check_bind`), the model
resolves to a file, then the socket is bound (a port in use is ``INVALID_INPUT``, not a
uvicorn exit), then uvicorn serves on that socket.

Shutdown is uvicorn's own: on SIGTERM or SIGINT it stops accepting connections, lets
in-flight requests finish (up to the request timeout plus a margin), then stops.  The
app's ``draining`` flag is set at the signal, so a request that still reaches it gets
503 ``SERVER_BUSY``.
"""

from __future__ import annotations

import logging
import math
import socket
from types import FrameType

import uvicorn

from music_reasoning.errors import InvalidInputError
from music_reasoning.server.app import create_app
from music_reasoning.server.config import ServerConfig, check_bind
from music_reasoning.server.deps import ServerState

__all__ = ["bind", "serve"]

logger = logging.getLogger(__name__)

SHUTDOWN_MARGIN_S = 5


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, marking the app as draining when a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, state: ServerState) -> None:
        super().__init__(config)
        self._state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self._state.draining:
            logger.info("signal %d: finishing in-flight requests, refusing new ones", sig)
        self._state.draining = True
        super().handle_exit(sig, frame)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``.

    Raises:
        InvalidInputError: the address cannot be bound (in use, not this machine's,
            a privileged port, an unknown name).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host.strip("[]"), port), family=family, backlog=2048)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InvalidInputError(
            f"Cannot listen on {host}:{port}: {reason}.",
            suggestion="Choose another --port (0 picks a free one), or another --host.",
            details={"host": host, "port": port},
        ) from exc
    sock.set_inheritable(True)
    return sock


def serve(config: ServerConfig) -> None:
    """Serve until a stop signal (blocks).

    Raises:
        InvalidInputError: a non-loopback address without an API key, or an address
            that cannot be bound.
        ModelUnavailableError: the model does not resolve to a file.
    """
    check_bind(config)
    app = create_app(config)
    state: ServerState = app.state.server
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    uv_config = uvicorn.Config(
        app,
        access_log=False,  # the app logs each request itself (metrics.py)
        server_header=False,
        timeout_graceful_shutdown=math.ceil(config.timeout) + SHUTDOWN_MARGIN_S,
        log_level="info",
    )
    where = f"[{host}]" if ":" in host else host
    logger.info(
        "serving %s on http://%s:%d (playground at /, API docs at /docs; key %s)",
        state.generator.model_id,
        where,
        port,
        "required" if config.api_key else "not required",
    )
    try:
        _DrainingServer(uv_config, state).run(sockets=[sock])
    finally:
        sock.close()
