"""Batch files: prompts in (one per line, or JSONL), answers out as JSONL, resumable.

Input is UTF-8 text (a byte-order mark is allowed).  Each non-blank line is either
plain text (one prompt) or a JSON object with a ``prompt`` string and an optional
``id`` (a string or an integer).  A plain line's id is its line number, so ids must be
unique across the file: a JSON ``id`` equal to another line's id (or line number) is
refused with INVALID_INPUT naming both lines, before any prompt is asked.  So are a
file that is not UTF-8 text (a NUL byte, an invalid byte: binary or UTF-16), a JSON
line without a ``prompt`` string, and an ``id`` that is neither a string nor an
integer; each error names the file and line.

Each answer is appended to the output file and flushed to disk as soon as it is ready,
as ``{"id", "index", "prompt", "text", "error", "metrics"}`` (``index``: the item's
place among the file's prompts).  Rerunning with the same output skips every item
already answered, so an interrupted run resumes where it stopped.  Items that failed
are tried again (the cause may be gone: a raised limit, an edited line) and their new
line follows the old one: the last line for an id is its answer.

Writing never leaves half a record: each line is written whole, and a write that fails
(a full disk) is cut back to the last complete line before the error is raised.  A
line torn by a crash (or bytes that are not a record) is skipped when the answers are
read back, and that item is answered again.  Output that cannot be written is
STORAGE_UNAVAILABLE (a folder, a read-only or special file) or INSUFFICIENT_DISK,
raised before the model is loaded when the file cannot even be opened.
"""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from music_reasoning.engine.local import BatchItem, LocalEngine
from music_reasoning.errors import (
    InvalidInputError,
    MusicReasoningError,
    not_a_file,
    storage_error,
)
from music_reasoning.models.files import is_file
from music_reasoning.params import GenerationParams

__all__ = ["BatchFile", "BatchFileSummary", "read_prompts", "run_batch_file"]

logger = logging.getLogger(__name__)

#: ``on_progress(n, failed)``: ``n`` items just finished, ``failed`` of them failed.
ProgressHook = Callable[[int, int], object]

_TEXT_HINT = "Save the file as UTF-8 text: one prompt per line, or one JSON object per line."


@dataclass(frozen=True)
class BatchFileSummary:
    """Counts of one run over a batch file.

    ``failed_ids`` names the items that got an error this run and ``errors`` counts
    them by error code; their lines in the output say why.
    """

    total: int
    skipped: int
    answered: int
    failed: int
    output: str
    failed_ids: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _not_text(path: Path, lineno: int, reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"{path}:{lineno} is not UTF-8 text ({reason}).",
        suggestion=_TEXT_HINT,
        details={"path": str(path), "line": lineno},
    )


def _decode(path: Path, lineno: int, raw: bytes) -> str:
    if b"\0" in raw:
        raise _not_text(path, lineno, "a NUL byte: a binary or UTF-16 file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise _not_text(path, lineno, f"byte 0x{bad:02X} at column {exc.start + 1}") from exc


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape
        return False
    return True


def _json_item(path: Path, lineno: int, line: str) -> tuple[str, str]:
    where = f"{path}:{lineno}"
    details = {"path": str(path), "line": lineno}
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{where} is not valid JSON: {exc}",
            suggestion="Fix the line, or remove its leading '{' to ask it as plain text.",
            details=details,
        ) from exc
    if not isinstance(obj, dict) or "prompt" not in obj:
        raise InvalidInputError(
            f"{where} has no 'prompt' field.",
            suggestion='Write each JSON line as {"id": "q1", "prompt": "What is a triad?"}.',
            details=details,
        )
    prompt, item_id = obj["prompt"], obj.get("id", lineno)
    if not isinstance(prompt, str) or not _is_text(prompt):
        got = type(prompt).__name__ if not isinstance(prompt, str) else "a lone surrogate"
        raise InvalidInputError(
            f"{where}: 'prompt' must be text, got {got}.",
            suggestion='Write the question as a JSON string: "prompt": "What is a triad?".',
            details=details,
        )
    if (
        isinstance(item_id, bool)
        or not isinstance(item_id, str | int)
        or not _is_text(str(item_id))
    ):
        raise InvalidInputError(
            f"{where}: 'id' must be a string or an integer, got {item_id!r}.",
            suggestion='Give the line an id such as "q1" or 7, or leave it out.',
            details=details,
        )
    return str(item_id), prompt


