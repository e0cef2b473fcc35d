"""The ``music-reasoning`` command: a thin layer over the library.

Each command parses its options, calls one library function and renders the result
(human text, or ``--json``).  Results go to stdout; logs and progress to stderr.
:func:`main` is the one place that turns errors into a message, a suggestion and an
exit code (tracebacks only with ``--debug``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from music_reasoning.cli._options import model_option
from music_reasoning.cli._output import (
    Progress,
    echo_json,
    echo_rows,
    error_json_pending,
    json_option,
    reset,
)
from music_reasoning.cli.bench_cmd import bench
from music_reasoning.cli.eval_cmd import eval_command
from music_reasoning.cli.models_cmd import models
from music_reasoning.cli.serve_cmd import serve
from music_reasoning.cli.telemetry_cmd import telemetry
from music_reasoning.config import load_settings
from music_reasoning.engine.runtime import _params, get_engine
from music_reasoning.errors import EXIT_CODES, InvalidInputError, MusicReasoningError
from music_reasoning.params import DEFAULT_MAX_TOKENS, PRESETS, validate_prompt
from music_reasoning.redact import redact_url
from music_reasoning.sdk import MODES, TIERS, ExplanationResult, Hybrid, configure
from music_reasoning.sdk import chord as sdk_chord
from music_reasoning.sdk import progression as sdk_progression
from music_reasoning.sdk import scale as sdk_scale
from music_reasoning.sdk.api import parse_chord
from music_reasoning.sdk.teacher import LEVELS, Level

if TYPE_CHECKING:
    from music_reasoning.engine.chat import ChatSession
    from music_reasoning.sdk.conversation import Conversation

__all__ = ["cli", "main"]

_DEBUG = {"on": False}


def _configure_logging(verbose: int, debug: bool) -> None:
    level = logging.DEBUG if debug or verbose >= 2 else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    from music_reasoning.redact import RedactingFilter

    handler.addFilter(RedactingFilter())
    root = logging.getLogger("music_reasoning")
    root.handlers[:] = [handler]
    root.setLevel(level)


_preset = click.option("--preset", type=click.Choice(list(PRESETS)), default=None)
_temperature = click.option(
    "--temperature", type=float, default=None, help="0-1; overrides --preset."
)
_max_tokens = click.option("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, show_default=True)
_timeout = click.option(
    "--timeout",
    type=float,
    default=None,
    help="Seconds per model answer (default: the timeout setting, 30).",
)
_model = model_option
_as_json = json_option
_level = click.option(
    "--level",
    type=click.Choice(LEVELS),
    default="intermediate",
    show_default=True,
    help="How much the explanation teaches.",
)


class _OutputClosed(Exception):
    """The reader of stdout went away (``music-reasoning ... | head``)."""


class _Group(click.Group):
    """The top group: a closed stdout ends the command for :func:`main` to stop quietly.

    click itself would turn the ``BrokenPipeError`` into a bare exit status 1.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:  # --help and --version print while the arguments are parsed
            return super().make_context(*args, **kwargs)
        except BrokenPipeError as exc:
            raise _OutputClosed from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _OutputClosed from exc


@click.group(cls=_Group)
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="music-reasoning")
def cli(verbose: int, debug: bool) -> None:
    """Explain music theory offline with a local language model."""
    _DEBUG["on"] = debug
    _configure_logging(verbose, debug)


@cli.command()
@click.argument("question")
@_preset
@_temperature
@_max_tokens
@_timeout
@_model
@click.option("--stream", is_flag=True, help="Print the answer as it is generated.")
@click.option(
    "--grounded",
    is_flag=True,
    help="If the question names a chord, scale, progression or concept, answer from the "
    "theory layer's facts with a checked explanation (as `chord ... --explain`; --stream and "
    "--preset do not apply there).",
)
@_level
@_as_json
def ask(
    question: str,
    preset: str | None,
    temperature: float | None,
    max_tokens: int,
    timeout: float | None,
    model: str | None,
    stream: bool,
    grounded: bool,
    level: Level,
    as_json: bool,
) -> None:
    """Answer one QUESTION."""
    max_chars = load_settings().max_prompt_chars
    if grounded:
        validate_prompt(question, max_chars=max_chars)
        if _answer_grounded(question, model, timeout, temperature, level, as_json):
            return
    with _recorded("ask", model):
        validate_prompt(question, max_chars=max_chars)  # before looking for the model
        engine = get_engine(model)
        params = _params(engine, temperature, preset, max_tokens, timeout)
        engine.load()  # a model that cannot load fails before the answer's label is shown
        click.echo("(the model alone: unverified)", err=True)
        if stream and not as_json:
            for chunk in engine.stream(question, params):
                click.echo(chunk, nl=False)
            click.echo()
            return
        completion = engine.complete(question, params)
        if as_json:
            echo_json(
                {
                    "question": question,
                    "answer": completion.text,
                    "source": "local",
                    "verified": False,
                    **completion.metrics.to_dict(),
                }
            )
        else:
            click.echo(completion.text)


