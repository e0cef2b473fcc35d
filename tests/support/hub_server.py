"""A loopback Hugging Face Hub: the parts of its protocol ``huggingface_hub`` uses for a pull.

Point ``HF_ENDPOINT`` at :attr:`HubServer.url`.  It answers what ``huggingface_hub``
asks (read from its source, ``hf_api.py`` and ``file_download.py``):

* ``GET /api/models/{repo}/revision/{rev}?blobs=True`` (``HfApi.model_info(...,
  files_metadata=True)``): ``id``, ``sha`` (the commit), ``siblings`` with ``size`` and, for
  LFS files, ``lfs: {sha256, size, pointerSize}``, ``cardData``, ``gguf``.
* ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` (``get_hf_file_metadata``, and our
  downloader): a ``302`` to the file's CDN with ``X-Repo-Commit``, ``X-Linked-Etag``
  (the LFS sha256), ``X-Linked-Size`` and ``ETag``, as the Hub does for LFS files.
* Errors as the Hub sends them, with ``X-Error-Code``: an unknown repository ``404
  RepoNotFound`` (``401`` for a private one without a token); a gated repository's files
  ``401 GatedRepo`` without a token and ``403 GatedRepo`` with one that was not granted;
  an unknown file ``404 EntryNotFound``; an unknown revision ``404 RevisionNotFound``.

Each file's bytes are served by its own :class:`~tests.support.http_server.FileServer`
(the "CDN", another origin: ``huggingface_hub`` does not follow a redirect there, and
``httpx`` drops ``Authorization`` on the way), so every fault that server knows (dropped
connections, corrupted bytes, ranges ignored) applies.  Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from tests.support.http_server import Behavior, FileServer, Request

__all__ = ["COMMIT", "TOKEN", "HubRepo", "HubServer"]

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "hf_loopback_granted"
"""The one token a gated or private repository accepts."""


@dataclass
class HubRepo:
    """A repository: its files (path -> bytes) and how the Hub guards it."""

    repo_id: str
    files: dict[str, bytes]
    gated: bool = False
    private: bool = False
    license: str | None = "apache-2.0"
    published: dict[str, str] = field(default_factory=dict)
    """path -> the SHA-256 the Hub publishes, when it is not the bytes' own (a lie)."""
    context_length: int | None = 32768


class HubServer:
    """Serve ``repos`` on ``127.0.0.1`` (and each file from its own CDN server)."""

    def __init__(self, repos: list[HubRepo]) -> None:
        self.repos = {r.repo_id.lower(): r for r in repos}
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._cdn: dict[tuple[str, str], FileServer] = {
            (r.repo_id.lower(), path): FileServer(data)
            for r in repos
            for path, data in r.files.items()
        }
        self._sha = {
            (r.repo_id.lower(), path): hashlib.sha256(data).hexdigest()
            for r in repos
            for path, data in r.files.items()
        }
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The endpoint, for ``HF_ENDPOINT``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def cdn(self, repo_id: str, path: str) -> FileServer:
        """The server of one file's bytes (set its :class:`Behavior` to inject faults)."""
        return self._cdn[(repo_id.lower(), path)]

    def behave(self, repo_id: str, path: str, **behavior: Any) -> None:
        """Give one file's CDN a new :class:`Behavior`."""
        self.cdn(repo_id, path).behavior = Behavior(**behavior)

    @property
    def requests(self) -> list[Request]:
        """Every request the Hub itself received (the CDNs keep their own)."""
        with self._lock:
            return list(self._requests)

    def close(self) -> None:
        """Stop the Hub and every CDN."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        for server in self._cdn.values():
            server.close()

    def __enter__(self) -> HubServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- answers (called from handler threads) -------------------------------------------
    def answer(
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        path = unquote(urlsplit(target).path)
        status, out, body = self._route(method, path, headers)
        with self._lock:
            self._requests.append(Request(method, path, headers, status))
        return status, out, body

    def _route(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        token = headers.get("authorization", "").removeprefix("Bearer ").strip() or None
        parts = path.strip("/").split("/")
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            repo = self._repo(f"{parts[2]}/{parts[3]}", token)
            if isinstance(repo, tuple):
                return repo
            if "/".join(parts[5:]) not in ("main", COMMIT):
                return _error(404, "RevisionNotFound", "Invalid rev id")
            return 200, {"Content-Type": "application/json"}, self._info(repo)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self._repo(f"{parts[0]}/{parts[1]}", token)
            if isinstance(repo, tuple):
                return repo
            if parts[3] not in ("main", COMMIT):
                return _error(404, "RevisionNotFound", "Invalid rev id")
            if repo.gated and token != TOKEN:
                message = (
                    f"Access to model {repo.repo_id} is restricted. You must have access to it "
                    "and be authenticated to access it. Please log in."
                )
                return _error(401 if token is None else 403, "GatedRepo", message)
            file_path = "/".join(parts[4:])
            key = (repo.repo_id.lower(), file_path)
            if key not in self._cdn:
                return _error(404, "EntryNotFound", f"{file_path} does not exist on main")
            sha = repo.published.get(file_path, self._sha[key])
            return (
                302,
                {
                    "Location": self._cdn[key].url,
                    "X-Repo-Commit": COMMIT,
                    "X-Linked-Etag": f'"{sha}"',
                    "X-Linked-Size": str(len(self._cdn[key].content)),
                    "ETag": f'"{hashlib.sha1(file_path.encode()).hexdigest()}"',
                },
                b"",
            )
        return _error(404, "", "Not found")

    def _repo(self, repo_id: str, token: str | None) -> HubRepo | tuple[int, dict[str, str], bytes]:
        repo = self.repos.get(repo_id.lower())
        if repo is None:
            return _error(404, "RepoNotFound", "Repository not found")
        if repo.private and token != TOKEN:
            return _error(401, "RepoNotFound", "Repository not found")
        return repo

    def _info(self, repo: HubRepo) -> bytes:
        siblings = []
        for path, data in repo.files.items():
            sha = repo.published.get(path, self._sha[(repo.repo_id.lower(), path)])
            sibling: dict[str, Any] = {
                "rfilename": path,
                "size": len(data),
                "blobId": hashlib.sha1(path.encode()).hexdigest(),
            }
            if path.endswith(".gguf"):  # stored with LFS
                sibling["lfs"] = {"sha256": sha, "size": len(data), "pointerSize": 135}
            siblings.append(sibling)
        info: dict[str, Any] = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": COMMIT,
            "private": repo.private,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "tags": ["gguf"],
            "siblings": siblings,
            "cardData": {"license": repo.license} if repo.license else {},
        }
        if repo.context_length:
            info["gguf"] = {"architecture": "gemma3", "context_length": repo.context_length}
        return json.dumps(info).encode()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return status, headers, json.dumps({"error": message}).encode()


def resolve_url(server: HubServer, repo_id: str, path: str, revision: str = COMMIT) -> str:
    """The URL a pull pins for ``path`` (what ``hf_hub_url`` makes)."""
    return f"{server.url}/{repo_id}/resolve/{revision}/{quote(path)}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LoopbackHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_GET(self) -> None:
        self._serve("GET")

    def _serve(self, method: str) -> None:
        owner: HubServer = self.server.owner  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, body = owner.answer(method, self.path, headers)
        try:
            self.send_response(status)
            for name, value in out.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method == "GET":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
