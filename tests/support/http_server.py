"""A loopback HTTP file server for download tests: ranges, ETags, throttling and faults.

A real :class:`http.server.ThreadingHTTPServer` on ``127.0.0.1`` (port 0) serves one
in-memory file at ``/model.bin`` with ``ETag``, ``Last-Modified``, ``Accept-Ranges`` and
single-range ``Range``/``If-Range`` support (``206`` + ``Content-Range``, ``416``).  Faults
are set per test with :class:`Behavior`; every request is recorded (method, headers,
status, body bytes sent) so tests can assert what the client asked for.  Nothing leaves
the machine.

Example::

    with FileServer(data, Behavior(drop_after=1000, drop_times=2)) as srv:
        download_model([srv.url], dest, sha256=...)
        assert srv.gets[1].range == "bytes=1000-"
"""

from __future__ import annotations

import hashlib
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["Behavior", "FileServer", "Request"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_BASE_TIME = 1_700_000_000
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass
class Behavior:
    """What the server does; mutable, so a test may change it between calls."""

    rate: float | None = None
    """Bytes per second for each response body (``None``: as fast as possible)."""
    drop_after: int | None = None
    """Close the connection after this many body bytes..."""
    drop_times: int = 0
    """...in each of the first ``drop_times`` GET responses."""
    fail_status: int = 500
    fail_times: int = 0
    """The first ``fail_times`` requests (any method) answer ``fail_status``."""
    status: int | None = None
    """Answer every request with this status (e.g. 404)."""
    ignore_range: bool = False
    """Always answer 200 with the whole file, whatever Range says."""
    accept_ranges: bool = True
    """Advertise ``Accept-Ranges: bytes`` (independent of ``ignore_range``: servers lie)."""
    allow_head: bool = True
    """Answer HEAD with 405 when false."""
    send_validators: bool = True
    """Send ``ETag`` and ``Last-Modified``."""
    send_length: bool = True
    """Send ``Content-Length``; when false the body ends when the connection closes."""
    corrupt_at: int | None = None
    """Flip the byte at this file offset in every body sent."""
    new_content: bytes | None = None
    change_after_gets: int | None = None
    """Once this many GETs were answered, serve ``new_content`` (new ETag) instead."""
    interrupt_after: int | None = None
    """SIGINT the main thread after this many body bytes of the first GET, then pause."""
    interrupt_pause: float = 0.5


@dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    status: int
    sent: int = 0
    """Body bytes actually written (less than announced when the connection dropped)."""

    @property
    def range(self) -> str | None:
        """The ``Range`` header, if any."""
        return self.headers.get("range")

    @property
    def if_range(self) -> str | None:
        """The ``If-Range`` header, if any."""
        return self.headers.get("if-range")

    @property
    def range_start(self) -> int | None:
        """The first byte asked for by ``Range`` (``None`` without one)."""
        match = _RANGE.match(self.range or "")
        return int(match.group(1)) if match and match.group(1) else None


@dataclass
class _Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    limit: int | None = None
    interrupt: bool = False


class FileServer:
    """Serve ``content`` at :attr:`url` from a thread until :meth:`close`."""

    path = "/model.bin"

    def __init__(self, content: bytes, behavior: Behavior | None = None) -> None:
        self.behavior = behavior or Behavior()
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._gets = 0
        self._version = 0
        self._release = threading.Event()
        self.set_content(content)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # -- state ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The file's URL on the loopback interface."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    @property
    def content(self) -> bytes:
        """The bytes served now."""
        return self._content

    @property
    def etag(self) -> str:
        """The current strong ETag."""
        return self._etag

    def set_content(self, content: bytes) -> None:
        """Serve other bytes from now on, with a new ETag and Last-Modified."""
        with self._lock:
            self._replace_content(content)

    def _replace_content(self, content: bytes) -> None:
        self._version += 1
        self._content = content
        self._etag = '"' + hashlib.sha256(content).hexdigest()[:16] + '"'
        self._last_modified = formatdate(_BASE_TIME + 60 * self._version, usegmt=True)

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def gets(self) -> list[Request]:
        """The GET requests received so far, in order."""
        return [r for r in self.requests if r.method == "GET"]

    @property
    def heads(self) -> list[Request]:
        """The HEAD requests received so far, in order."""
        return [r for r in self.requests if r.method == "HEAD"]

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        """Stop serving and release any paused response."""
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FileServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- request handling (called from handler threads) ----------------------------------
    def _plan(self, method: str, path: str, headers: dict[str, str]) -> tuple[_Reply, Request]:
        b = self.behavior
        with self._lock:
            index = len(self._requests)
            get_index = self._gets
            if method == "GET":
                self._gets += 1
                if (
                    b.change_after_gets is not None
                    and b.new_content is not None
                    and get_index >= b.change_after_gets
                    and self._content is not b.new_content
                ):
                    self._replace_content(b.new_content)
            content, etag, modified = self._content, self._etag, self._last_modified
            reply = self._decide(method, path, headers, index, content, etag, modified)
            if method == "GET":
                if get_index < b.drop_times and b.drop_after is not None:
                    reply.limit = b.drop_after
                reply.interrupt = get_index == 0 and b.interrupt_after is not None
            record = Request(method, path, headers, reply.status)
            self._requests.append(record)
        return reply, record

    def _decide(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        index: int,
        content: bytes,
        etag: str,
        modified: str,
    ) -> _Reply:
        b = self.behavior
        if b.status is not None:
            return _Reply(b.status, body=b"error\n")
        if index < b.fail_times:
            return _Reply(b.fail_status, body=b"failing on purpose\n")
        if path != self.path:
            return _Reply(404, body=b"not found\n")
        if method == "HEAD" and not b.allow_head:
            return _Reply(405, {"Allow": "GET"}, b"")
        common = {"Content-Type": "application/octet-stream"}
        if b.send_validators:
            common |= {"ETag": etag, "Last-Modified": modified}
        if b.accept_ranges:
            common["Accept-Ranges"] = "bytes"
        size = len(content)
        wanted = headers.get("range")
        validator = headers.get("if-range")
        if wanted is None or b.ignore_range or validator not in (None, etag, modified):
            return _Reply(200, common, self._corrupt(content, 0))
        match = _RANGE.match(wanted.strip())
        if not match or match.groups() == ("", ""):
            return _Reply(200, common, self._corrupt(content, 0))
        first_s, last_s = match.groups()
        if first_s:
            first, last = int(first_s), int(last_s) if last_s else size - 1
        else:  # suffix range: the last N bytes
            first, last = max(0, size - int(last_s)), size - 1
        last = min(last, size - 1)
        if first >= size or first > last:
            return _Reply(416, common | {"Content-Range": f"bytes */{size}"}, b"")
        common["Content-Range"] = f"bytes {first}-{last}/{size}"
        return _Reply(206, common, self._corrupt(content[first : last + 1], first))

    def _corrupt(self, body: bytes, offset: int) -> bytes:
        at = self.behavior.corrupt_at
        if at is None or not offset <= at < offset + len(body):
            return body
        data = bytearray(body)
        data[at - offset] ^= 0xFF
        return bytes(data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FileServer/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_GET(self) -> None:
        self._serve("GET")

    def _serve(self, method: str) -> None:
        owner: FileServer = self.server.owner  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply, record = owner._plan(method, self.path, headers)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if owner.behavior.send_length or method == "HEAD":
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if method == "GET":
                record.sent = self._send_body(owner, reply)
        except _DISCONNECTS:
            self.close_connection = True

    def _send_body(self, owner: FileServer, reply: _Reply) -> int:
        b = owner.behavior
        body = reply.body if reply.limit is None else reply.body[: reply.limit]
        step = 64 * 1024 if b.rate is None else max(256, min(8192, int(b.rate / 25)))
        started = time.monotonic()
        sent = 0
        interrupt_at = b.interrupt_after if reply.interrupt else None
        try:
            while sent < len(body):
                end = min(len(body), sent + step)
                if interrupt_at is not None and sent < interrupt_at:
                    end = min(end, interrupt_at)
                self.wfile.write(body[sent:end])
                sent = end
                if interrupt_at is not None and sent == interrupt_at:
                    interrupt_at = None
                    owner._release.wait(0.2)  # let the client take in what was sent
                    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
                    owner._release.wait(b.interrupt_pause)
                if b.rate is not None:
                    delay = started + sent / b.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
        except _DISCONNECTS:
            self.close_connection = True
            return sent
        if reply.limit is not None and reply.limit < len(reply.body):
            self.close_connection = True  # drop: fewer bytes than Content-Length promised
        return sent
