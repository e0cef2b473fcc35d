"""A persistent, bounded cache of explanations in one SQLite file.

Layout::

    $MUSIC_REASONING_HOME/cache/                  (or ~/.cache/music-reasoning)
      explanations.sqlite3                        the cache (WAL mode)
      explanations.sqlite3-wal, -shm              SQLite's write-ahead log and index
      explanations.sqlite3.lock                   held only while a corrupt file is replaced
      explanations.sqlite3.corrupt-<time>-<pid>   the last corrupt file, moved aside and kept
                                                  (older copies are deleted: at most one)

One table ``entries(key, value, created, last_used)``: ``key`` is
:meth:`ExplanationCache.make_key` (SHA-256 of a canonical JSON of the normalized input),
``value`` the JSON of the cached dict, ``last_used`` the wall-clock time in
nanoseconds of the last hit.  After an insert that takes the table past
``max_entries`` the least recently used rows go (ties: oldest row first).

Concurrency: WAL lets readers and one writer work at once across processes; every
statement is its own short transaction with a busy timeout, a hit is a single
``UPDATE ... RETURNING`` statement, and an insert plus its eviction is one
``BEGIN IMMEDIATE`` transaction.  Inside a process the one connection is shared by
all threads under a lock.

Failure policy: the cache never breaks the caller.  A file that is not a database or
is damaged is moved aside and rebuilt (under a file lock, so only one process does
it); any other SQLite error at run time is logged as a warning and reads as a miss
(or a skipped write), and the next call reconnects (a cache that cannot be opened at
all is tried again at most every 30 s).  A cache in a read-only folder (or one it
cannot create) is off for the life of the instance, with one WARNING per folder and
process; other failures warn once per instance, and later ones are logged at DEBUG.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import sqlite3
import statistics
import tempfile
import threading
import time
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from music_reasoning.config import cache_dir
from music_reasoning.errors import InvalidInputError

__all__ = ["CACHE_FILENAME", "DEFAULT_MAX_ENTRIES", "ExplanationCache", "measure_hit_latency"]

logger = logging.getLogger(__name__)

CACHE_FILENAME = "explanations.sqlite3"
DEFAULT_MAX_ENTRIES = 10000
BUSY_TIMEOUT_S = 5.0
REOPEN_DELAY_S = 30.0
KEY_VERSION = 1
SCHEMA_VERSION = 1
_CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_off_folders: set[Path] = set()  # folders found unwritable in this process (warned once)
_off_lock = threading.Lock()
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key       TEXT PRIMARY KEY,
    value     TEXT NOT NULL,
    created   INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_last_used ON entries (last_used);
"""


def _normalize(value: Any) -> Any:
    """Reduce ``value`` to JSON types so equal inputs give equal canonical text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"Cannot key a cache entry on {value!r}.")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(_normalize(k)): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [_normalize(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _normalize(to_dict())
    raise InvalidInputError(
        f"Cannot key a cache entry on a {type(value).__name__}.",
        suggestion="Pass JSON-like data: mappings, sequences, strings, numbers, booleans.",
    )


def _is_corrupt(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _CORRUPT_CODES


def _read_only(folder: Path) -> bool:
    """Whether nothing can be created in ``folder`` (read-only mount, or no write access)."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except (OSError, AttributeError):  # pragma: no cover - statvfs is POSIX
        pass
    return not os.access(folder, os.W_OK | os.X_OK)