def _answer_grounded(
    question: str,
    model: str | None,
    timeout: float | None,
    temperature: float | None,
    level: Level,
    as_json: bool,
) -> bool:
    """Answer from the facts when the question names a subject; False when it names none."""
    from music_reasoning.sdk.question import explain_question

    hybrid = _grounded_hybrid(model, timeout)
    result = explain_question(question, hybrid=hybrid, temperature=temperature, level=level)
    if result is None:
        click.echo(
            "(no chord, scale, progression or concept named: the model answers alone)", err=True
        )
        return False
    if as_json:
        echo_json({"question": question, **result.to_dict()})
        return True
    _print_result(result)
    return True


def _grounded_hybrid(model: str | None, timeout: float | None) -> Hybrid:
    """A Hybrid of the command's own (the process-wide default stays as it was)."""
    from music_reasoning.sdk.api import build_hybrid
    from music_reasoning.sdk.backends import LocalBackend

    return build_hybrid(
        local=LocalBackend(model),
        settings=load_settings(**({} if timeout is None else {"timeout": timeout})),
    )


def _print_result(result: ExplanationResult) -> None:
    if result.explanation:
        click.echo(result.explanation)
    else:
        _render_rows(result.data.to_dict())
    _report(result)


@contextmanager
def _recorded(event: str, model: str | None) -> Iterator[None]:
    """Record a telemetry event for the command (only when the user opted in)."""
    settings = load_settings()
    if not settings.telemetry:
        yield
        return
    from music_reasoning.engine.runtime import get_pool
    from music_reasoning.sdk.telemetry import Telemetry

    started, code = time.perf_counter(), None
    try:
        yield
    except MusicReasoningError as exc:
        code = exc.code
        raise
    except KeyboardInterrupt:
        code = "INTERRUPTED"
        raise
    except BaseException:
        code = "UNEXPECTED"
        raise
    finally:
        with Telemetry(settings) as tele:
            try:
                name: str | None = str(get_pool().resolve(model))
            except MusicReasoningError:
                name = model
            tele.record(
                event,
                latency_ms=(time.perf_counter() - started) * 1000,
                model=name,
                tier=settings.tier,
                source="local",
                error_code=code,
            )


