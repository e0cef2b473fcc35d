"""Download a model file over HTTP: resumable, parallel, retried, verified, and locked.

:func:`download_model` fetches one file from a primary URL or its mirrors into ``dest``.
``dest`` only ever appears once its SHA-256 matched, so a half-written file never poses
as a model.

Files next to ``dest`` (``model.gguf`` here)::

    model.gguf                the verified model; exists only after the hash matched
    model.gguf.sha256         "<sha256> <size> <mtime_ns>": proof it was verified
                              (same marker as :mod:`music_reasoning.models.files`)
    model.gguf.lock           a FileLock held for the whole download
    model.gguf.partial        the bytes so far, written in place at their offsets
    model.gguf.partial.json   the sidecar: what the partial holds, and of which file

The sidecar (``version`` 1), rewritten atomically at most once a second while bytes
arrive and whenever a transfer stops (error, Ctrl-C, success)::

    {"version": 1, "url": "https://…", "sha256": "<expected>",
     "size": 123456789 | null,          # total bytes; null while the server has not said
     "etag": "\\"abc\\"" | null,          # validators seen when the partial was started,
     "last_modified": "Tue, …" | null,  # sent back as If-Range on every ranged GET
     "parts": [{"start": 0, "end": 30864198, "done": 1048576}, …]}   # end exclusive

``done`` only counts bytes already handed to the OS (unbuffered writes), so it never
claims more than the partial holds.  The layout (one part, or ``parts`` parts) is fixed
when the partial is started and kept by every resume.

Rules:

* **Probe.** A HEAD gives size, ETag/Last-Modified and ``Accept-Ranges``.  A 4xx fails the
  URL at once (no retries); 5xx, 408, 429 and network errors are retried.  A server that
  refuses HEAD (405/501) is fetched as one stream of unknown size.
* **Resume or start over.**  An existing partial is resumed when its sidecar names the same
  expected SHA-256 and size, and its validators agree with the HEAD's; otherwise it is
  deleted.  A resumed GET sends ``Range: bytes=N-`` with ``If-Range: <ETag or
  Last-Modified>``.  A 200 answer (server ignores ranges, or the file changed so If-Range
  failed) restarts from zero: a single stream truncates the partial and keeps reading that
  answer; a parallel download discards the partial and starts over (as one stream when the
  server ignores ranges).  Without any validator a resume is sent bare; the hash check at
  the end still guards it.
* **Parallel parts.**  Files of known size of at least ``parallel_threshold`` bytes on a
  server that advertises ``Accept-Ranges: bytes`` are split into ``parts`` ranges fetched by
  threads into one preallocated partial; each part retries and resumes on its own.
* **Retries.**  Every request (and each part) gets ``retries`` retries with exponential,
  jittered backoff (``backoff * 2**n``, capped at 30 s, or ``Retry-After``); a retry resumes
  where the bytes stopped.  When a URL is out of retries, or answered a 4xx, the next mirror
  is tried (resuming the partial if the validators allow).  A bad hash is not retried.
* **Publish.**  When every byte is in: hash, fsync, ``os.replace`` into ``dest``, fsync the
  folder, write the ``.sha256`` marker, delete the sidecar.  A mismatch deletes the partial
  and sidecar and raises :class:`~music_reasoning.errors.CorruptedModelError`.
* **Concurrency.**  The lock makes a second process or thread wait; it then finds the
  verified file and returns it without a transfer.
* **Interrupts.**  KeyboardInterrupt stops the part threads, saves the sidecar and is
  re-raised; the next call resumes.  The disk space still needed is checked before any
  body byte is fetched.
* **Credentials.**  A URL may carry ``user:password@`` or a token parameter: every log
  line, error message and error ``details`` shows it through
  :func:`~music_reasoning.redact.redact_url`; only the requests use it whole.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from filelock import FileLock, Timeout

from music_reasoning.errors import (
    CorruptedModelError,
    DownloadError,
    InsufficientDiskError,
    InvalidInputError,
)
from music_reasoning.models._partial import (
    PartialState,
    adopt_existing,
    allocated_bytes,
    check_disk,
    fsync_dir,
    is_verified,
    load_sidecar,
    marker_path,
    plan_parts,
    preallocate,
    save_sidecar,
    write_marker,
)
from music_reasoning.models._transfer import (
    Progress,
    RemoteFile,
    RestartNeeded,
    RetryPolicy,
    Transfer,
    probe,
)
from music_reasoning.models.files import sha256_file
from music_reasoning.redact import redact_url

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_PARALLEL_THRESHOLD",
    "DEFAULT_PARTS",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "DownloadError",
    "InsufficientDiskError",
    "download_model",
]

logger = logging.getLogger(__name__)

DEFAULT_PARTS = 4
"""Parallel ranged requests for a large file."""
DEFAULT_RETRIES = 5
"""Retries per URL (and per part) after the first attempt."""
DEFAULT_BACKOFF = 0.5
"""Seconds before the first retry; doubled for each further one."""
DEFAULT_TIMEOUT = 30.0
"""Seconds to connect, or to wait for the next bytes, before giving up on an attempt."""
DEFAULT_PARALLEL_THRESHOLD = 8 * 1024 * 1024
"""Files at least this large (and of known size) are fetched in parallel parts."""
MAX_RESTARTS = 3
"""Times one URL may send us back to byte zero (file changed, ranges ignored) per call."""

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_USER_AGENT = "music-reasoning (model downloader)"


def download_model(
    urls: Sequence[str],
    dest: str | os.PathLike[str],
    *,
    sha256: str,
    size: int | None = None,
    parts: int = DEFAULT_PARTS,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool | None = None,
    client: httpx.Client | None = None,
    parallel_threshold: int = DEFAULT_PARALLEL_THRESHOLD,
    headers: Mapping[str, str] | None = None,
) -> Path:
    """Download a model file to ``dest`` and return it once its SHA-256 is verified.

    If ``dest`` already holds the verified file, it is returned without any request.

    Args:
        urls: the primary URL, then mirrors, tried in that order.
        dest: where the verified file ends up (its folder is created).
        sha256: the expected hex SHA-256 of the whole file.
        size: the expected size in bytes, if known; a server announcing another size is
            skipped like a failing mirror.
        parts: parallel ranged requests for files of at least ``parallel_threshold`` bytes.
        retries: retries per URL (and per part) for network errors, 5xx, 408 and 429.
        backoff: seconds before the first retry, doubled for each further one.
        timeout: seconds to connect or to wait for more bytes, per attempt.
        progress: show a progress bar on stderr; by default only when stderr is a terminal.
        client: an ``httpx.Client`` to use (not closed here); by default a new one.
        parallel_threshold: the size from which a file is fetched in ``parts`` parts.
        headers: extra request headers (a Hub token's ``Authorization``) for a client made
            here; ``httpx`` drops ``Authorization`` on a redirect to another origin.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        InvalidInputError: an argument is out of range (no URL, a malformed hash, …).
        DownloadError: every URL failed; ``url``/``status_code`` name the last failure,
            ``details["attempts"]`` lists each. The partial is kept for a later resume.
        CorruptedModelError: the downloaded bytes do not match ``sha256`` (both hashes
            are in the message and details); the partial is deleted.
        InsufficientDiskError: the disk cannot hold the bytes still to fetch.
    """
    sources = _validate(
        urls,
        sha256=sha256,
        size=size,
        parts=parts,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        parallel_threshold=parallel_threshold,
    )
    target = Path(dest).expanduser().absolute()
    expected = sha256.lower()
    if is_verified(target, expected):
        logger.debug("%s is already downloaded and verified", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("waiting for another download of %s to finish", target)
        lock.acquire()
    try:
        if is_verified(target, expected) or adopt_existing(target, expected):
            return target
        enabled = progress if progress is not None else _stderr_is_tty()
        job = _Job(
            target=target,
            expected=expected,
            size=size,
            parts=parts,
            threshold=parallel_threshold,
            policy=RetryPolicy(retries=retries, backoff=backoff),
            timeout=timeout,
            progress=Progress(enabled=enabled, desc=target.name),
        )
        http = client if client is not None else _new_client(timeout, headers)
        try:
            return job.run(http, sources)
        finally:
            job.progress.close()
            if client is None:
                http.close()
    finally:
        lock.release()


def _validate(
    urls: Sequence[str],
    *,
    sha256: str,
    size: int | None,
    parts: int,
    retries: int,
    backoff: float,
    timeout: float,
    parallel_threshold: int,
) -> list[str]:
    if isinstance(urls, str):
        urls = [urls]
    sources = [str(url) for url in urls]
    problems: list[str] = []
    if not sources:
        problems.append("at least one URL is needed")
    problems += [
        f"{redact_url(url)!r} is not an http(s) URL"
        for url in sources
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc
    ]
    if not _SHA256.match(sha256):
        problems.append(f"sha256 must be 64 hex digits, got {sha256!r}")
    checks = [
        (size is None or size >= 0, f"size must be >= 0, got {size}"),
        (parts >= 1, f"parts must be >= 1, got {parts}"),
        (retries >= 0, f"retries must be >= 0, got {retries}"),
        (backoff >= 0, f"backoff must be >= 0, got {backoff}"),
        (timeout > 0, f"timeout must be > 0, got {timeout}"),
        (parallel_threshold >= 0, f"parallel_threshold must be >= 0, got {parallel_threshold}"),
    ]
    problems += [message for ok, message in checks if not ok]
    if problems:
        raise InvalidInputError(
            "Cannot download: " + "; ".join(problems) + ".",
            suggestion="Pass http(s) URLs, the file's SHA-256 and non-negative limits.",
            details={"urls": [redact_url(url) for url in sources], "sha256": sha256},
        )
    return sources


def _stderr_is_tty() -> bool:
    stream = sys.stderr
    return stream is not None and stream.isatty()


def _new_client(timeout: float, headers: Mapping[str, str] | None = None) -> httpx.Client:
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": _USER_AGENT, **(headers or {})},
    )


class _Job:
    """One call of :func:`download_model`, run while holding the lock."""

    def __init__(
        self,
        *,
        target: Path,
        expected: str,
        size: int | None,
        parts: int,
        threshold: int,
        policy: RetryPolicy,
        timeout: float,
        progress: Progress,
    ) -> None:
        self.target = target
        self.expected = expected
        self.size = size
        self.parts = parts
        self.threshold = threshold
        self.policy = policy
        self.timeout = timeout
        self.progress = progress
        self.partial = target.with_name(target.name + ".partial")
        self.sidecar = target.with_name(target.name + ".partial.json")

    def run(self, client: httpx.Client, sources: list[str]) -> Path:
        failures: list[DownloadError] = []
        for index, url in enumerate(sources):
            try:
                self._fetch_from(client, url)
            except DownloadError as exc:
                failures.append(exc)
                if index + 1 < len(sources):
                    logger.warning(
                        "giving up on %s (%s); trying the next mirror", redact_url(url), exc.message
                    )
                continue
            self.progress.close()  # the bar ends before hashing and the final log line
            return self._publish(url)
        if len(failures) == 1:
            raise failures[0]
        raise self._all_failed(failures) from failures[-1]

    def _fetch_from(self, client: httpx.Client, url: str) -> None:
        restarts = 0
        single = False
        while True:
            remote = probe(client, url, timeout=self.timeout, policy=self.policy)
            state = self._prepare(url, remote, single=single)
            self.progress.start(total=state.size, done=state.done)
            transfer = Transfer(
                client=client,
                url=url,
                partial=self.partial,
                sidecar=self.sidecar,
                state=state,
                policy=self.policy,
                timeout=self.timeout,
                progress=self.progress,
            )
            try:
                transfer.run()
                return
            except RestartNeeded as exc:
                restarts += 1
                single = single or exc.ranges_ignored
                self._discard()
                if restarts > MAX_RESTARTS:
                    raise DownloadError(
                        f"{redact_url(url)} kept changing or ignoring ranges ({restarts} "
                        "restarts).",
                        suggestion="Try again later, or use another mirror.",
                        url=redact_url(url),
                    ) from exc
                logger.warning("%s; starting %s over from zero", exc, self.target.name)

    def _prepare(self, url: str, remote: RemoteFile, *, single: bool) -> PartialState:
        """Return the state to continue: the saved one if still valid, else a fresh partial.

        Raises:
            DownloadError: the server announces a size other than the expected one.
            InsufficientDiskError: the bytes still to fetch do not fit on the disk.
        """
        if None not in (remote.size, self.size) and remote.size != self.size:
            raise DownloadError(
                f"{redact_url(url)} announces {remote.size} bytes, but the model has {self.size}.",
                suggestion="The URL serves a different file: check it, or use another mirror.",
                url=redact_url(url),
            )
        total = remote.size if remote.size is not None else self.size
        state = self._resumable(remote, total)
        if state is not None:
            state.url = url
            logger.info(
                "resuming %s at byte %d of %s from %s",
                self.target.name,
                state.done,
                state.size,
                redact_url(url),
            )
            if state.size is not None:
                check_disk(self.target.parent, state.size - allocated_bytes(self.partial))
            return state
        self._discard()
        parallel = (
            not single
            and self.parts > 1
            and total is not None
            and total >= self.threshold
            and remote.accept_ranges
        )
        layout = plan_parts(total, self.parts if parallel else 1)
        state = PartialState(url, self.expected, total, remote.etag, remote.last_modified, layout)
        if total is not None:
            check_disk(self.target.parent, total)
        logger.info(
            "downloading %s (%s bytes, %d part(s)) from %s",
            self.target.name,
            total if total is not None else "unknown",
            len(layout),
            redact_url(url),
        )
        self.partial.write_bytes(b"")
        if not state.single and total is not None:
            preallocate(self.partial, total)
        save_sidecar(self.sidecar, state)
        return state

    def _resumable(self, remote: RemoteFile, total: int | None) -> PartialState | None:
        if not self.partial.is_file():
            return None
        state = load_sidecar(self.sidecar)
        if state is None:
            return None
        reason = None
        if state.sha256 != self.expected:
            reason = "it was started for another SHA-256"
        elif None not in (state.size, total) and state.size != total:
            reason = f"its size {state.size} differs from the server's {total}"
        elif remote.etag and state.etag and remote.etag != state.etag:
            reason = f"the ETag changed from {state.etag} to {remote.etag}"
        elif (
            not (remote.etag and state.etag)
            and remote.last_modified
            and state.last_modified
            and remote.last_modified != state.last_modified
        ):
            reason = "Last-Modified changed"
        if reason:
            logger.info("not resuming %s: %s", self.partial, reason)
            return None
        if state.single:  # a sidecar may lag the file, never lead it; trust the smaller
            part = state.parts[0]
            part.done = min(part.done, self.partial.stat().st_size)
        return state

    def _discard(self) -> None:
        self.partial.unlink(missing_ok=True)
        self.sidecar.unlink(missing_ok=True)

    def _publish(self, url: str) -> Path:
        """Verify the partial, then atomically make it ``dest``.

        Raises:
            CorruptedModelError: the hash does not match (partial and sidecar deleted).
        """
        actual = sha256_file(self.partial)
        if actual != self.expected:
            size = self.partial.stat().st_size
            self._discard()
            raise CorruptedModelError(
                f"The file downloaded from {redact_url(url)} has SHA-256 {actual}, "
                f"but {self.expected} was expected.",
                suggestion=(
                    "The server sent other bytes than published: check the expected hash, "
                    "then download again (the bad copy was deleted), or use another mirror."
                ),
                details={
                    "path": str(self.target),
                    "url": redact_url(url),
                    "size": size,
                    "expected_sha256": self.expected,
                    "actual_sha256": actual,
                },
            )
        with self.partial.open("rb") as fh:
            os.fsync(fh.fileno())
        marker_path(self.target).unlink(missing_ok=True)
        os.replace(self.partial, self.target)
        fsync_dir(self.target.parent)
        write_marker(self.target, self.expected)
        self.sidecar.unlink(missing_ok=True)
        logger.info("downloaded and verified %s (sha256 %s)", self.target, actual)
        return self.target

    def _all_failed(self, failures: list[DownloadError]) -> DownloadError:
        last = failures[-1]
        summary = "; ".join(f"{f.url}: {f.message}" for f in failures)
        return DownloadError(
            f"Could not download {self.target.name} from any of {len(failures)} URLs: {summary}",
            suggestion=last.suggestion,
            details={"attempts": [f.to_dict() for f in failures]},
            url=last.url,
            status_code=last.status_code,
            transient=last.transient,
        )
