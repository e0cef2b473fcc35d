"""``music-reasoning telemetry``: show what is recorded, switch it on or off."""

from __future__ import annotations

import click

from music_reasoning.cli._output import echo_json, json_option
from music_reasoning.sdk.telemetry import (
    disable_telemetry,
    enable_telemetry,
    telemetry_enabled,
    telemetry_status,
)

__all__ = ["telemetry"]


@click.group("telemetry")
def telemetry() -> None:
    """Opt-in usage telemetry: never prompts or answers unless you also allow text."""


@telemetry.command("show")
@json_option
def show(as_json: bool) -> None:
    """Print the state, the event file, the endpoint and a summary of recorded events."""
    status = telemetry_status()
    if as_json:
        echo_json(status)
        return
    summary = status["summary"]
    click.echo(f"{'telemetry':14} {'on' if status['enabled'] else 'off'} ({status['source']})")
    click.echo(f"{'include_text':14} {status['include_text']}")
    click.echo(f"{'file':14} {status['path']}")
    click.echo(f"{'endpoint':14} {status['endpoint'] or '-'}")
    click.echo(f"{'events':14} {summary['events']}")
    for name, count in sorted(summary["by_event"].items()):
        click.echo(f"  {name:24} {count}")
    for code, count in sorted(summary["error_codes"].items()):
        click.echo(f"  error {code:18} {count}")
    if summary["mean_latency_ms"] is not None:
        click.echo(f"{'mean latency':14} {summary['mean_latency_ms']:.1f} ms")


def _switch(on: bool) -> None:
    path = enable_telemetry() if on else disable_telemetry()
    click.echo(f"telemetry {'on' if on else 'off'} (saved in {path})")
    if telemetry_enabled() != on:
        click.echo(
            "warning: MUSIC_REASONING_TELEMETRY in the environment overrides config.toml",
            err=True,
        )


@telemetry.command("on")
def on() -> None:
    """Opt in: record usage events (no prompt or answer text)."""
    _switch(True)


@telemetry.command("off")
def off() -> None:
    """Opt out: record nothing."""
    _switch(False)
