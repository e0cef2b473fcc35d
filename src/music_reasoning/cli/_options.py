"""Options that commands in more than one module take."""

from __future__ import annotations

import click

__all__ = ["model_option"]

model_option = click.option(
    "--model", "model", default=None, help="Registry name (NAME[:VARIANT]) or GGUF path."
)
