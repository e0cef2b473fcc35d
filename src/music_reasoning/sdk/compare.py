"""``eval --models`` and ``bench --models``: several models side by side, in one report.

The flow::

    "a,b:Q4_0"  --parse_models-->  ["a", "b:Q4_0"]  --describe_model--> file, size, quant
        |                                                  (unknown: MODEL_UNAVAILABLE,
        v                                                   before anything runs)
    compare_eval  (raw + hybrid eval per model)  \\
    compare_bench (size, load, tok/s per model)   >--> entries --merge_report--> report
                                                 /        (an existing report.json in the
                                                           folder keeps its other sections)
    report --write_report--> DIR/report.json, DIR/report.md, DIR/<metric>.png

A report is a plain dict: ``{"kind": "model-comparison", "version": 1, "models": [entry,
...]}`` where an entry is ``{"model": SPEC, "file", "quantization", "size_mib", "eval":
{...}, "bench": {...}}`` (either section may be missing).  :data:`METRICS` names every
charted number and where it lives in an entry; :func:`render_markdown` and
:func:`render_charts` are pure functions of the report, so they are tested on small
synthetic ones.  Charts use matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from music_reasoning.config import atomic_write
from music_reasoning.errors import InvalidInputError

__all__ = [
    "METRICS",
    "Metric",
    "compare_bench",
    "compare_eval",
    "describe_model",
    "merge_report",
    "parse_models",
    "render_charts",
    "render_markdown",
    "write_report",
]

logger = logging.getLogger(__name__)

#: The most models one comparison takes.
MAX_MODELS = 12
REPORT_KIND = "model-comparison"
REPORT_VERSION = 1


@dataclass(frozen=True)
class Metric:
    """One charted number: its file name, title, axis label and where each series lives.

    ``series`` pairs a legend label with a path into a report entry
    (``("eval", "hybrid", "accuracy")``); ``percent`` values are shares from 0 to 1.
    """

    name: str
    short: str
    title: str
    label: str
    series: tuple[tuple[str, tuple[str, ...]], ...]
    percent: bool = False
    digits: int = 1


METRICS: tuple[Metric, ...] = (
    Metric(
        "accuracy",
        "accuracy",
        "Accuracy: answers that state every expected fact and contradict none",
        "share of questions",
        (("raw model", ("eval", "raw", "accuracy")), ("hybrid", ("eval", "hybrid", "accuracy"))),
        percent=True,
    ),
    Metric(
        "contradicted",
        "contradicted",
        "Contradiction rate: answers naming something the facts do not contain",
        "share of answers",
        (
            ("raw model", ("eval", "raw", "contradicted")),
            ("hybrid", ("eval", "hybrid", "contradicted")),
        ),
        percent=True,
    ),
    Metric(
        "own_words",
        "own words",
        "Own words kept: hybrid answers whose model prose passed verification",
        "share of answers",
        (
            ("any try", ("eval", "hybrid", "own_words")),
            ("first try", ("eval", "hybrid", "own_words_first_try")),
        ),
        percent=True,
    ),
    Metric(
        "coverage",
        "coverage",
        "Coverage: teaching points the answers state",
        "share of teaching points",
        (("raw model", ("eval", "raw", "coverage")), ("hybrid", ("eval", "hybrid", "coverage"))),
        percent=True,
    ),
    Metric(
        "tokens_per_second",
        "tokens/s",
        "Decode speed (greedy, one stream)",
        "tokens/s",
        (("decode", ("bench", "decode_tokens_per_second")),),
    ),
    Metric(
        "load_ms",
        "load ms",
        "Load time (cold engine, file in the page cache)",
        "ms",
        (("load", ("bench", "load_ms")),),
        digits=0,
    ),
    Metric("size_mib", "size MiB", "Size on disk", "MiB", (("file", ("size_mib",)),)),
)


# -- parsing and describing models ----------------------------------------------------


def parse_models(text: str) -> list[str]:
    """``"a,b:Q4_0"`` as a list of model specs, in order.

    Raises:
        InvalidInputError: empty, an empty item, a repeated model or more than
            :data:`MAX_MODELS`.
    """
    items = [part.strip() for part in text.split(",")]
    example = "Use e.g. --models gemma3-270m,gemma3-270m:Q4_0 (see `music-reasoning models list`)."
    if not text.strip() or any(not item for item in items):
        raise InvalidInputError(
            f"--models {text!r} is not a comma-separated list of models.", suggestion=example
        )
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise InvalidInputError(
            f"--models names {', '.join(repeated)} more than once.", suggestion=example
        )
    if len(items) > MAX_MODELS:
        raise InvalidInputError(
            f"--models names {len(items)} models; at most {MAX_MODELS} fit one report.",
            suggestion="Compare fewer models at a time, in separate report folders.",
        )
    return items


def describe_model(spec: str) -> dict[str, Any]:
    """The file, quantization and size of ``spec``, without loading it.

    Raises:
        ModelUnavailableError: unknown or not installed (the existing path and message).
    """
    from music_reasoning.engine.runtime import get_pool

    path = get_pool().resolve(spec)
    return {
        "model": spec,
        "file": path.name,
        "quantization": _quantization(spec),
        "size_mib": path.stat().st_size / 2**20,
    }


def _quantization(spec: str) -> str | None:
    from music_reasoning.errors import MusicReasoningError
    from music_reasoning.models.registry import get_model, parse_spec

    try:
        name, quantization = parse_spec(spec)
        return get_model(name).variant(quantization).quantization
    except (MusicReasoningError, ValueError):  # a GGUF path or an hf.co spec
        return None


# -- running ---------------------------------------------------------------------------

OnModel = Callable[[int, int, dict[str, Any]], object]


def _eval_section(report: Any) -> dict[str, Any]:
    overall = dict(report.overall)
    return {
        **{k: overall[k] for k in sorted(overall) if k != "n"},
        "seconds": report.seconds,
        "sources": dict(report.sources),
    }


def compare_eval(
    models: Sequence[str],
    *,
    question_set: str = "all",
    limit: int | None = None,
    on_model: OnModel | None = None,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
) -> dict[str, Any]:
    """Evaluate each model raw and hybrid; return a report (see the module notes).

    Every model is resolved first, so an unknown one fails before any runs.
    ``on_model(i, n, entry)`` is called as model ``i`` of ``n`` starts; ``progress`` and
    ``on_total`` as in :func:`~music_reasoning.sdk.evaluate.evaluate`, over all models.

    Raises:
        ModelUnavailableError: a model is unknown or not installed.
    """
    from music_reasoning.engine.runtime import unload_model
    from music_reasoning.sdk.evaluate import evaluate

    entries = [describe_model(spec) for spec in models]
    told: list[int] = []

    def total_once(per_model: int) -> None:  # one total over every model
        if on_total is not None and not told:
            told.append(per_model * len(entries))
            on_total(told[0])

    for i, entry in enumerate(entries, 1):
        if on_model is not None:
            on_model(i, len(entries), entry)
        reports = evaluate(
            modes=("raw", "hybrid"),
            question_set=question_set,
            limit=limit,
            model=entry["model"],
            progress=progress,
            on_total=total_once,
            latency_every=None,
        )
        unload_model(entry["model"])
        entry["eval"] = {
            "set": question_set,
            "limit": limit,
            **{r.mode: _eval_section(r) for r in reports},
        }
    return {"kind": REPORT_KIND, "version": REPORT_VERSION, "models": entries}


def compare_bench(
    models: Sequence[str],
    *,
    runs: int = 3,
    max_tokens: int = 64,
    on_model: OnModel | None = None,
) -> dict[str, Any]:
    """Size, load time and decode tokens/s of each model; return a report.

    Raises:
        ModelUnavailableError: a model is unknown or not installed.
    """
    from music_reasoning.engine.bench import measure_model
    from music_reasoning.engine.runtime import get_pool

    entries = [describe_model(spec) for spec in models]
    for i, entry in enumerate(entries, 1):
        if on_model is not None:
            on_model(i, len(entries), entry)
        measured = measure_model(
            get_pool().resolve(entry["model"]), runs=runs, max_tokens=max_tokens
        )
        entry["bench"] = {"runs": runs, "max_tokens": max_tokens, **measured}
    return {"kind": REPORT_KIND, "version": REPORT_VERSION, "models": entries}


# -- the report ------------------------------------------------------------------------


def merge_report(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """``new`` over ``old``: entries matched by model, sections of ``new`` replacing
    those of ``old``; models only in ``old`` are kept after the new ones."""
    old_entries = list(old.get("models", [])) if old and old.get("kind") == REPORT_KIND else []
    by_model = {e.get("model"): e for e in old_entries if isinstance(e, dict)}
    merged = []
    for entry in new["models"]:
        merged.append({**by_model.pop(entry["model"], {}), **entry})
    merged += list(by_model.values())
    return {"kind": REPORT_KIND, "version": REPORT_VERSION, "models": merged}


def _value(entry: Mapping[str, Any], path: Sequence[str]) -> float | None:
    node: Any = entry
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def _shown(value: float | None, metric: Metric) -> str:
    if value is None:
        return "-"
    return f"{value:.{metric.digits}%}" if metric.percent else f"{value:,.{metric.digits}f}"


def _label(entry: Mapping[str, Any]) -> str:
    """The model as a chart names it: the spec, and its quantization if the spec hides it."""
    spec, quantization = str(entry["model"]), entry.get("quantization")
    return f"{spec}\n({quantization})" if quantization and quantization not in spec else spec


def _charted(report: Mapping[str, Any]) -> list[Metric]:
    """The metrics that at least one model has a value for."""
    return [
        m
        for m in METRICS
        if any(_value(e, path) is not None for e in report["models"] for _, path in m.series)
    ]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: one table row per model, one column per series."""
    columns = [(m, label, path) for m in METRICS for label, path in m.series]
    header = ["model", "quantization"] + [
        f"{m.short} ({label})" if len(m.series) > 1 else m.short for m, label, _ in columns
    ]
    lines = [
        "# Model comparison",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---"] + ["---:"] * len(columns)) + "|",
    ]
    for entry in report["models"]:
        cells = [f"`{entry['model']}`", str(entry.get("quantization") or "-")]
        cells += [_shown(_value(entry, path), m) for m, _, path in columns]
        lines.append("| " + " | ".join(cells) + " |")
    sets = sorted(
        {
            f"{e['eval'].get('set')}"
            + (f", first {e['eval']['limit']}" if e["eval"].get("limit") else "")
            for e in report["models"]
            if isinstance(e.get("eval"), Mapping)
        }
    )
    if sets:
        lines += ["", f"Eval questions: {'; '.join(sets)} (raw model and hybrid SDK)."]
    charted = _charted(report)
    if charted:
        lines += ["", "Charts: " + ", ".join(f"[{m.short}]({m.name}.png)" for m in charted) + "."]
    return "\n".join(lines) + "\n"


