"""The files beside a download: the ``.partial`` sidecar, the ``.sha256`` marker, disk space.

Internal to :mod:`music_reasoning.models.download`; the layout and formats are described there.
Both small files are written with :func:`~music_reasoning.config.atomic_write`: whole or
not at all, so a write that fails (full disk, read-only folder) keeps the previous
version, leaves no temporary file, and raises ``INSUFFICIENT_DISK`` or
``STORAGE_UNAVAILABLE``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from music_reasoning.config import SECRET_MODE, atomic_write
from music_reasoning.errors import InsufficientDiskError
from music_reasoning.models.files import sha256_file

__all__ = [
    "SIDECAR_VERSION",
    "Part",
    "PartialState",
    "adopt_existing",
    "allocated_bytes",
    "check_disk",
    "fsync_dir",
    "is_verified",
    "load_sidecar",
    "marker_path",
    "parse_content_range",
    "plan_parts",
    "preallocate",
    "save_sidecar",
    "write_marker",
]

logger = logging.getLogger(__name__)

SIDECAR_VERSION = 1
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


@dataclass
class Part:
    """One byte range of the file: ``[start, end)``, of which ``done`` bytes are on disk.

    ``end`` is ``None`` while the total size is unknown (a single stream without
    Content-Length); it is filled in when the stream ends.
    """

    start: int
    end: int | None
    done: int = 0

    @property
    def offset(self) -> int:
        """The file offset of the next byte to fetch."""
        return self.start + self.done

    @property
    def remaining(self) -> int | None:
        """Bytes still to fetch, or ``None`` when the end is unknown."""
        return None if self.end is None else self.end - self.offset

    @property
    def complete(self) -> bool:
        """Whether every byte of the range is on disk."""
        return self.end is not None and self.offset >= self.end


@dataclass
class PartialState:
    """What the sidecar records about a ``.partial`` file."""

    url: str
    sha256: str
    size: int | None
    etag: str | None
    last_modified: str | None
    parts: list[Part] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Bytes already on disk, over all parts."""
        return sum(part.done for part in self.parts)

    @property
    def complete(self) -> bool:
        """Whether every part is complete."""
        return all(part.complete for part in self.parts)

    @property
    def single(self) -> bool:
        """Whether the file is fetched as one stream (the layout is fixed when started)."""
        return len(self.parts) == 1

    def if_range(self) -> str | None:
        """Return the validator to send as ``If-Range``: a strong ETag, else Last-Modified."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified or None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object written to the sidecar."""
        return {
            "version": SIDECAR_VERSION,
            "url": self.url,
            "sha256": self.sha256,
            "size": self.size,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "parts": [{"start": p.start, "end": p.end, "done": p.done} for p in self.parts],
        }

    @classmethod
    def from_json(cls, data: Any) -> PartialState | None:
        """Rebuild a state from sidecar JSON; ``None`` when it is not a sidecar we wrote."""
        try:
            if data["version"] != SIDECAR_VERSION:
                return None
            parts = [_part_from_json(item) for item in data["parts"]]
            state = cls(
                url=str(data["url"]),
                sha256=str(data["sha256"]),
                size=_optional_int(data["size"]),
                etag=_optional_str(data["etag"]),
                last_modified=_optional_str(data["last_modified"]),
                parts=parts,
            )
        except (KeyError, TypeError, ValueError):
            return None
        return state if _consistent(state) else None


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(value)
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _part_from_json(item: Any) -> Part:
    start = _optional_int(item["start"])
    done = _optional_int(item["done"])
    if start is None or done is None:
        raise ValueError(item)
    return Part(start=start, end=_optional_int(item["end"]), done=done)


def _consistent(state: PartialState) -> bool:
    """Check that the parts tile ``[0, size)`` in order and none overruns its range."""
    if not state.parts:
        return False
    position = 0
    for part in state.parts:
        if part.start != position:
            return False
        if part.end is None:  # only a single stream of unknown size
            return len(state.parts) == 1 and state.size is None
        if part.end < part.start or part.offset > part.end:
            return False
        position = part.end
    return position == state.size