@cli.command()
@_preset
@_temperature
@_max_tokens
@_timeout
@_model
@click.option(
    "--grounded",
    is_flag=True,
    help="A question that names a chord, scale, progression or concept is answered from "
    "the facts (as `ask --grounded`), and so is a follow-up about it ('where does it "
    "resolve?', 'more simply'); the model answers the rest with those facts in context, "
    "checked against them.",
)
@_level
@click.pass_context
def chat(
    ctx: click.Context,
    preset: str | None,
    temperature: float | None,
    max_tokens: int,
    timeout: float | None,
    model: str | None,
    grounded: bool,
    level: Level,
) -> None:
    """Talk with the model; /reset clears the history, /exit quits.

    A question that fails (a timeout, an invalid question) is reported on stderr and
    the session goes on.  The exit status is 0 when every question was answered, else
    the exit code of the failures' error code (1 when they differ).
    """
    from music_reasoning.engine.chat import ChatSession
    from music_reasoning.sdk.conversation import Conversation

    engine = get_engine(model)
    session = ChatSession(
        preset=preset,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout=timeout,
        engine=engine,
    )
    talk = (
        Conversation(hybrid=_grounded_hybrid(model, timeout), level=level, temperature=temperature)
        if grounded
        else None
    )
    engine.load()  # a model that cannot load ends the session before it starts
    click.echo("Ask a music-theory question (/reset, /exit).", err=True)
    if talk is None:
        click.echo("(the model alone answers: unverified; --grounded checks answers)", err=True)
    asked, failures = 0, []
    while True:
        try:
            line = click.prompt("you", prompt_suffix="> ", err=True)
        except (EOFError, click.Abort):
            break
        except UnicodeDecodeError:  # a line that is not text: this turn fails, the chat goes on
            asked += 1
            _echo_error(
                InvalidInputError(
                    "That line is not UTF-8 text.", suggestion="Type the question again."
                )
            )
            failures.append(InvalidInputError.code)
            continue
        if line.strip() in {"/exit", "/quit"}:
            break
        if line.strip() == "/reset":
            session.reset()
            if talk is not None:
                talk.reset()
            click.echo("(history cleared)", err=True)
            continue
        asked += 1
        printed = False
        try:
            if talk is not None and _chat_grounded(line, talk, session):
                continue
            for chunk in session.stream(line):
                printed = True
                click.echo(chunk, nl=False)
            click.echo()
        except MusicReasoningError as exc:  # this turn failed; the conversation goes on
            if printed:
                click.echo()
            _echo_error(exc)
            failures.append(exc.code)
    if failures:
        click.echo(f"({len(failures)} of {asked} questions got no answer)", err=True)
        ctx.exit(_failure_exit_code(failures))


def _chat_grounded(line: str, talk: Conversation, session: ChatSession) -> bool:
    """One `chat --grounded` turn; False when the model should answer alone.

    From the facts when the line names a subject or follows up on one; else, with a
    subject, the model answers with its facts as an earlier turn and its answer is shown
    only when nothing in it contradicts them.
    """
    result = talk.ask(line)
    if result is not None:
        _print_result(result)
        for turn in talk.context():  # the model's later turns see the facts
            session.add_turn(*turn)
        return True
    subject = talk.subject
    if subject is None:
        click.echo("(nothing named: the model answers alone, unverified)", err=True)
        return False
    answer = session.ask(line)
    problems = talk.check(answer)
    name = subject.lesson.subject if subject.lesson is not None else "the subject"
    if problems:
        session.forget_last()
        click.echo(
            f"(the model's answer contradicted the facts about {name}: {'; '.join(problems)}; "
            "not shown. Ask about its notes, keys, resolution, substitutes or uses, or "
            "'more simply', to get the checked lesson)",
            err=True,
        )
        click.echo(subject.lesson.text if subject.lesson is not None else subject.explanation)
        return True
    click.echo(answer)
    click.echo(f"source: local, checked against the facts about {name}", err=True)
    return True


def _failure_exit_code(codes: list[str]) -> int:
    """The exit code for failed items: their code's, or 1 when the codes differ."""
    return EXIT_CODES.get(codes[0], 1) if len(set(codes)) == 1 else 1


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="JSONL answers (default: SOURCE with .answers.jsonl).",
)
@_preset
@_temperature
@_max_tokens
@_timeout
@_model
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@click.pass_context
def batch(
    ctx: click.Context,
    source: Path,
    output: Path | None,
    preset: str | None,
    temperature: float | None,
    max_tokens: int,
    timeout: float | None,
    model: str | None,
    quiet: bool,
) -> None:
    """Answer every prompt in SOURCE (text lines or JSONL); rerun to resume.

    Prints a JSON summary.  The exit status is 0 only when every prompt has an answer;
    when some failed, it is the exit code of their error code (1 when they differ), and
    the summary's failed_ids and errors say which.
    """
    from music_reasoning.engine.batch_file import BatchFile

    output = output or source.with_suffix(".answers.jsonl")
    with BatchFile(source, output) as job:  # input and output checked before loading
        engine = get_engine(model)
        params = _params(engine, temperature, preset, max_tokens, timeout)
        with Progress("batch", unit="prompt", total=len(job.todo), quiet=quiet) as progress:
            summary = job.run(engine, params, on_progress=progress.update)
    echo_json(summary.to_dict())
    if summary.failed:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(summary.errors.items()))
        click.echo(
            f"batch: {summary.failed} of {len(job.todo)} prompts failed ({codes}); their "
            f"lines in {output} say why, and a rerun tries them again",
            err=True,
        )
        ctx.exit(_failure_exit_code(list(summary.errors)))