def render_charts(report: Mapping[str, Any], folder: Path) -> list[Path]:
    """One PNG per metric that any model has a value for: grouped bars per model, the
    value on each bar.  Returns the files written.

    Raises:
        StorageError, InsufficientDiskError: the folder cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    entries = list(report["models"])
    labels = [_label(e) for e in entries]
    written = []
    for metric in _charted(report):
        table = [[_value(e, path) for e in entries] for _, path in metric.series]
        fig, ax = plt.subplots(figsize=(max(6.0, 1.8 * len(entries) + 2), 4.2), dpi=100)
        try:
            width = 0.8 / len(metric.series)
            for k, ((name, _), row) in enumerate(zip(metric.series, table, strict=True)):
                xs = [i + (k - (len(metric.series) - 1) / 2) * width for i in range(len(entries))]
                scale = 100.0 if metric.percent else 1.0
                heights = [(v or 0.0) * scale for v in row]
                bars = ax.bar(xs, heights, width, label=name)
                ax.bar_label(bars, labels=[_shown(v, metric) for v in row], fontsize=8, padding=2)
            ax.set_xticks(range(len(entries)), labels)
            ax.set_title(metric.title, fontsize=10)
            ax.set_xlabel("model")
            ax.set_ylabel(f"{metric.label} (%)" if metric.percent else metric.label)
            if metric.percent:
                ax.set_ylim(0, 110)
            else:
                ax.margins(y=0.15)
            if len(metric.series) > 1:
                ax.legend(fontsize=8)
            fig.tight_layout()
            png = io.BytesIO()
            fig.savefig(png, format="png")
        finally:
            plt.close(fig)
        path = folder / f"{metric.name}.png"
        atomic_write(path, png.getvalue())
        written.append(path)
    return written


def write_report(report: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """Merge ``report`` into ``folder/report.json`` and write it, report.md and the charts.

    Returns the merged report with ``files``: the paths written.

    Raises:
        StorageError, InsufficientDiskError: the folder cannot be written.
    """
    target = folder / "report.json"
    old: Any = None
    if target.is_file():
        try:
            old = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("replacing unreadable %s: %s", target, exc)
    merged = merge_report(old if isinstance(old, Mapping) else None, report)
    atomic_write(target, (json.dumps(merged, indent=2) + "\n").encode())
    atomic_write(folder / "report.md", render_markdown(merged).encode())
    charts = render_charts(merged, folder)
    files = [str(target), str(folder / "report.md"), *map(str, charts)]
    return {**merged, "files": files}