def read_prompts(path: Path) -> list[tuple[str, str]]:
    """Return (id, prompt) pairs from a text or JSONL file, ids unique.

    Raises:
        InvalidInputError: the file is missing or not UTF-8 text, a JSON line is not an
            object with a ``prompt`` string, or two lines have the same id.
        StorageError: the file cannot be read.
    """
    if not is_file(path):
        raise InvalidInputError(
            f"No batch file at {path}: it is {not_a_file(path)}.",
            suggestion="Check the path.",
            details={"path": str(path)},
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise storage_error(exc, path, "read") from exc
    data = data.removeprefix(b"\xef\xbb\xbf")
    items: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(data.splitlines(), 1):
        line = _decode(path, lineno, raw)
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            item_id, prompt = _json_item(path, lineno, line)
        else:
            item_id, prompt = str(lineno), line.strip()
        if item_id in seen:
            raise InvalidInputError(
                f"{path}:{lineno} has the id {item_id!r}, like line {seen[item_id]}: "
                "each prompt needs its own id (a plain line's id is its line number).",
                suggestion="Give one of the two lines another id.",
                details={"path": str(path), "id": item_id, "lines": [seen[item_id], lineno]},
            )
        seen[item_id] = lineno
        items.append((item_id, prompt))
    return items


def _answered(output: Path, data: bytes) -> set[str]:
    """Ids with an answer (no error) in the answers file's bytes."""
    done: set[str] = set()
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            # A line cut short by a crash, or not ours: that item is answered again.
            logger.info("%s:%d is not an answer record; skipped", output, lineno)
            continue
        if isinstance(obj, dict) and obj.get("error") is None and "id" in obj:
            done.add(str(obj["id"]))
    return done


class BatchFile:
    """A batch file and its answers file, checked and opened before any prompt is asked.

    Use as a context manager: ``with BatchFile(source, output) as job: job.run(...)``.
    Opening reads and checks every prompt, reads what ``output`` already answers, and
    opens ``output`` for appending, so bad input and unwritable output fail before the
    model is loaded.

    Raises:
        InvalidInputError: see :func:`read_prompts`; or ``output`` is ``source``.
        StorageError, InsufficientDiskError: ``output`` cannot be read or written.
    """

    def __init__(self, source: Path, output: Path) -> None:
        self.source, self.output = source, output
        self.items = read_prompts(source)
        self._fh: io.FileIO | None = None
        self._created = False
        self._regular = True
        self._done: set[str] = set()
        try:
            self._open()
        except MusicReasoningError:
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise storage_error(exc, output, "write", option="-o") from exc
        self.todo = [(n, i, p) for n, (i, p) in enumerate(self.items) if i not in self._done]

    def _open(self) -> None:
        output = self.output
        if output.exists() and output.samefile(self.source):
            raise InvalidInputError(
                f"The answers file {output} is the batch file itself.",
                suggestion="Give another file with -o (the default is SOURCE.answers.jsonl).",
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        self._created = not output.exists()
        fh = output.open("ab", buffering=0)
        self._fh = fh
        mode = os.fstat(fh.fileno()).st_mode
        self._regular = stat.S_ISREG(mode)
        data = b""
        if self._regular:  # a device (/dev/null) has nothing to resume and may never end
            with output.open("rb") as reader:
                data = reader.read()
        self._done = _answered(output, data)
        if data and not data.endswith(b"\n"):
            self._write(b"\n")  # a crash mid-line left a fragment: start on a fresh line

    def _write(self, data: bytes) -> None:
        """Append ``data`` whole and sync it; on failure cut back to where it started."""
        fh = self._fh
        if fh is None:
            raise ValueError("the answers file is closed")
        start = os.fstat(fh.fileno()).st_size if self._regular else 0
        try:
            view = memoryview(data)
            while view:
                written = fh.write(view)
                view = view[written or 0 :]
            if self._regular:
                os.fsync(fh.fileno())
        except OSError as exc:
            if self._regular:
                try:
                    os.ftruncate(fh.fileno(), start)
                except OSError:  # pragma: no cover - the next read skips the torn line
                    logger.warning("could not cut %s back to its last full line", self.output)
            raise storage_error(exc, self.output, "write", option="-o") from exc

    def run(
        self,
        engine: LocalEngine,
        params: GenerationParams,
        *,
        on_progress: ProgressHook | None = None,
    ) -> BatchFileSummary:
        """Answer every prompt not answered yet, appending each answer as it is ready.

        Raises:
            StorageError, InsufficientDiskError: an answer could not be written (the
                answers written so far stay; a rerun resumes).
        """
        todo = self.todo
        errors: Counter[str] = Counter()
        failed_ids: list[str] = []

        def write(item: BatchItem) -> None:
            place, item_id, _ = todo[item.index]
            record = {"id": item_id, **item.to_dict(), "index": place}
            line = json.dumps(record, ensure_ascii=False) + "\n"
            self._write(line.encode("utf-8"))
            if item.error is not None:
                errors[item.error.code] += 1
                failed_ids.append(item_id)
            if on_progress:
                on_progress(1, 0 if item.ok else 1)

        if todo:
            engine.batch([p for _, _, p in todo], params, on_item=write)
        failed = len(failed_ids)
        return BatchFileSummary(
            total=len(self.items),
            skipped=len(self.items) - len(todo),
            answered=len(todo) - failed,
            failed=failed,
            output=str(self.output),
            failed_ids=failed_ids,
            errors=dict(errors),
        )

    def close(self) -> None:
        """Close the answers file (removing it when this run created it and wrote nothing)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        empty = self._regular and os.fstat(fh.fileno()).st_size == 0
        fh.close()
        if self._created and empty:
            self.output.unlink(missing_ok=True)

    def __enter__(self) -> BatchFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def run_batch_file(
    engine: LocalEngine,
    source: Path,
    output: Path,
    params: GenerationParams,
    *,
    on_progress: ProgressHook | None = None,
) -> BatchFileSummary:
    """Answer every prompt of ``source`` not yet answered in ``output``.

    ``on_progress(n, failed)`` is called as items finish.  Raises like
    :class:`BatchFile` and :meth:`BatchFile.run`.
    """
    with BatchFile(source, output) as job:
        return job.run(engine, params, on_progress=on_progress)
