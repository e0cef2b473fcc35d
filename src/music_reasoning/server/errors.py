"""Every error the server sends is one JSON shape, with the package's error code.

The envelope is OpenAI's, with our ``code`` and a ``suggestion``::

    {"error": {"code": "INVALID_INPUT", "message": "...", "suggestion": "...",
               "type": "invalid_request_error", "param": "messages.0.role"}}

How each failure becomes a status:

* :class:`ApiError` carries its own status and headers (429 with ``Retry-After``, 401);
* a :class:`~music_reasoning.errors.MusicReasoningError` gets the status of its code
  (:data:`STATUS_BY_CODE`);
* a request that fails validation is ``INVALID_INPUT``: 400 for a body that is not JSON,
  422 for JSON that does not fit the schema;
* Starlette's own HTTP errors (unknown route 404, wrong method 405, body too large 413)
  are ``INVALID_INPUT`` with their status;
* anything else is 500 with code ``ERROR``; the traceback goes to the log, never to the
  client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from music_reasoning.errors import InvalidInputError, MusicReasoningError

__all__ = [
    "STATUS_BY_CODE",
    "ApiError",
    "envelope",
    "error_response",
    "install_error_handlers",
    "status_for",
]

logger = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "INVALID_INPUT": 400,
    "UNAUTHORIZED": 401,
    "TIER_LIMIT": 403,
    "SERVER_BUSY": 503,
    "TIMEOUT": 504,
    "MODEL_UNAVAILABLE": 503,
    "CORRUPTED_MODEL": 503,
    "INSUFFICIENT_RAM": 503,
    "INFERENCE_FAILED": 500,
    "CLOUD_UNAVAILABLE": 502,
    "DOWNLOAD_FAILED": 502,
    "INSUFFICIENT_DISK": 507,
    "STORAGE_UNAVAILABLE": 500,
}

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

_HTTP_MESSAGES = {
    404: ("No such endpoint: {method} {path}.", "See /docs for the endpoints."),
    405: ("{method} is not allowed on {path}.", "See /docs for the methods each path takes."),
    413: (
        "The request body is larger than this server accepts.",
        "Send a smaller body (prompts are at most a few thousand characters).",
    ),
}


class ApiError(Exception):
    """A package error sent with a given HTTP status (and headers such as Retry-After)."""

    def __init__(
        self,
        error: MusicReasoningError,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status or status_for(error)
        self.headers = dict(headers or {})
        self.param = param


def status_for(error: MusicReasoningError) -> int:
    """The HTTP status for a package error's code (500 for codes without one)."""
    return STATUS_BY_CODE.get(error.code, 500)


def envelope(
    code: str, message: str, suggestion: str, *, status: int, param: str | None = None
) -> dict[str, Any]:
    """The JSON body of an error response."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {
        "error": {
            "code": code,
            "message": message,
            "suggestion": suggestion,
            "type": kind,
            "param": param,
        }
    }


def error_response(
    error: MusicReasoningError,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    param: str | None = None,
) -> JSONResponse:
    """A JSON response for ``error`` (its code's status unless ``status`` is given)."""
    status = status or status_for(error)
    body = envelope(error.code, error.message, error.suggestion, status=status, param=param)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def validation_message(errors: Sequence[Mapping[str, Any]], limit: int = 5) -> str:
    """``loc: msg`` for the first ``limit`` problems (the input itself is never echoed)."""
    shown = [f"{_location(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:limit]]
    more = len(errors) - limit
    return "Invalid request: " + "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.error, status=exc.status, headers=exc.headers, param=exc.param)


async def _on_package_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MusicReasoningError)
    if status_for(exc) >= 500:
        logger.warning("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    not_json = any(e.get("type") == "json_invalid" for e in errors)
    message = (
        "The request body is not valid JSON." if not_json else validation_message(errors) + "."
    )
    error = InvalidInputError(
        message,
        suggestion=(
            "Send a JSON object with Content-Type: application/json."
            if not_json
            else "Check the fields against the schema at /docs."
        ),
    )
    param = None if not_json or not errors else _location(errors[0].get("loc", ())) or None
    return error_response(error, status=400 if not_json else 422, param=param)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    template = _HTTP_MESSAGES.get(exc.status_code)
    if template is not None:
        message = template[0].format(method=request.method, path=request.url.path)
        suggestion = template[1]
    else:
        message, suggestion = str(exc.detail), "Check the request against /docs."
    error = InvalidInputError(message, suggestion=suggestion)
    return error_response(error, status=exc.status_code, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("%s %s: unexpected error", request.method, request.url.path, exc_info=exc)
    body = envelope(
        MusicReasoningError.code,
        "The server failed unexpectedly while handling this request.",
        "Retry; if it fails again, the server's log has the details.",
        status=500,
    )
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(MusicReasoningError, _on_package_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
