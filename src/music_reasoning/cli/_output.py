"""Output for every command: the ``--json`` option, the one JSON printer, progress.

The option records that JSON was asked for, and the printer that a document was
written, so that an error can be printed as ``{"error": ...}`` on stdout exactly when a
script reading stdout expects JSON and has not received a document yet.

:class:`Progress` reports long commands on stderr: a bar on a terminal, and otherwise
(a script, a CI log) a plain line such as ``batch: 12/40 prompts, 3 failed`` at the
start, every tenth of the work or every few seconds, and at the end.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import click

__all__ = ["Progress", "echo_json", "echo_rows", "error_json_pending", "json_option", "reset"]

_state = {"asked": False, "printed": False}


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _state["asked"] = True
    return value


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON.", callback=_remember
)


def echo_json(data: Any) -> None:
    """Print one JSON document on stdout.

    Text that cannot be UTF-8 (a lone surrogate from bytes in argv) is written as its
    JSON escape (``\\udcff``), which any JSON reader turns back into the same string.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"))
    _state["printed"] = True


def echo_rows(rows: Iterable[tuple[str, object]]) -> None:
    """Print ``key  value`` lines with the values in one column."""
    rows = list(rows)
    width = max((len(key) for key, _ in rows), default=0)
    for key, value in rows:
        click.echo(f"{key:{width}}  {value}")


def error_json_pending() -> bool:
    """Whether ``--json`` was given and no document has been printed yet."""
    return _state["asked"] and not _state["printed"]


def reset() -> None:
    """Forget the last command (the CLI may run several times in one process)."""
    _state.update(asked=False, printed=False)


class Progress:
    """Progress of a long command on stderr; nothing at all when ``quiet``.

    Args:
        label: the command (``batch``), the start of every plain line.
        unit: what is counted (``prompt``).
        total: how many there are, if known (:meth:`set_total` can tell it later).
        quiet: print nothing.
        interval: the longest wait, in seconds, between two plain lines.
        stream: where to write (stderr); a bar is drawn only when it is a terminal.
        clock: the time source (a test seam).
    """

    def __init__(
        self,
        label: str,
        *,
        unit: str,
        total: int | None = None,
        quiet: bool = False,
        interval: float = 5.0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.unit, self.total = label, unit, total
        self.done = self.failed = 0
        self._quiet, self._interval, self._clock = quiet, interval, clock
        self._stream = stream or sys.stderr
        self._last_time = clock()
        self._last_done = 0
        self._printed = False
        self._bar: Any = None
        if not quiet and self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=unit, file=self._stream)
        elif not quiet and total is not None:
            self._line()  # a log shows at once that the work started, and how much there is

    def set_total(self, total: int) -> None:
        """Tell how many items there are, once known."""
        self.total = total
        if self._bar is not None:
            self._bar.reset(total=total)
        elif not self._quiet:
            self._line()

    def update(self, n: int = 1, failed: int = 0) -> None:
        """Count ``n`` finished items, ``failed`` of them failed."""
        self.done += n
        self.failed += failed
        if self._quiet:
            return
        if self._bar is not None:
            if self.failed:
                self._bar.set_postfix(failed=self.failed, refresh=False)
            self._bar.update(n)
            return
        step = max(1, (self.total or 0) // 10) if self.total else 10
        now = self._clock()
        if self.done - self._last_done >= step or now - self._last_time >= self._interval:
            self._line()

    def line(self) -> str:
        """The plain progress line: ``batch: 12/40 prompts, 3 failed``."""
        of = f"/{self.total}" if self.total is not None else ""
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.label}: {self.done}{of} {self.unit}s{failed}"

    def _line(self) -> None:
        click.echo(self.line(), file=self._stream)
        self._last_time, self._last_done = self._clock(), self.done
        self._printed = True

    def close(self) -> None:
        """End the bar, or print the last plain line if it is not printed yet."""
        if self._quiet:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.done != self._last_done or not self._printed:
            self._line()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def jsonl_writer(path: Path, *, option: str) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A function that appends one JSON line to ``path`` (created or emptied first) and
    flushes it, so what was written survives an interrupted run.

    ``option`` is the command-line option that named ``path`` (``--answers``): an error
    suggests giving it another path.

    Raises:
        StorageError, InsufficientDiskError: the file cannot be opened or written.
    """
    from music_reasoning.errors import storage_error

    try:
        out = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise storage_error(exc, path, "write", option=option) from exc

    def write(record: dict[str, Any]) -> None:
        try:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        except OSError as exc:
            raise storage_error(exc, path, "write", option=option) from exc

    try:
        yield write
    finally:
        with contextlib.suppress(OSError):
            out.close()
