"""Opt-in usage telemetry: a local JSONL file, and optionally an HTTP endpoint.

Nothing is recorded unless the user opted in (``music-reasoning telemetry on``,
``telemetry = true`` in config.toml, or ``MUSIC_REASONING_TELEMETRY=1``).

What one event holds::

    {"v": 1, "event": "explain.chord", "ts": "2026-11-25T04:01:02.345+00:00",
     "app_version": "0.1.0", "latency_ms": 812.4, "model": "gemma-3-270m-q4_k_m.gguf",
     "tier": "creator", "source": "local", "error_code": null}

Never the prompt or the answer, unless the user also set ``telemetry_include_text``
(then ``prompt`` and ``answer`` are added).  A model given as a path is reduced to its
file name, so home directories do not leak.

Where it goes: one line per event appended to ``cache_dir() / "telemetry.jsonl"`` with
a single ``write()`` on an ``O_APPEND`` descriptor, so concurrent processes never
interleave lines.  Past ``MAX_FILE_BYTES`` the file is renamed to ``telemetry.jsonl.1``
(replacing an older one), so the log keeps at most about twice that.  With
``telemetry_endpoint`` set, each event is also POSTed as JSON by one background thread
per :class:`Telemetry` (bounded queue, 2 s timeout, best effort: failures are logged,
never raised; pending events get up to 2 s at exit).

A file that cannot be written (a read-only home, a full disk) turns the local log off
for the rest of the process with one WARNING; commands never fail for it.  Switching
telemetry on or off writes ``config.toml`` and does fail, with ``STORAGE_UNAVAILABLE``,
when the config folder is read-only.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
import time
import weakref
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from music_reasoning.config import Settings, cache_dir, load_settings, save_setting
from music_reasoning.redact import redact, redact_url

__all__ = [
    "TELEMETRY_FILENAME",
    "Telemetry",
    "disable_telemetry",
    "enable_telemetry",
    "read_events",
    "summarize",
    "telemetry_enabled",
    "telemetry_path",
    "telemetry_status",
]

logger = logging.getLogger(__name__)

TELEMETRY_FILENAME = "telemetry.jsonl"
EVENT_VERSION = 1
HTTP_TIMEOUT = 2.0
QUEUE_SIZE = 1000
EXIT_FLUSH_SECONDS = 2.0
MAX_FILE_BYTES = 8 << 20
_STOP = object()
_live: weakref.WeakSet[Telemetry] = weakref.WeakSet()
_unwritable: set[Path] = set()  # event files that refused a write in this process
_unwritable_lock = threading.Lock()


def telemetry_path() -> Path:
    """Return the local event file, ``cache_dir() / "telemetry.jsonl"``."""
    return cache_dir() / TELEMETRY_FILENAME


def _app_version() -> str:
    try:
        return metadata.version("music-reasoning")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def _model_name(model: str | None) -> str | None:
    if model is None:
        return None
    return Path(model).name if ("/" in model or "\\" in model) else model


class Telemetry:
    """Records usage events when the settings allow it; does nothing otherwise.

    Args:
        settings: ``telemetry``, ``telemetry_endpoint`` and ``telemetry_include_text``
            are read from here (default: :func:`~music_reasoning.config.load_settings`).
        path: The JSONL file (default: :func:`telemetry_path`).
        transport: An ``httpx`` transport for the endpoint (tests).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        path: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = settings or load_settings()
        self.enabled = bool(settings.telemetry)
        self.include_text = bool(settings.telemetry_include_text)
        self.endpoint = settings.telemetry_endpoint or None
        self.path = path or telemetry_path()
        self._transport = transport
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failing = False
        self._version = _app_version() if self.enabled else "unknown"

    def record(
        self,
        event: str,
        *,
        latency_ms: float | None = None,
        model: str | None = None,
        tier: str | None = None,
        source: str | None = None,
        error_code: str | None = None,
        prompt: str | None = None,
        answer: str | None = None,
    ) -> None:
        """Record one event (no-op unless telemetry is on); never raises.

        ``prompt`` and ``answer`` are dropped unless ``telemetry_include_text`` is on.
        """
        if not self.enabled:
            return
        data: dict[str, Any] = {
            "v": EVENT_VERSION,
            "event": str(event),
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "app_version": self._version,
            "latency_ms": None if latency_ms is None else round(float(latency_ms), 3),
            "model": _model_name(model),
            "tier": tier,
            "source": source,
            "error_code": error_code,
        }
        if self.include_text:
            data["prompt"] = prompt
            data["answer"] = answer
        self._append(data)
        self._send(data)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until queued endpoint events were sent (or failed); False on timeout."""
        if self._thread is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = EXIT_FLUSH_SECONDS) -> None:
        """Send what is queued (up to ``timeout`` seconds) and stop the sender thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            logger.debug("telemetry queue full at close; pending events dropped")
        thread.join(timeout)

    def __enter__(self) -> Telemetry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sinks -----------------------------------------------------------------------
    def _append(self, data: dict[str, Any]) -> None:
        if self.path in _unwritable:
            return
        line = (json.dumps(data, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one write: O_APPEND keeps lines whole across processes
                written = os.fstat(fd)
            finally:
                os.close(fd)
            if written.st_size > MAX_FILE_BYTES:
                self._rotate(written.st_ino)
        except OSError as exc:
            with _unwritable_lock:
                first = self.path not in _unwritable
                _unwritable.add(self.path)
            (logger.warning if first else logger.debug)(
                "telemetry events not written to %s (%s); telemetry is off for this run",
                self.path,
                exc.strerror or exc,
            )

    def _rotate(self, inode: int) -> None:
        """Move the full file aside, unless another process already did."""
        try:
            if os.stat(self.path).st_ino == inode:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        except FileNotFoundError:
            pass

    def _send(self, data: dict[str, Any]) -> None:
        if not self.endpoint:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._sender,
                    args=(self.endpoint,),
                    name="music-reasoning-telemetry",
                    daemon=True,
                )
                self._thread.start()
                _live.add(self)
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            logger.debug("telemetry queue full; event %s not sent", data["event"])

    def _sender(self, endpoint: str) -> None:
        with httpx.Client(timeout=HTTP_TIMEOUT, transport=self._transport) as client:
            while True:
                item = self._queue.get()
                try:
                    if item is _STOP:
                        return
                    self._post(client, endpoint, item)
                finally:
                    self._queue.task_done()

    def _post(self, client: httpx.Client, endpoint: str, item: object) -> None:
        try:
            response = client.post(endpoint, json=item)
            response.raise_for_status()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            log = logger.debug if self._failing else logger.warning
            log("telemetry endpoint %s failed: %s", redact_url(endpoint), redact(str(exc)))
            self._failing = True
            return
        self._failing = False


@atexit.register
def _flush_at_exit() -> None:
    deadline = time.monotonic() + EXIT_FLUSH_SECONDS
    for tele in list(_live):
        tele.close(timeout=max(0.0, deadline - time.monotonic()))


# -- the switch and the local log ------------------------------------------------------
def telemetry_enabled() -> bool:
    """Return whether the user opted in (settings: argument, env, config file)."""
    return bool(load_settings().telemetry)


def enable_telemetry() -> Path:
    """Opt in: store ``telemetry = true`` in config.toml; return the file's path.

    ``MUSIC_REASONING_TELEMETRY`` in the environment still wins over the file.
    """
    path = save_setting("telemetry", True)
    logger.info("telemetry enabled in %s", path)
    return path


def disable_telemetry() -> Path:
    """Opt out: store ``telemetry = false`` in config.toml; return the file's path."""
    path = save_setting("telemetry", False)
    logger.info("telemetry disabled in %s", path)
    return path


def read_events(limit: int | None = None, *, path: Path | None = None) -> list[dict[str, Any]]:
    """Return the recorded events, oldest first; with ``limit``, only the newest ``limit``.

    Lines that are not JSON objects (a torn last line) are skipped.
    """
    file = path or telemetry_path()
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    events: list[dict[str, Any]] = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            events.append(item)
    if limit is not None:
        return events[-limit:] if limit > 0 else []
    return events


def summarize(events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Count events per type, source and error code, and average the latency.

    Args:
        events: What to summarize (default: :func:`read_events`).
    """
    events = read_events() if events is None else events
    latencies = [
        float(e["latency_ms"]) for e in events if isinstance(e.get("latency_ms"), int | float)
    ]
    return {
        "events": len(events),
        "by_event": dict(Counter(str(e.get("event")) for e in events)),
        "by_source": dict(Counter(str(e["source"]) for e in events if e.get("source"))),
        "error_codes": dict(Counter(str(e["error_code"]) for e in events if e.get("error_code"))),
        "mean_latency_ms": round(sum(latencies) / len(latencies), 3) if latencies else None,
        "first": events[0].get("ts") if events else None,
        "last": events[-1].get("ts") if events else None,
    }


def telemetry_status() -> dict[str, Any]:
    """Return the state for ``music-reasoning telemetry show``.

    Keys: ``enabled``, ``source`` (where that came from), ``include_text``, ``path``,
    ``endpoint`` and ``summary`` (:func:`summarize` of the local file).
    """
    settings = load_settings()
    return {
        "enabled": settings.telemetry,
        "source": settings.sources.get("telemetry", "default"),
        "include_text": settings.telemetry_include_text,
        "path": str(telemetry_path()),
        "endpoint": settings.telemetry_endpoint,
        "summary": summarize(),
    }
