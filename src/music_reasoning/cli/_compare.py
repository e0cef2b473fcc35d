"""``--models A,B,...`` comparisons, shared by ``eval`` and ``bench``: the two options,
the check of the list, a line per model on stderr, and the report folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from music_reasoning.cli._output import echo_json
from music_reasoning.errors import InvalidInputError

__all__ = ["compared_models", "model_line", "models_option", "report_option", "write_comparison"]

models_option = click.option(
    "--models",
    "models_text",
    default=None,
    metavar="A,B,...",
    help="Compare these models (NAME[:VARIANT] or GGUF paths, comma-separated) in one "
    "report: a table and PNG charts in --report.",
)
report_option = click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="With --models: the report folder (default ./model-report); a report.json "
    "already there keeps the other command's numbers.",
)


def compared_models(
    text: str | None, report_dir: Path | None, *, model: str | None
) -> list[str] | None:
    """``--models`` as a list (None without it), checked against ``--model``/``--report``."""
    if text is None:
        if report_dir is not None:
            raise InvalidInputError(
                "--report names the folder of a --models comparison.",
                suggestion="Add --models A,B (e.g. gemma3-270m,gemma3-270m:Q4_0).",
            )
        return None
    if model is not None:
        raise InvalidInputError(
            "--model and --models are exclusive.",
            suggestion="List every model in --models.",
        )
    from music_reasoning.sdk.compare import parse_models

    return parse_models(text)


def model_line(command: str, *, quiet: bool) -> Callable[[int, int, dict[str, Any]], None]:
    """The ``on_model`` callback: one stderr line per model (none when ``quiet``)."""

    def line(i: int, n: int, entry: dict[str, Any]) -> None:
        if not quiet:
            quant = f"{entry['quantization']}, " if entry.get("quantization") else ""
            click.echo(
                f"{command}: model {i}/{n}: {entry['model']} ({quant}{entry['size_mib']:.0f} MiB)",
                err=True,
            )

    return line


def write_comparison(report: dict[str, Any], report_dir: Path | None, as_json: bool) -> None:
    """Write the report into ``report_dir`` (default ./model-report); print what was written."""
    from music_reasoning.sdk.compare import write_report

    written = write_report(report, report_dir or Path("model-report"))
    if as_json:
        echo_json(written)
        return
    for path in written["files"]:
        click.echo(path)
