"""``/metrics`` in Prometheus text format, and one structured access-log line per request.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (two apps in one
process do not share counters).  Exported, all prefixed ``music_reasoning_``:

==============================================  =============================================
``http_requests_total{route,method,status}``    requests by route template and status
``http_request_duration_seconds{route}``        latency to the last byte (histogram)
``time_to_first_token_seconds``                 request arrival to first token (histogram)
``queue_depth``                                 requests waiting for a slot
``active_sequences``                            requests holding a slot (using the model)
``prompt_tokens_total``, ``completion_tokens_total``  tokens processed and generated
``tokens_per_second``                           decode speed of the last finished generation
``model_loaded``                                1 when the model is in memory
==============================================  =============================================

The access log goes to the ``music_reasoning.server.access`` logger at INFO, as
``key=value`` pairs (the same values as ``extra`` attributes for JSON formatters); the
query string is never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from music_reasoning.server.generate import Generation

__all__ = ["AccessLogMiddleware", "ServerMetrics", "route_of"]

access_logger = logging.getLogger("music_reasoning.server.access")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30)


class ServerMetrics:
    """The app's Prometheus metrics; gauges read ``queue_depth``/``active``/``loaded`` live."""

    def __init__(
        self,
        *,
        queue_depth: Callable[[], float],
        active: Callable[[], float],
        loaded: Callable[[], float],
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        p = "music_reasoning_"
        self.requests = Counter(
            p + "http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            p + "http_request_duration_seconds",
            "Seconds from request arrival to the last byte of the response.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            p + "time_to_first_token_seconds",
            "Seconds from request arrival to the first generated token.",
            buckets=_TTFT_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(p + "prompt_tokens", "Prompt tokens processed.", registry=r)
        self.completion_tokens = Counter(
            p + "completion_tokens", "Completion tokens generated.", registry=r
        )
        self.tokens_per_second = Gauge(
            p + "tokens_per_second", "Decode speed of the last finished generation.", registry=r
        )
        Gauge(p + "queue_depth", "Requests waiting for a slot.", registry=r).set_function(
            queue_depth
        )
        Gauge(
            p + "active_sequences", "Requests holding a slot (using the model).", registry=r
        ).set_function(active)
        Gauge(p + "model_loaded", "1 when the model is in memory.", registry=r).set_function(loaded)

    def observe(self, generation: Generation, *, request_started: float | None) -> None:
        """Count a finished generation's tokens, speed and time to first token."""
        self.prompt_tokens.inc(generation.prompt_tokens)
        self.completion_tokens.inc(generation.completion_tokens)
        if generation.tokens_per_second is not None:
            self.tokens_per_second.set(generation.tokens_per_second)
        if generation.first_token_at is not None:
            origin = generation.started_at if request_started is None else request_started
            self.ttft.observe(max(0.0, generation.first_token_at - origin))

    def observe_sdk(self, metrics: dict[str, object] | None) -> None:
        """Count the tokens of an SDK explanation's model call (its ``metrics`` dict)."""
        if not metrics:
            return
        for key, counter in (
            ("prompt_tokens", self.prompt_tokens),
            ("completion_tokens", self.completion_tokens),
        ):
            value = metrics.get(key)
            if isinstance(value, int) and value > 0:
                counter.inc(value)
        tps = metrics.get("tokens_per_second")
        if isinstance(tps, int | float):
            self.tokens_per_second.set(tps)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_of(scope: Scope) -> str:
    """The matched route's template (``/v1/chat/completions``), a mount's files
    (``/playground/{path}``), or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # A mount (static files) leaves no route, but extends root_path by its own path.
    base = str(scope.get("app_root_path", ""))
    root = str(scope.get("root_path", ""))
    if "app_root_path" in scope and root.startswith(base) and len(root) > len(base):
        return root[len(base) :] + "/{path}"
    return "unmatched"


class AccessLogMiddleware:
    """Times each HTTP request, counts it by route and status, and logs one line.

    Sets ``request.state.started`` (``time.monotonic()``) for time-to-first-token.
    """

    def __init__(self, app: ASGIApp, *, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})["started"] = time.monotonic()
        status = 500  # unless a response starts: an exception escaped
        sent = 0

        async def observe_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observe_send)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            client = scope.get("client")
            peer = f"{client[0]}:{client[1]}" if client else "-"
            path = str(scope.get("path", ""))
            access_logger.info(
                "method=%s path=%s route=%s status=%d duration_ms=%.1f bytes=%d client=%s",
                method,
                path,
                route,
                status,
                seconds * 1e3,
                sent,
                peer,
                extra={
                    "http_method": method,
                    "http_path": path,
                    "http_route": route,
                    "http_status": status,
                    "duration_ms": round(seconds * 1e3, 1),
                    "response_bytes": sent,
                    "client": peer,
                },
            )
