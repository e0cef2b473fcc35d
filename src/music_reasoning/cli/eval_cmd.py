"""``music-reasoning eval``: accuracy, coverage, own words and latency of the raw model,
the hybrid SDK and the deterministic lessons on the question sets (see docs/EVAL.md).
"""

from __future__ import annotations

import contextlib
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
from music_reasoning.cli._output import Progress, echo_json, json_option, jsonl_writer
from music_reasoning.errors import InvalidInputError

__all__ = ["eval_command"]


@click.command("eval")
@click.option(
    "--mode",
    "modes",
    type=click.Choice(["raw", "hybrid", "deterministic"]),
    multiple=True,
    help="Score the raw model, the hybrid SDK, the deterministic lessons (no model), "
    "or raw and hybrid (default).",
)
@click.option(
    "--set",
    "question_set",
    type=click.Choice(["diagnostic", "generated", "concepts", "all"]),
    default="all",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Only the first N questions."
)
@click.option(
    "--answers",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write every answer (question, source, the model's own words, corrections) "
    "to this JSONL file, to read them.",
)
@model_option
@models_option
@report_option
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@json_option
def eval_command(
    modes: tuple[str, ...],
    question_set: str,
    limit: int | None,
    answers: Path | None,
    model: str | None,
    models_text: str | None,
    report_dir: Path | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Measure accuracy, coverage, own words and latency per category and path."""
    from music_reasoning.sdk.evaluate import evaluate

    compared = compared_models(models_text, report_dir, model=model)
    if compared is not None:
        if modes or answers is not None:
            raise InvalidInputError(
                "--models scores every model raw and hybrid; --mode and --answers go "
                "with a single --model.",
                suggestion="Drop --mode/--answers, or run one model with --model.",
            )
        from music_reasoning.sdk.compare import compare_eval

        with Progress("eval", unit="question", quiet=quiet) as progress:
            report = compare_eval(
                compared,
                question_set=question_set,
                limit=limit,
                on_model=model_line("eval", quiet=quiet),
                progress=progress.update,
                on_total=progress.set_total,
            )
        write_comparison(report, report_dir, as_json)
        return
    chosen = modes or ("raw", "hybrid")
    with contextlib.ExitStack() as stack:
        sink = (
            stack.enter_context(jsonl_writer(answers, option="--answers"))
            if answers is not None
            else None
        )
        progress = stack.enter_context(Progress("eval", unit="question", quiet=quiet))
        reports = evaluate(
            modes=chosen,
            question_set=question_set,
            limit=limit,
            model=model,
            progress=progress.update,
            on_total=progress.set_total,
            on_answer=sink,
        )
    if as_json:
        echo_json([r.to_dict() for r in reports])
        return
    for r in reports:
        sources = ", ".join(f"{k} {v}" for k, v in sorted(r.sources.items()))
        lat = r.latency
        timing = f"; p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms" if lat else ""
        click.echo(
            f"{r.mode} on {r.model} ({r.seconds:.0f} s{timing})"
            f"{f'; sources: {sources}' if sources else ''}"
        )
        own = r.mode != "raw"
        click.echo(
            f"  {'category':20} {'n':>4} {'accuracy':>9} {'contradicted':>13} {'prose':>6} "
            f"{'coverage':>9}" + (f" {'own words':>10}" if own else "")
        )
        for name, row in [*sorted(r.categories.items()), ("overall", r.overall)]:
            click.echo(
                f"  {name:20} {row['questions']:>4.0f} {row['accuracy']:>9.1%} "
                f"{row['contradicted']:>13.1%} {row['prose_states_answer']:>6.1%} "
                f"{row['coverage']:>9.1%}" + (f" {row['own_words']:>10.1%}" if own else "")
            )