@cli.command()
@_model
@_as_json
def status(model: str | None, as_json: bool) -> None:
    """Load the model and show what is loaded, where, and on which hardware."""
    st = get_engine(model).load()
    (echo_json if as_json else _render_rows)(st.to_dict())


@cli.command()
@_model
@_as_json
def warmup(model: str | None, as_json: bool) -> None:
    """Load the model and evaluate the fixed prompt prefix."""
    metrics = get_engine(model).warmup()
    if as_json:
        echo_json(metrics.to_dict())
    else:
        load = metrics.model_load_ms
        click.echo(f"warm (load {load:.0f} ms)" if load is not None else "warm (already loaded)")


def _render_rows(rows: dict[str, Any]) -> None:
    for key, value in rows.items():
        if isinstance(value, list | tuple) and value and isinstance(value[0], dict):
            click.echo(f"{key}:")
            for entry in value:
                click.echo("  " + ", ".join(f"{k}={v}" for k, v in entry.items()))
        else:
            click.echo(f"{key:16} {_cell(value)}")


def _cell(value: Any) -> str:
    """One value as a person reads it: lists joined, floats rounded, nothing as '-'."""
    if value is None or value == [] or value == ():
        return "-"
    if isinstance(value, list | tuple):
        return " ".join(map(str, value))
    if isinstance(value, float):
        return str(round(value, 2))
    return str(value)


def _explain_options(f: Any) -> Any:
    """``--explain`` and the SDK options that go with it."""
    f = _timeout(f)
    f = _level(f)
    f = click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")(f)
    f = click.option("--mode", type=click.Choice(MODES), default=None, help="SDK mode.")(f)
    f = click.option("--tier", type=click.Choice(list(TIERS)), default=None, help="SDK tier.")(f)
    return click.option(
        "--explain", is_flag=True, help="Add an explanation checked against the facts."
    )(f)


def _show(
    info: Any, explain: Callable[[], ExplanationResult] | None, as_json: bool, **sdk: Any
) -> None:
    """Print theory facts, and with ``--explain`` the SDK's verified explanation."""
    if explain is None:
        (echo_json if as_json else _render_rows)(info.to_dict())
        return
    overrides = {name: value for name, value in sdk.items() if value is not None}
    if overrides:
        configure(settings=load_settings(**overrides))
    result = explain()
    if as_json:
        echo_json(result.to_dict())
        return
    _render_rows(info.to_dict())
    click.echo()
    if result.explanation:
        click.echo(result.explanation)
    _report(result)


def _report(result: ExplanationResult) -> None:
    """On stderr: why there is no explanation, where it came from, what was corrected."""
    if result.error:
        click.echo(f"no explanation [{result.error.code}]: {result.error.message}", err=True)
        click.echo(f"  suggestion: {result.error.suggestion}", err=True)
    click.echo(f"source: {result.source}, verified: {result.verified}", err=True)
    for note in result.corrections:
        click.echo(f"correction: {note}", err=True)


@cli.command()
@click.argument("items", nargs=-1, required=True)
@_explain_options
@_as_json
def chord(
    items: tuple[str, ...],
    explain: bool,
    tier: str | None,
    mode: str | None,
    timeout: float | None,
    level: Level,
    no_cache: bool,
    as_json: bool,
) -> None:
    """Name a chord from its notes (C E G) or spell a chord symbol (Bb7, C/E)."""
    given: str | list[str] = items[0] if len(items) == 1 else list(items)
    info = parse_chord(given)
    run = (
        (lambda: sdk_chord.explain(given, use_cache=not no_cache, level=level)) if explain else None
    )
    _show(info, run, as_json, tier=tier, mode=mode, timeout=timeout)


@cli.command()
@click.argument("root")
@click.argument("kind", nargs=-1, required=True, metavar="TYPE")
@_explain_options
@_as_json
def scale(
    root: str,
    kind: tuple[str, ...],
    explain: bool,
    tier: str | None,
    mode: str | None,
    timeout: float | None,
    level: Level,
    no_cache: bool,
    as_json: bool,
) -> None:
    """Spell a scale: ROOT TYPE, e.g. `D dorian` or `A harmonic minor`."""
    from music_reasoning.theory import get_scale

    info = get_scale(root, " ".join(kind))
    run = (
        (lambda: sdk_scale.explain(root, " ".join(kind), use_cache=not no_cache, level=level))
        if explain
        else None
    )
    _show(info, run, as_json, tier=tier, mode=mode, timeout=timeout)