def plan_parts(size: int | None, count: int) -> list[Part]:
    """Split ``[0, size)`` into ``count`` contiguous parts (one part when the size is unknown)."""
    if size is None:
        return [Part(0, None)]
    count = max(1, min(count, size)) if size else 1
    step, extra = divmod(size, count)
    parts: list[Part] = []
    start = 0
    for index in range(count):
        end = start + step + (1 if index < extra else 0)
        parts.append(Part(start, end))
        start = end
    return parts


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """Parse ``bytes first-last/total`` into ``(first, last_exclusive, total)``."""
    if not value:
        return None
    match = _CONTENT_RANGE.match(value)
    if not match:
        return None
    first, last, total = match.groups()
    return int(first), int(last) + 1, None if total == "*" else int(total)


def load_sidecar(path: Path) -> PartialState | None:
    """Read a sidecar; ``None`` when it is missing, unreadable or not ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable download sidecar %s: %s", path, exc)
        return None
    state = PartialState.from_json(data)
    if state is None:
        logger.warning("ignoring download sidecar %s: unknown format", path)
    return state


def save_sidecar(path: Path, state: PartialState) -> None:
    """Write the sidecar atomically (temporary file, then ``os.replace``).

    Raises:
        InsufficientDiskError: the disk is full (the previous sidecar is kept).
        StorageError: the folder cannot be written.
    """
    # 0600: the sidecar keeps the URLs, which may carry a password
    atomic_write(path, json.dumps(state.to_json(), indent=1).encode("utf-8"), mode=SECRET_MODE)


def marker_path(target: Path) -> Path:
    """The ``.sha256`` marker that proves ``target`` was verified."""
    return target.with_name(target.name + ".sha256")


def _stamp(target: Path) -> str:
    st = target.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def write_marker(target: Path, expected: str) -> None:
    """Record that ``target`` (as it is now: size, mtime) has the SHA-256 ``expected``.

    Raises:
        InsufficientDiskError, StorageError: the marker cannot be written (none is left).
    """
    atomic_write(marker_path(target), f"{expected} {_stamp(target)}".encode())


def is_verified(target: Path, expected: str) -> bool:
    """Whether ``target`` has a marker for ``expected`` matching its current size and mtime."""
    return recorded_digest(target) == expected


def recorded_digest(target: Path) -> str | None:
    """The SHA-256 a still-valid marker records for ``target``, or None."""
    try:
        digest, _, stamp = marker_path(target).read_text().strip().partition(" ")
        return digest if stamp == _stamp(target) and len(digest) == 64 else None
    except OSError:
        return None


def adopt_existing(target: Path, expected: str) -> bool:
    """Accept a ``dest`` that has no marker but the right hash (e.g. copied in by hand)."""
    if not target.is_file():
        return False
    if sha256_file(target) == expected:
        write_marker(target, expected)
        return True
    logger.warning("%s does not match the expected SHA-256; downloading it again", target)
    return False


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX only)."""
    if os.name != "posix":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def allocated_bytes(path: Path) -> int:
    """Bytes the file really occupies on disk (a preallocated file already holds its room)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return 0
    blocks = getattr(st, "st_blocks", None)
    return min(st.st_size, blocks * 512) if blocks is not None else st.st_size


def check_disk(folder: Path, needed: int) -> None:
    """Raise when ``folder``'s disk has fewer than ``needed`` free bytes.

    Raises:
        InsufficientDiskError: the bytes still to fetch do not fit.
    """
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise InsufficientDiskError(
            f"Not enough disk space in {folder}: the download needs {needed:,} more bytes "
            f"({needed / 2**20:.1f} MiB) but only {free:,} bytes ({free / 2**20:.1f} MiB) "
            "are free.",
            details={"path": str(folder), "needed_bytes": needed, "free_bytes": free},
        )


def preallocate(path: Path, size: int) -> None:
    """Reserve ``size`` bytes for ``path`` (real blocks when the OS can, else a sparse file)."""
    with path.open("r+b") as fh:
        if size and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fh.fileno(), 0, size)
                return
            except OSError as exc:  # e.g. EOPNOTSUPP: fall back to a sparse file
                logger.debug("posix_fallocate(%s) failed: %s", path, exc)
        fh.truncate(size)
