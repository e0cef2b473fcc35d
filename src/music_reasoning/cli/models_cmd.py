"""``music-reasoning models``: the registry and the model store, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from music_reasoning.cli._output import echo_json, echo_rows, json_option
from music_reasoning.errors import MusicReasoningError
from music_reasoning.models import store
from music_reasoning.models.registry import add_user_model
from music_reasoning.redact import redact_url

__all__ = ["models"]

_json = json_option


def _echo(data: Any, as_json: bool) -> None:
    if as_json:
        echo_json(data)
        return
    if isinstance(data, dict):
        echo_rows(data.items())
    else:
        for line in data:
            click.echo(line)


def _shown(data: Any) -> Any:
    """``data`` with every URL's ``user:password@`` and token parameters masked."""
    if isinstance(data, str):
        return redact_url(data)
    if isinstance(data, dict):
        return {key: _shown(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_shown(value) for value in data]
    return data


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**20:,.0f} MiB"


@click.group("models")
def models() -> None:
    """List, pull, verify, remove, add, choose and quantize models."""


@models.command("list")
@click.option("--available", is_flag=True, help="The curated instruct models (installed or not).")
@_json
def list_cmd(available: bool, as_json: bool) -> None:
    """Every model variant the registry knows: installed, available to pull, or needing a
    URL (`models add NAME:VARIANT --url URL --sha256 HEX`).  Curated models that are not
    installed are listed with --available."""
    from music_reasoning.models.recommend import available_models, curated_models

    if available:
        _list_available(available_models(), as_json)
        return
    curated = {e.name for e in curated_models()}
    rows = [r for r in store.list_models() if r.installed or r.name not in curated]
    if as_json:
        _echo([_shown(r.to_dict()) for r in rows], True)
        return
    width = max([20, *(len(r.name) for r in rows)])  # "hf.co/OWNER/REPO" names are long
    variant = max([8, *(len(r.variant) for r in rows)])
    click.echo(f"{'model':{width}} {'variant':{variant}} {'size':>10}  {'state':18} default")
    for r in rows:
        state = (
            "installed, verified"
            if r.verified
            else "installed"
            if r.installed
            else "available"
            if r.downloadable
            else "needs a URL"
        )
        click.echo(
            f"{r.name:{width}} {r.variant:{variant}} {_size(r.size):>10}  {state:18} "
            + ("*" if r.default else "")
        )


