"""``music-reasoning bench``: this package against raw llama-cpp-python, installed
variants, a busy machine, concurrent server clients, or several models in one report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from music_reasoning.cli._compare import (
    compared_models,
    model_line,
    models_option,
    report_option,
    write_comparison,
)
from music_reasoning.cli._options import model_option
from music_reasoning.cli._output import echo_json, json_option
from music_reasoning.config import load_settings
from music_reasoning.errors import InvalidInputError
from music_reasoning.params import DEFAULT_MAX_TOKENS

__all__ = ["bench"]


@click.command("bench")
@model_option
@click.option("--runs", type=int, default=5, show_default=True, help="Warm calls per measurement.")
@click.option(
    "--max-tokens",
    type=int,
    default=None,
    help=f"Answer length (default {DEFAULT_MAX_TOKENS}; 48 with --busy, 64 with --variants).",
)
@click.option(
    "--variants", is_flag=True, help="Size, load time and tokens/s of each installed variant."
)
@click.option(
    "--busy",
    is_flag=True,
    help="Tokens/s of the default threads against each fixed thread count while busy "
    "processes (started and stopped by the benchmark) load the machine.",
)
@click.option(
    "--loads",
    default=None,
    help="With --busy: numbers of busy processes, comma-separated (default: 0, cores, 2x cores).",
)
@click.option(
    "--server",
    is_flag=True,
    help="Concurrent streaming clients against `serve`, llama.cpp's llama-server and "
    "llama-cpp-python's server, same model, threads and slots, in one run.",
)
@click.option(
    "--clients",
    default="1,4,8,16",
    show_default=True,
    help="With --server: numbers of concurrent clients, comma-separated.",
)
@click.option(
    "--llama-server",
    "llama_server",
    default=None,
    help="With --server: the native llama-server binary (default: "
    "$MUSIC_REASONING_LLAMA_SERVER or llama-server on PATH; left out when none).",
)
@models_option
@report_option
@json_option
def bench(
    model: str | None,
    runs: int,
    max_tokens: int | None,
    variants: bool,
    busy: bool,
    loads: str | None,
    server: bool,
    clients: str,
    llama_server: str | None,
    models_text: str | None,
    report_dir: Path | None,
    as_json: bool,
) -> None:
    """Benchmark this package against raw llama-cpp-python in one run."""
    from music_reasoning.engine import bench as benchmarks

    if runs < 1 or (max_tokens is not None and max_tokens < 1):
        raise InvalidInputError(
            "--runs and --max-tokens must be at least 1.", suggestion="Use e.g. --runs 5."
        )

    def progress(line: str) -> None:
        click.echo(f"bench: {line}", err=True)

    if sum((server, busy, variants)) > 1:
        raise InvalidInputError(
            "--server, --busy and --variants are separate benchmarks.",
            suggestion="Run one of them at a time.",
        )
    compared = compared_models(models_text, report_dir, model=model)
    if compared is not None:
        if server or busy or variants:
            raise InvalidInputError(
                "--models compares size, load time and tokens/s; it runs without "
                "--server, --busy or --variants.",
                suggestion="Drop those options, or run them without --models.",
            )
        from music_reasoning.sdk.compare import compare_bench

        write_comparison(
            compare_bench(
                compared,
                runs=runs,
                max_tokens=max_tokens or 64,
                on_model=model_line("bench", quiet=False),
            ),
            report_dir,
            as_json,
        )
        return
    if server:
        _bench_server(model, clients, llama_server, max_tokens or 96, runs, progress, as_json)
        return
    if busy:
        report = benchmarks.run_busy_benchmark(
            model=model,
            loads=_load_counts(loads),
            rounds=runs,
            max_tokens=max_tokens or 48,
            progress=progress,
        )
        (echo_json(report) if as_json else click.echo(benchmarks.format_busy_report(report)))
        return
    if variants:
        rows = benchmarks.run_variant_benchmark(
            model or "gemma3-270m", runs=runs, max_tokens=max_tokens or 64
        )
        if as_json:
            echo_json(rows)
            return
        for r in rows:
            click.echo(
                f"{r['model']:24} {r['size_mib']:8.1f} MiB  load {r['load_ms']:7.0f} ms  "
                f"{r['decode_tokens_per_second']:6.1f} tok/s"
            )
        return
    from music_reasoning.sdk.cache import measure_hit_latency

    report = benchmarks.run_benchmark(
        model=model, runs=runs, max_tokens=max_tokens or DEFAULT_MAX_TOKENS, progress=progress
    )
    progress("answer-cache hit latency")
    hits = measure_hit_latency(1000)
    report["sdk_cache_hit_ms"] = {k: hits[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}
    if as_json:
        echo_json(report)
    else:
        click.echo(benchmarks.format_report(report))


def _bench_server(
    model: str | None,
    clients: str,
    llama_server: str | None,
    max_tokens: int,
    runs: int,
    progress: Callable[[str], None],
    as_json: bool,
) -> None:
    from music_reasoning.engine.runtime import get_pool
    from music_reasoning.server.bench import (
        find_llama_server,
        format_server_report,
        run_server_benchmark,
    )

    try:
        levels = tuple(int(x) for x in clients.split(","))
    except ValueError:
        levels = ()
    if not levels or not all(1 <= n <= 256 for n in levels):
        raise InvalidInputError(
            f"--clients {clients!r} is not a comma-separated list of numbers from 1 to 256.",
            suggestion="Use e.g. --clients 1,4,8,16.",
        )
    settings = load_settings()
    binary = find_llama_server(llama_server)
    if binary is None:
        progress("no llama-server found: measuring ours and llama-cpp-python's server only")
    report = run_server_benchmark(
        model=get_pool().resolve(model),
        levels=levels,
        parallel=settings.n_parallel,
        threads=settings.n_threads or 2,
        n_ctx=settings.n_ctx,
        max_tokens=max_tokens,
        rounds=runs,
        llama_server=binary,
        progress=progress,
    )
    (echo_json(report) if as_json else click.echo(format_server_report(report)))


def _load_counts(text: str | None) -> tuple[int, ...] | None:
    """``--loads 0,2,4`` as numbers of busy processes (0 to 64 each)."""
    if text is None:
        return None
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        counts = ()
    if not counts or any(not 0 <= n <= 64 for n in counts):
        raise InvalidInputError(
            f"--loads {text!r} is not a list of numbers from 0 to 64.",
            suggestion="Use e.g. --loads 0,2,4.",
        )
    return counts
