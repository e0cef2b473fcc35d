"""JSON output for every command: the ``--json`` option and the one JSON printer.

The option records that JSON was asked for, and the printer that a document was
written, so that an error can be printed as ``{"error": ...}`` on stdout exactly when a
script reading stdout expects JSON and has not received a document yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

__all__ = ["echo_json", "echo_rows", "error_json_pending", "json_option", "reset"]

_state = {"asked": False, "printed": False}


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _state["asked"] = True
    return value


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON.", callback=_remember
)


def echo_json(data: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
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
