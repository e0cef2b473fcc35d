"""Batch files: prompts in (one per line, or JSONL), answers out as JSONL, resumable.

Input lines are either plain text (one prompt per line; blank lines skipped) or JSON
objects with a ``prompt`` field and an optional ``id``.  Each answer is appended to the
output file and flushed as soon as it is ready, as ``{"id", "index", "prompt", "text",
"error", "metrics"}`` (``index``: the item's place among the file's prompts).  Rerunning
with the same output skips every item already answered, so an interrupted run resumes
where it stopped.  Items that failed are tried again (the cause may be gone: a raised
limit, an edited line) and their new line follows the old one: the last line for an id
is its answer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from music_reasoning.engine.local import BatchItem, LocalEngine
from music_reasoning.errors import InvalidInputError
from music_reasoning.params import GenerationParams

__all__ = ["BatchFileSummary", "read_prompts", "run_batch_file"]


@dataclass(frozen=True)
class BatchFileSummary:
    """Counts of one run over a batch file."""

    total: int
    skipped: int
    answered: int
    failed: int
    output: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_prompts(path: Path) -> list[tuple[str, str]]:
    """Return (id, prompt) pairs from a text or JSONL file.

    Raises:
        InvalidInputError: the file is missing, or a JSON line has no ``prompt``.
    """
    if not path.is_file():
        raise InvalidInputError(f"No batch file at {path}.", suggestion="Check the path.")
    items: list[tuple[str, str]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path}:{lineno} is not valid JSON: {exc}") from exc
            if not isinstance(obj, dict) or "prompt" not in obj:
                raise InvalidInputError(f"{path}:{lineno} has no 'prompt' field.")
            items.append((str(obj.get("id", lineno)), str(obj["prompt"])))
        else:
            items.append((str(lineno), line.strip()))
    return items


def _answered(output: Path) -> set[str]:
    done: set[str] = set()
    if not output.is_file():
        return done
    for line in output.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash: answer that item again
        if isinstance(obj, dict) and obj.get("error") is None and "id" in obj:
            done.add(str(obj["id"]))
    return done


def run_batch_file(
    engine: LocalEngine,
    source: Path,
    output: Path,
    params: GenerationParams,
    *,
    on_progress: Callable[[int], object] | None = None,
) -> BatchFileSummary:
    """Answer every prompt of ``source`` not yet answered in ``output``.

    ``on_progress(n)`` is called with the number of items just finished.
    """
    items = read_prompts(source)
    done = _answered(output)
    todo = [(n, i, p) for n, (i, p) in enumerate(items) if i not in done]
    failed = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("a", encoding="utf-8") as fh:
        # A crash mid-line leaves a fragment: start on a fresh line.
        if output.stat().st_size and not output.read_bytes().endswith(b"\n"):
            fh.write("\n")

        def write(item: BatchItem) -> None:
            nonlocal failed
            failed += 0 if item.ok else 1
            place, item_id, _ = todo[item.index]
            record = {"id": item_id, **item.to_dict(), "index": place}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            if on_progress:
                on_progress(1)

        engine.batch([p for _, _, p in todo], params, on_item=write)
    return BatchFileSummary(
        total=len(items),
        skipped=len(items) - len(todo),
        answered=len(todo) - failed,
        failed=failed,
        output=str(output),
    )
