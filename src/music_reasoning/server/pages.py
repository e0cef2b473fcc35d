"""The pages a browser opens: the web playground at ``/`` and the API docs, all offline.

::

    GET /                 static/index.html, the playground (Ask, Explore, Concepts, Metrics)
    GET /playground/*     static/playground.js and playground.css
    GET /docs, /redoc     Swagger UI and ReDoc pages (FastAPI's, from fastapi-offline)
    GET /docs-assets/*    their script, style sheet and icon, shipped by fastapi-offline

Every file is package data: no build step, and nothing is fetched from a CDN (the
playground's Content-Security-Policy lets it load nothing but this server).  The pages are
open without the API key: they hold no secret, and the playground asks for the key and
sends it on its own API requests.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

__all__ = ["DOCS_ASSETS", "PLAYGROUND_ASSETS", "install_playground", "offline_app"]

#: Where the API docs' Swagger UI and ReDoc files are served.
DOCS_ASSETS = "/docs-assets"
#: Where the playground's script and style sheet are served.
PLAYGROUND_ASSETS = "/playground"

_STATIC_PACKAGE = "music_reasoning.server"
_STATIC_FOLDER = "static"
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def offline_app(**options: Any) -> FastAPI:
    """A FastAPI app whose ``/docs`` and ``/redoc`` load their assets from this server.

    Takes FastAPI's own keyword arguments (title, version, lifespan, ...).
    """
    return FastAPIOffline(static_url=DOCS_ASSETS, **options)


@cache
def _index_html() -> str:
    return (files(_STATIC_PACKAGE) / _STATIC_FOLDER / "index.html").read_text(encoding="utf-8")


def install_playground(app: FastAPI) -> None:
    """Serve the playground page at ``/`` and its files under :data:`PLAYGROUND_ASSETS`."""
    app.mount(
        PLAYGROUND_ASSETS,
        StaticFiles(packages=[(_STATIC_PACKAGE, _STATIC_FOLDER)]),
        name="playground",
    )

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def playground() -> HTMLResponse:
        """The web playground."""
        return HTMLResponse(
            _index_html(),
            headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
        )