@cli.command()
@click.argument("chords", nargs=-1, required=True)
@click.option("--key", default=None, help="Analyse in this key instead of detecting it.")
@_explain_options
@_as_json
def progression(
    chords: tuple[str, ...],
    key: str | None,
    explain: bool,
    tier: str | None,
    mode: str | None,
    timeout: float | None,
    level: Level,
    no_cache: bool,
    as_json: bool,
) -> None:
    """Analyse a progression: key, roman numerals, functions, cadences, patterns."""
    from music_reasoning.theory import analyze_progression

    info = analyze_progression(list(chords), key=key)
    run = (
        (
            lambda: sdk_progression.analyze(
                list(chords), key=key, use_cache=not no_cache, level=level
            )
        )
        if explain
        else None
    )
    _show(info, run, as_json, tier=tier, mode=mode, timeout=timeout)


@cli.command()
@click.argument("concept")
@click.option("--key", default=None, help="Realize the examples in this key (Eb, F# minor).")
@_level
@_as_json
def explain(concept: str, key: str | None, level: Level, as_json: bool) -> None:
    """Explain a CONCEPT ("tritone substitution"), with examples computed in a key."""
    from music_reasoning.sdk.concepts import explain_concept

    result = explain_concept(concept, key=key, level=level)
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(result.explanation)


@cli.group("config")
def config_group() -> None:
    """Inspect configuration."""


_SECRET_SETTINGS = ("cloud_api_key",)


@config_group.command("show")
@_as_json
def config_show(as_json: bool) -> None:
    """Print every setting and where its value came from."""
    settings = load_settings()
    rows = {
        name: {"value": getattr(settings, name), "source": source}
        for name, source in settings.sources.items()
    }
    for name, row in rows.items():
        if name in _SECRET_SETTINGS and row["value"]:
            row["value"] = "(set, hidden)"
        elif isinstance(row["value"], str):
            row["value"] = redact_url(row["value"])  # cloud_base_url, telemetry_endpoint
    if as_json:
        echo_json(rows)
        return
    echo_rows((name, f"{row['value']!s:40} ({row['source']})") for name, row in rows.items())


cli.add_command(telemetry)
cli.add_command(models)
cli.add_command(serve)
cli.add_command(eval_command)
cli.add_command(bench)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map errors to one line on stderr and an exit code.

    A reader of stdout that went away (``| head``) ends it quietly with 141.
    """
    reset()
    try:
        return _run(argv)
    except (_OutputClosed, BrokenPipeError):
        return _output_closed()


def _output_closed() -> int:
    """Stop quietly when the reader of the output has gone (``| head``), as git and ls do.

    As Python's docs advise (the signal module's note on SIGPIPE), stdout and stderr are
    pointed at /dev/null, so that the interpreter's last flush at exit does not fail
    again ("Exception ignored ... BrokenPipeError").  The status is 141, 128 + SIGPIPE,
    what a shell reports for a command that a closed pipe stopped.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, OSError, ValueError):  # no real file
                os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
    return 141


def _run(argv: list[str] | None) -> int:
    """The command's exit code; a coded error is printed here (a closed pipe is not)."""
    try:
        rc = cli.main(args=argv, prog_name="music-reasoning", standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
    except MusicReasoningError as exc:
        _echo_error(exc)
        if error_json_pending():  # a script reading stdout gets a document
            echo_json({"error": exc.to_dict()})
        return EXIT_CODES.get(exc.code, 1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return rc if isinstance(rc, int) else 0


def _echo_error(exc: MusicReasoningError) -> None:
    """The error's code, message and suggestion on stderr (its traceback with --debug)."""
    if _DEBUG["on"]:
        logging.getLogger("music_reasoning").error("failed", exc_info=exc)
    click.echo(f"error [{exc.code}]: {exc.message}", err=True)
    click.echo(f"  suggestion: {exc.suggestion}", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