class ExplanationCache:
    """Persistent explanations, keyed by model, kind, input and parameters.

    Args:
        path: The SQLite file (default: ``cache_dir() / "explanations.sqlite3"``).
        max_entries: Keep at most this many entries; least recently used go first.

    Raises:
        InvalidInputError: ``max_entries`` is not a positive integer.

    Example:
        >>> with ExplanationCache() as cache:
        ...     key = ExplanationCache.make_key(
        ...         model="gemma:1234", kind="chord", data={"symbol": "G7"}, params={}
        ...     )
        ...     cache.put(key, {"explanation": "G7 is ..."})
        ...     cache.get(key)["explanation"]
        'G7 is ...'
    """

    def __init__(self, path: Path | None = None, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidInputError(
                f"max_entries must be a positive integer, got {max_entries!r}.",
                suggestion="Set MUSIC_REASONING_CACHE_MAX_ENTRIES to e.g. 10000.",
            )
        self.path = Path(path) if path is not None else cache_dir() / CACHE_FILENAME
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._retry_at = 0.0
        self._warned = False
        with self._lock:
            self._open()
            if self._conn is None:
                self._retry_at = time.monotonic() + REOPEN_DELAY_S

    # -- keys ------------------------------------------------------------------------
    @staticmethod
    def make_key(
        *, model: str, kind: str, data: Mapping[str, Any], params: Mapping[str, Any]
    ) -> str:
        """Return the cache key for one explanation request (64 hex digits).

        The inputs are normalized (Unicode NFC, tuples as lists, ``1.0`` as ``1``,
        sets sorted, objects with ``to_dict()`` by their dict) and written as JSON
        with sorted keys, so the same request always gives the same key.

        Args:
            model: A digest that identifies the model (file, or cloud endpoint + name).
            kind: What is explained: ``chord``, ``scale``, ``progression``, ...
            data: The input that was explained.
            params: Everything else that changes the answer (temperature, prompt version).

        Raises:
            InvalidInputError: a value cannot be represented as JSON.
        """
        payload = {
            "v": KEY_VERSION,
            "model": _normalize(model),
            "kind": _normalize(kind),
            "data": _normalize(data),
            "params": _normalize(params),
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    # -- the cache -------------------------------------------------------------------
    def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached dict for ``key`` and mark it used, or ``None`` on a miss.

        SQLite failures are logged and read as a miss.
        """
        with self._lock:
            row = self._run("get", self._get, key)
            if row is None:
                self.misses += 1
                return None
            try:
                value = json.loads(row)
            except ValueError:
                logger.warning("cache entry %s… is not JSON; treating it as a miss", key[:12])
                self.misses += 1
                return None
            if not isinstance(value, dict):
                self.misses += 1
                return None
            self.hits += 1
            return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` (a JSON-ready dict) under ``key``, evicting the least recently used.

        A value that is not JSON-ready, or a SQLite failure, is logged and skipped.
        """
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            logger.warning("cache entry %s… not stored: %s", key[:12], exc)
            return
        with self._lock:
            self._run("put", self._put, key, text)

    def clear(self) -> None:
        """Remove every entry (the file stays) and reset the hit and miss counters."""
        with self._lock:
            self._run("clear", lambda conn: conn.execute("DELETE FROM entries"))
            self.hits = self.misses = 0

    def stats(self) -> dict[str, Any]:
        """Return ``entries``, ``max_entries``, ``path`` and this instance's ``hits``/``misses``."""
        with self._lock:
            count = self._run(
                "stats", lambda conn: conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            )
            return {
                "entries": int(count or 0),
                "max_entries": self.max_entries,
                "hits": self.hits,
                "misses": self.misses,
                "path": str(self.path),
            }

    def close(self) -> None:
        """Close the database; later calls are misses and skipped writes."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error as exc:  # pragma: no cover - close rarely fails
                    logger.warning("closing the cache %s failed: %s", self.path, exc)
                self._conn = None

    def __enter__(self) -> ExplanationCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- statements (called with the lock held) --------------------------------------
    @staticmethod
    def _get(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute(
            "UPDATE entries SET last_used = ? WHERE key = ? RETURNING value",
            (time.time_ns(), key),
        ).fetchone()
        return None if row is None else str(row[0])

    def _put(self, conn: sqlite3.Connection, key: str, text: str) -> None:
        now = time.time_ns()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO entries (key, value, created, last_used) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "last_used = excluded.last_used",
                (key, text, now, now),
            )
            (count,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
            excess = int(count) - self.max_entries
            if excess > 0:
                conn.execute(
                    "DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries "
                    "ORDER BY last_used, rowid LIMIT ?)",
                    (excess,),
                )
                logger.debug("cache evicted %d least recently used entries", excess)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _run(self, what: str, func: Any, *args: Any) -> Any:
        """Run ``func(conn, *args)``; SQLite errors become a warning and ``None``."""
        if self._conn is None:
            if self._closed or time.monotonic() < self._retry_at:
                return None
            self._open()
            if self._conn is None:
                self._retry_at = time.monotonic() + REOPEN_DELAY_S  # no retry storm
                return None
        try:
            return func(self._conn, *args)
        except sqlite3.Error as exc:
            if _is_corrupt(exc):
                logger.warning("cache %s is damaged (%s); rebuilding it", self.path, exc)
                self._drop_connection()
                self._open(force_check=True)
            else:
                self._warn("cache %s failed (%s); continuing without it", what, exc)
                self._drop_connection()  # the next call reconnects (and recreates the schema)
            return None

    # -- opening and repair ------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {verdict}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self, *, force_check: bool = False) -> None:
        """Open (creating, or replacing a corrupt file); on failure leave the cache off."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._off_for_good("cache directory %s unusable (%s); caching is off", exc)
            return
        if _read_only(self.path.parent):
            self._off_for_good("cache folder %s is read-only (%s); caching is off", "EROFS")
            return
        if not force_check:
            try:
                self._conn = self._connect()
                return
            except sqlite3.DatabaseError as exc:
                if not (_is_corrupt(exc) or "quick_check" in str(exc)):
                    self._warn("cache %s unavailable (%s); caching is off", self.path, exc)
                    return
                logger.warning("cache %s is damaged (%s); rebuilding it", self.path, exc)
            except sqlite3.Error as exc:
                self._warn("cache %s unavailable (%s); caching is off", self.path, exc)
                return
        self._rebuild()

    def _warn(self, message: str, *args: object) -> None:
        """Log a failure: the first of this instance as a WARNING, the rest at DEBUG."""
        (logger.debug if self._warned else logger.warning)(message, *args)
        self._warned = True

    def _off_for_good(self, message: str, reason: object) -> None:
        """Nothing can be written where the cache lives: off, without retries.

        Warned once per folder and process (a command may open several caches there).
        """
        with _off_lock:
            first = self.path.parent not in _off_folders
            _off_folders.add(self.path.parent)
        if first:
            self._warn(message, self.path.parent, reason)
        else:
            logger.debug(message, self.path.parent, reason)
        self._warned = True
        self._closed = True

    def _rebuild(self) -> None:
        """Move a damaged file aside and start a fresh one; one process at a time."""
        lock = FileLock(str(self.path) + ".lock", timeout=BUSY_TIMEOUT_S * 2)
        try:
            with lock:
                try:  # another process may have rebuilt it while we waited
                    self._conn = self._connect()
                    return
                except sqlite3.Error as exc:
                    logger.debug("cache still unusable under the lock: %s", exc)
                stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
                aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
                for suffix in ("", "-wal", "-shm"):
                    src = Path(str(self.path) + suffix)
                    if src.exists():
                        os.replace(src, Path(str(aside) + suffix))
                logger.warning("moved the damaged cache to %s", aside)
                self._remove_older_copies(aside)
                self._conn = self._connect()
        except (Timeout, OSError, sqlite3.Error) as exc:
            self._warn("cache %s could not be rebuilt (%s); caching is off", self.path, exc)
            self._conn = None

    def _remove_older_copies(self, kept: Path) -> None:
        """Delete every ``.corrupt-*`` copy (and its -wal/-shm) but ``kept``: at most one."""
        for old in self.path.parent.glob(f"{self.path.name}.corrupt-*"):
            if old.name in (kept.name, f"{kept.name}-wal", f"{kept.name}-shm"):
                continue
            try:
                old.unlink()
                logger.info("deleted an older damaged cache copy %s", old)
            except OSError as exc:
                logger.debug("could not delete %s: %s", old, exc)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


def measure_hit_latency(
    n: int = 1000, *, entries: int = 1000, path: Path | None = None
) -> dict[str, Any]:
    """Measure cache hit latency: ``n`` random hits on a cache holding ``entries`` answers.

    Each value is a realistic explanation record (about 600 bytes of text plus metrics).
    The cache lives in a temporary directory unless ``path`` is given.

    Returns:
        ``n``, ``entries``, ``p50_ms``, ``p95_ms``, ``p99_ms``, ``max_ms``, ``mean_ms``,
        ``sqlite`` (the library version) and ``path``.
    """
    import random

    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="mr-cache-bench-") as tmp:
        file = path or Path(tmp) / CACHE_FILENAME
        with ExplanationCache(file, max_entries=max(entries, 1)) as cache:
            keys = [
                ExplanationCache.make_key(
                    model="bench", kind="chord", data={"i": i}, params={"temperature": 0.3}
                )
                for i in range(entries)
            ]
            for i, key in enumerate(keys):
                cache.put(
                    key,
                    {
                        "explanation": f"Answer {i}: " + "G7 is a dominant seventh chord. " * 18,
                        "verified": True,
                        "corrections": [],
                        "metrics": {"model": "bench", "prompt_tokens": 120, "total_ms": 812.5},
                    },
                )
            timings: list[float] = []
            for _ in range(n):
                key = rng.choice(keys)
                started = time.perf_counter()
                hit = cache.get(key)
                timings.append((time.perf_counter() - started) * 1000)
                if hit is None:  # pragma: no cover - would make the figure meaningless
                    raise RuntimeError("benchmark entry missing from the cache")
    timings.sort()

    def pct(p: float) -> float:
        return round(timings[min(len(timings) - 1, math.ceil(p * len(timings)) - 1)], 4)

    return {
        "n": n,
        "entries": entries,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(timings[-1], 4),
        "mean_ms": round(statistics.fmean(timings), 4),
        "sqlite": sqlite3.sqlite_version,
        "path": str(file),
    }