def _list_available(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        _echo(rows, True)
        return
    click.echo(
        f"{'model':24} {'variant':8} {'size':>10} {'RAM':>10}  {'context':>7}  {'licence':13} "
        "source"
    )
    for r in rows:
        mark = " (installed)" if r["installed"] else ""
        click.echo(
            f"{r['name']:24} {r['variant']:8} {_size(r['size']):>10} {_size(r['ram']):>10}  "
            f"{r['context_length']:>7}  {r['license']:13} {r['source']}{mark}"
        )
    click.echo(
        "Pull one with `music-reasoning models pull NAME[:VARIANT]` (from its source); "
        "`music-reasoning models recommend` picks one for this machine.",
        err=True,
    )


@models.command("import")
@click.argument("source")
@click.argument("name", required=False)
@click.option("--quiet", is_flag=True, help="No progress bar while hashing.")
@_json
def import_cmd(source: str, name: str | None, quiet: bool, as_json: bool) -> None:
    """Register models you already have, in place (nothing is copied).

    `models import ollama NAME[:TAG]` takes a model from Ollama's store ($OLLAMA_MODELS,
    default ~/.ollama/models) after checking its digest; `models import PATH_OR_DIR`
    registers every GGUF file under a folder (LM Studio's, llama.cpp's cache, ...).
    """
    from music_reasoning.models.imports import ImportReport, import_folder, import_ollama

    progress = False if quiet else None
    if source == "ollama" and name is not None:
        report = ImportReport(imported=[import_ollama(name, progress=progress)])
    elif name is not None:
        raise click.UsageError("Give `ollama NAME[:TAG]`, or one PATH_OR_DIR.")
    else:
        report = import_folder(Path(source), progress=progress)
    if as_json:
        _echo(report.to_dict(), True)
        return
    for item in report.imported:
        click.echo(f"registered {item.model}: {item.path} ({_size(item.size)}, in place)")
    for skipped in report.skipped:
        click.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    if not report.imported:
        click.echo("nothing registered", err=True)


@models.command()
@_json
def recommend(as_json: bool) -> None:
    """Suggest the curated model that fits this machine's free memory, and say why."""
    from music_reasoning.engine.hardware import describe_machine
    from music_reasoning.models.recommend import recommend as best

    result = best(describe_machine())
    if as_json:
        _echo(result.to_dict(), True)
        return
    verdict = "recommended" if result.fits else "smallest (does not fit now)"
    click.echo(f"{verdict}: {result.model}")
    for reason in result.reasons:
        click.echo(f"  - {reason}")
    if result.alternatives:
        click.echo(f"  also fit: {', '.join(result.alternatives)}")
    if result.pull:
        click.echo(f"  get it: music-reasoning models pull {result.pull}")


@models.command()
@click.argument("spec")
@click.option("--parts", type=int, default=4, show_default=True, help="Parallel ranged parts.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_json
def pull(spec: str, parts: int, quiet: bool, as_json: bool) -> None:
    """Download NAME[:VARIANT] or hf.co/OWNER/REPO[:QUANT] (resumable, checksummed; a
    Hugging Face file is pinned in your registry once verified)."""
    path = store.pull(spec, progress=False if quiet else None, parts=parts)
    if as_json:
        _echo(_shown(store.pulled(spec, path)), True)
        return
    click.echo(str(path))


@models.command()
@click.argument("spec", required=False)
@_json
def verify(spec: str | None, as_json: bool) -> None:
    """Re-hash an installed model (all installed ones without NAME)."""
    if spec:
        result = store.verify(spec)
        _echo([result] if as_json else [f"{result['model']}: ok ({result['sha256']})"], as_json)
        return
    results: list[dict[str, Any]] = []
    failed: list[MusicReasoningError] = []
    for s in (f"{r.name}:{r.variant}" for r in store.list_models() if r.installed):
        try:
            result = store.verify(s)
        except MusicReasoningError as exc:  # report every file, then fail
            failed.append(exc)
            result = {"model": s, "ok": False, "error": exc.to_dict()}
        results.append(result)
        if not as_json and result.get("ok") is False:
            click.echo(f"{s}: [{failed[-1].code}] {failed[-1].message}")
        elif not as_json:
            click.echo(f"{s}: ok ({result['sha256']})")
    if as_json:
        _echo(results, True)
    if failed:
        raise type(failed[0])(
            f"{len(failed)} of {len(results)} installed models failed verification.",
            suggestion=failed[0].suggestion,
        )


@models.command()
@click.argument("spec")
@click.option("--forget", is_flag=True, help="Also drop a user-added registry entry.")
def rm(spec: str, forget: bool) -> None:
    """Delete a model file (and its partial download)."""
    done = store.remove(spec, forget=forget)
    _echo(done or [f"{spec}: nothing to remove"], False)


@models.command()
@click.argument("spec")
@click.option("--path", "path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--url", "urls", multiple=True, help="Download URL; repeat for mirrors.")
@click.option("--sha256", default=None, help="Expected SHA-256 (required with --url).")
@click.option("--size", type=int, default=None, help="Expected size in bytes.")
@click.option("--quantization", default="Q4_K_M", show_default=True)
@click.option("--format", "prompt_format", type=click.Choice(["chat", "base"]), default=None)
@click.option("--license", "license_", default=None)
@click.option("--context-length", type=int, default=None)
@_json
def add(
    spec: str,
    path: Path | None,
    urls: tuple[str, ...],
    sha256: str | None,
    size: int | None,
    quantization: str,
    prompt_format: str | None,
    license_: str | None,
    context_length: int | None,
    as_json: bool,
) -> None:
    """Add a model to your registry: a local GGUF (--path) or a download (--url)."""
    entry = add_user_model(
        spec,
        quantization=quantization,
        path=path,
        urls=urls,
        sha256=sha256,
        size=size,
        prompt_format=prompt_format,
        license=license_,
        context_length=context_length,
    )
    _echo(_shown(entry.to_dict()) if as_json else [f"added {entry.name}"], as_json)


@models.command()
@click.argument("spec")
def use(spec: str) -> None:
    """Make NAME[:VARIANT] the default model."""
    click.echo(f"default model: {store.use(spec)}")


@models.command()
@click.argument("spec")
@_json
def info(spec: str, as_json: bool) -> None:
    """Registry data, GGUF metadata and known weaknesses of a model."""
    data = _shown(store.info(spec))
    if as_json:
        _echo(data, True)
        return
    rows: list[tuple[str, object]] = [
        (key, data[key]) for key in ("name", "family", "version", "license", "prompt_format")
    ]
    ctx = data["context"]
    rows += [
        (
            "context (trained)",
            f"{ctx['trained']} tokens (from the "
            f"{'GGUF header' if ctx['trained_from'] == 'gguf' else 'registry'})",
        ),
        (
            "context (configured)",
            f"{ctx['configured']} tokens (n_ctx, {ctx['configured_from']}; "
            "MUSIC_REASONING_N_CTX changes it)",
        ),
    ]
    state = "installed" if data["installed"] else "not installed"
    rows += [("variant", f"{data['variant']} ({state})"), ("path", data["path"])]
    rows += [
        (f"gguf.{key}", value)
        for key, value in data.get("gguf", {}).items()
        if key != "context_length"  # shown above as the trained context
    ]
    for w in data["weaknesses"]:
        fixed = f", fixed in {w['fixed_in']}" if w.get("fixed_in") else ""
        how = f"workaround: {w['workaround']}{fixed}"
        rows.append(("weakness", f"{w['topic']}: {w['description']} ({how})"))
    echo_rows(rows)


@models.command()
@click.argument("spec")
@click.option("--to", "to", required=True, help="Target type, e.g. Q4_K_M, Q8_0, Q4_0.")
@click.option("--allow-requantize", is_flag=True, help="Quantize an already quantized source.")
@_json
def quantize(spec: str, to: str, allow_requantize: bool, as_json: bool) -> None:
    """Make a variant locally with llama.cpp's quantizer and register it."""
    from music_reasoning.engine.quantize import quantize_model

    result = quantize_model(spec, to, allow_requantize=allow_requantize)
    if as_json:
        _echo(result.to_dict(), True)
        return
    if result.requantized:
        click.echo(
            f"note: {spec} was already {result.source_type}; requantizing loses accuracy.", err=True
        )
    click.echo(f"{result.model}: {result.path} ({_size(result.size)}, sha256 {result.sha256})")
