"""``music-reasoning serve``: the HTTP server (see docs/SERVER.md)."""

from __future__ import annotations

import logging
import os

import click

from music_reasoning.cli._options import model_option
from music_reasoning.config import ENV_PREFIX

__all__ = ["serve"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port (0: any free one).",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 256),
    default=None,
    help="Requests that use the model at once (default: the n_parallel setting, 8).",
)
@click.option(
    "--max-queue",
    type=click.IntRange(0, 100_000),
    default=32,
    show_default=True,
    help="Requests that may wait for a slot; one more gets 429.",
)
@click.option(
    "--api-key",
    envvar=f"{ENV_PREFIX}SERVER_API_KEY",
    default=None,
    help=f"Require `Authorization: Bearer KEY` (or set {ENV_PREFIX}SERVER_API_KEY, which "
    "keeps it out of the process list). Needed to listen beyond loopback.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="Allow browser calls from this origin (repeatable); CORS is off without it.",
)
@model_option
def serve(
    host: str,
    port: int,
    parallel: int | None,
    max_queue: int,
    api_key: str | None,
    cors_origins: tuple[str, ...],
    model: str | None,
) -> None:
    """Serve the model over HTTP: an OpenAI-compatible API, music endpoints, /docs.

    Listens on 127.0.0.1:8000 until stopped (Ctrl-C or SIGTERM: requests in flight
    finish first).  Any other address needs an API key.
    """
    from music_reasoning.server import ServerConfig
    from music_reasoning.server import serve as run_server

    config = ServerConfig.from_settings(
        host=host,
        port=port,
        parallel=parallel,
        max_queue=max_queue,
        api_key=api_key,
        cors_origins=cors_origins,
        model=model,
    )
    if parallel is not None:  # the engine sizes its context for this many sequences
        os.environ[f"{ENV_PREFIX}N_PARALLEL"] = str(parallel)
    server_log = logging.getLogger("music_reasoning.server")
    if server_log.getEffectiveLevel() > logging.INFO:
        server_log.setLevel(logging.INFO)  # the access log and start-up lines
    run_server(config)
