"""``music-reasoning serve``: the model and the SDK behind an OpenAI-compatible HTTP API.

Layout::

    config.py         ServerConfig, and the rule that a non-loopback bind needs a key
    app.py            create_app(): middleware, routers, /health, /metrics
    openai_routes.py  /v1/chat/completions, /v1/completions, /v1/models (SSE streams)
    music_routes.py   /v1/music/* explanations, /v1/theory/* facts
    music.py          the SDK's hybrids per mode, with the server's model
    generate.py       Generator: the only module that calls the engine
    admission.py      parallel slots and the bounded queue (429)
    translate.py      OpenAI messages and fields -> question, turns, GenerationParams
    schemas.py        pydantic request/response models (the OpenAPI schema)
    errors.py         one JSON error envelope with the package's codes
    metrics.py        Prometheus metrics and the access log
    pages.py          the web playground at / (static/) and the offline API docs
    deps.py           per-app state, the API-key check, the model gate
    runner.py         serve(): bind, run uvicorn, drain on SIGTERM

Imports point down: ``server`` uses ``sdk``, ``engine`` (through ``generate.py`` and
``app.py``'s wiring), ``theory``, ``params`` and ``errors``; nothing below imports it.
"""

from __future__ import annotations

from music_reasoning.server.app import create_app
from music_reasoning.server.config import ServerConfig, check_bind
from music_reasoning.server.runner import serve

__all__ = ["ServerConfig", "check_bind", "create_app", "serve"]
