"""Every CLI command under hypothesis-generated arguments, files, stdin and home state.

Each example runs :func:`music_reasoning.cli.main.main` in this process (so the real
embedded model is loaded once: the engine pool is process-wide) with the standard streams
of a real process in a UTF-8 locale: stdin and stdout strict UTF-8, stderr
``backslashreplace``.  It must end in success (0), a click usage error (2, ``Usage:`` or
``Error:``) or a coded error (``error [CODE]`` with a suggestion, and the code's exit
status) -- never an exception escaping ``main()`` nor ``Traceback`` in the output.

Each example gets a fresh ``MUSIC_REASONING_HOME`` whose model cache holds hard links to
the assembled embedded model (so nothing is assembled again, and ``models rm`` removes
only a link).  Model-calling paths use small ``--max-tokens`` and ``--timeout 60``, and get
few examples; ``bench`` is driven only down its validation paths.  No example reaches the
network: downloads go to a loopback server or a closed loopback port, and a guard refuses
to resolve any other host.

:func:`test_every_leaf_command_is_fuzzed` lists the commands from the click group itself,
so a new command without fuzz coverage fails it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import socket
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import llama_cpp
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from music_reasoning.cli.main import cli, main
from music_reasoning.errors import EXIT_CODES
from music_reasoning.server.config import is_loopback
from tests.support.http_server import FileServer
from tests.support.hub_server import HubRepo, HubServer

# -- which commands each test drives ----------------------------------------------------------
FUZZED: set[tuple[str, ...]] = set()


def fuzzes(*commands: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Record that the decorated test drives ``commands`` ("models pull", "chord")."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        FUZZED.update(tuple(c.split()) for c in commands)
        return fn

    return mark


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every command of ``group`` that is not itself a group, as its argv prefix."""
    found: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= leaf_commands(command, (*prefix, name))
        else:
            found.add((*prefix, name))
    return found


# -- running the CLI as a process would --------------------------------------------------------
# chat's prompt ("you> ") may stand before an error when stdin is not a terminal
_ERROR_LINE = re.compile(r"^(?:you> )*error \[([A-Z_]+)\]: ", re.MULTILINE)
# batch's closing line: "batch: 1 of 1 prompts failed (INVALID_INPUT 1); ..."
_BATCH_FAILED = re.compile(
    r"^batch: \d+ of \d+ prompts failed \(((?:[A-Z_]+ \d+(?:, )?)+)\)", re.MULTILINE
)


@dataclass
class Outcome:
    argv: list[str]
    rc: int | None
    stdout: str
    stderr: str
    escaped: str | None = None  # the traceback of an exception that escaped main()

    def describe(self) -> str:
        return (
            f"argv={self.argv!r}\nrc={self.rc}\n--- stdout\n{self.stdout[-3000:]}\n"
            f"--- stderr\n{self.stderr[-3000:]}\n--- escaped\n{self.escaped or ''}"
        )


def invoke(argv: list[str], stdin: bytes = b"") -> Outcome:
    """Run ``main(argv)`` with real-process standard streams over in-memory buffers."""
    out, err = io.BytesIO(), io.BytesIO()
    streams = (
        io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="strict"),
        io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True),
        io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True),
    )
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = streams
    rc: int | None = None
    escaped = None
    try:
        rc = main(list(argv))
    except BaseException:  # anything escaping main() is what this test looks for
        escaped = traceback.format_exc()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    decode = lambda b: b.getvalue().decode("utf-8", "replace")  # noqa: E731
    return Outcome(list(argv), rc, decode(out), decode(err), escaped)


def assert_clean(o: Outcome, *, mixed_failures_ok: bool = False) -> None:
    """Success, a click usage error or a coded error; never a traceback.

    ``mixed_failures_ok``: exit 1 is also fine after per-item failures of different codes
    (``chat``, ``batch``), when the command says so.
    """
    codes = _ERROR_LINE.findall(o.stderr)
    event(f"{o.argv[0]}: exit {o.rc}" + (f" {codes[-1]}" if codes else ""))  # statistics
    assert o.escaped is None, o.describe()
    assert "Traceback" not in o.stdout + o.stderr, o.describe()
    if o.rc == 0:
        return
    batch = _BATCH_FAILED.search(o.stderr)
    if batch:  # per-prompt failures: one code gives its exit status, several give 1
        failed = [part.split()[0] for part in batch.group(1).split(", ")]
        assert o.rc == (EXIT_CODES[failed[0]] if len(failed) == 1 else 1), o.describe()
        return
    if o.rc == 2 and not codes:
        assert "Usage:" in o.stderr or "Error:" in o.stderr, o.describe()
        return
    if mixed_failures_ok and o.rc == 1:
        assert codes, o.describe()
        return
    assert codes, f"exit {o.rc} without an `error [CODE]` line\n{o.describe()}"
    assert "  suggestion: " in o.stderr, o.describe()
    assert o.rc == EXIT_CODES.get(codes[-1]), o.describe()


# -- fresh state per example -------------------------------------------------------------------
@dataclass(frozen=True)
class Home:
    """What the example's MUSIC_REASONING_HOME holds besides the linked model."""

    config: bytes | None = None  # config/config.toml
    registry: bytes | None = None  # config/models.toml
    events: bytes | None = None  # cache/telemetry.jsonl
    env: tuple[tuple[str, str], ...] = ()  # MUSIC_REASONING_* variables


@dataclass(frozen=True)
class PathArg:
    """An argument that becomes a path when the example runs (the file made then)."""

    kind: str  # file, gguf, dir, missing, missing-parent, or an absolute path
    content: bytes = b""

    def make(self, tmp: Path) -> str:
        if self.kind.startswith("/"):
            return self.kind
        path = tmp / f"arg-{id(self)}"
        if self.kind == "file":
            path.write_bytes(self.content)
        elif self.kind == "gguf":  # the magic, then anything: llama.cpp must refuse it
            path.write_bytes(b"GGUF" + self.content)
        elif self.kind == "dir":
            path.mkdir()
        elif self.kind == "missing-parent":
            return str(path / "no" / "such" / "file")
        return str(path)


@dataclass
class Run:
    """One example: where it runs and how its arguments become strings."""

    tmp: Path
    model_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def argv(self, args: list[Any]) -> list[str]:
        return [a.make(self.tmp) if isinstance(a, PathArg) else a for a in args]


_SAVED_ENV = ("HOME", "MODEL_PATH", "TIMEOUT", "N_CTX", "N_PARALLEL", "MAX_PROMPT_CHARS")


@contextlib.contextmanager
def fresh_home(
    model_path: Path, home: Home | None = None, *, pinned_model: bool = True
) -> Iterator[Run]:
    """A new MUSIC_REASONING_HOME for one example, the model linked in; env restored after."""
    from music_reasoning.sdk import api

    home = home or Home()
    saved = {k: v for k, v in os.environ.items() if k.startswith("MUSIC_REASONING_")}
    with tempfile.TemporaryDirectory(prefix="cli-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "home"
        models = root / "cache" / "models"
        models.mkdir(parents=True)
        (root / "config").mkdir()
        for f in model_path.parent.iterdir():
            if f.name.endswith((".gguf", ".sha256")):
                os.link(f, models / f.name)
        for rel, data in (
            ("config/config.toml", home.config),
            ("config/models.toml", home.registry),
            ("cache/telemetry.jsonl", home.events),
        ):
            if data is not None:
                (root / rel).write_bytes(data)
        for key in [k for k in os.environ if k.startswith("MUSIC_REASONING_")]:
            del os.environ[key]
        os.environ["MUSIC_REASONING_HOME"] = str(root)
        if pinned_model:
            os.environ["MUSIC_REASONING_MODEL_PATH"] = str(model_path)
        for key, value in home.env:
            os.environ[f"MUSIC_REASONING_{key}"] = value
        api._default = None  # the SDK's process-wide hybrid: built again in this home
        try:
            yield Run(tmp, model_path)
        finally:
            api._default = None
            for key in [k for k in os.environ if k.startswith("MUSIC_REASONING_")]:
                del os.environ[key]
            os.environ.update(saved)


# -- strategies --------------------------------------------------------------------------------
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=30)
raw_bytes_arg = st.binary(max_size=30).map(os.fsdecode)  # bytes that are not UTF-8: surrogates
long_text = st.sampled_from([2_000, 100_000, 1_000_000]).map(lambda n: "ab ü" * (n // 4))
NUMBERS = [
    "nan", "NaN", "inf", "-inf", "-1", "0", "1", "2", "1e309", "-1e309", "1e-320", "True",
    "", " ", "1.5", " 7 ", "٣", "99999999999999999999999", "0x10", "1_0", "-0", "4",
]  # fmt: skip
number = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers().map(str),
    st.floats().map(str),
)
MUSIC_WORDS = [
    "C", "E", "G", "Bb7", "C/E", "Cmaj7", "F#m7b5", "D", "dorian", "harmonic", "minor",
    "major", "A", "H", "C##", "Dbb", "X", "ii", "V7", "N6", "It+6", "Cdim7", "E-", "--key",
    "--json", "-v", "--debug", "--help",
]  # fmt: skip
NAMES = [
    "gemma3-270m", "gemma3-270m:Q4_K_M", "gemma3-270m:Q8_0", "core3b:v4.5", "core3b:v4.8:F16",
    "core3b", ":", "::", "a:", ":b", "../x", "..", ".", "/", "~", "x.gguf", "fuzz-model",
]  # fmt: skip
ODD_TEXT = ["\udcff", "C\udcff", "\ud800", "\x00", "C\x00", "\u200b", "\n", "-", "--", "\ufeff"]
arg = st.one_of(
    any_text,
    raw_bytes_arg,
    number,
    st.sampled_from(MUSIC_WORDS),
    st.sampled_from(ODD_TEXT),
    long_text,
)
name_arg = st.one_of(st.sampled_from(NAMES), st.sampled_from(ODD_TEXT), any_text, raw_bytes_arg)

text_lines = st.lists(any_text, max_size=4).map(
    lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")
)
json_lines = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "prompt": st.one_of(any_text, st.integers(), st.none(), st.lists(st.integers())),
            "id": st.one_of(any_text, st.integers(), st.floats(), st.booleans(), st.none()),
            "extra": any_text,
        },
    ).map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    max_size=3,
).map(b"\n".join)
file_bytes = st.one_of(
    st.just(b""),
    st.binary(max_size=600),
    text_lines,
    json_lines,
    st.tuples(text_lines, st.binary(min_size=1, max_size=4)).map(lambda t: t[0] + b"\xff" + t[1]),
    st.sampled_from([b"\x00" * 10, b"What is a chord?\x00\n", b"\xef\xbb\xbf", b"\xff\xfe"]),
    st.sampled_from([b"a" * 3_000_000, b"\n" * 100_000 + b"\xff"]),  # huge
)
SPECIAL_PATHS = ["/dev/null", "/proc/version", "/proc/self/status", "/proc", "/dev/full"]
path_arg = st.one_of(
    st.builds(PathArg, st.just("file"), file_bytes),
    st.builds(PathArg, st.just("gguf"), st.binary(max_size=64)),
    st.sampled_from(["dir", "missing", "missing-parent", *SPECIAL_PATHS]).map(PathArg),
)

SETTINGS_NAMES = [
    "timeout", "n_ctx", "max_prompt_chars", "tier", "mode", "telemetry", "cache_enabled",
    "default_model", "cloud_base_url", "telemetry_endpoint", "max_turns", "keep_alive",
    "cache_max_entries", "unknown_key",
]  # fmt: skip
toml_value = st.one_of(
    any_text.map(lambda s: json.dumps(s)),
    st.integers().map(str),
    st.sampled_from(["nan", "inf", "-inf", "true", "false", "[]", "{}", "1979-05-27", '"on"']),
)
toml_file = st.one_of(
    file_bytes,
    st.dictionaries(st.sampled_from(SETTINGS_NAMES), toml_value, max_size=4).map(
        lambda d: "".join(f"{k} = {v}\n" for k, v in d.items()).encode("utf-8", "surrogatepass")
    ),
)
registry_file = st.one_of(
    file_bytes,
    st.builds(
        lambda name, q, key, value: (
            f'[models."{name}"]\n{key} = {value}\n[models."{name}".variants.{q}]\n'
            f"filename = {json.dumps(q)}\n"
        ).encode("utf-8", "surrogatepass"),
        st.sampled_from(["gemma3-270m", "fuzz", "core3b:v4.5", ""]),
        st.sampled_from(["Q4_K_M", "F16", "x"]),
        st.sampled_from(["context_length", "prompt_format", "default_variant", "license"]),
        toml_value,
    ),
)
env_values = st.lists(
    st.tuples(
        st.sampled_from([n.upper() for n in SETTINGS_NAMES if n != "unknown_key"]),
        st.one_of(st.sampled_from(NUMBERS), st.text(max_size=10)).filter(lambda v: "\x00" not in v),
    ),
    max_size=3,
).map(tuple)
homes = st.builds(
    Home,
    config=st.none() | toml_file,
    registry=st.none() | registry_file,
    events=st.none() | file_bytes,
    env=env_values,
)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(autouse=True, scope="module")
def _loopback_only() -> Iterator[None]:
    """Refuse to resolve any host but loopback: no example may reach the network."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in {"127.0.0.1", "localhost", "::1"}:
            raise socket.gaierror(socket.EAI_NONAME, f"test guard: {name} is not loopback")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = guarded  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = real  # type: ignore[assignment]


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    derandomize=False,
    print_blob=True,  # a failure in CI prints the @reproduce_failure line that replays it
)


# -- the tests ---------------------------------------------------------------------------------
def test_every_leaf_command_is_fuzzed() -> None:
    assert leaf_commands(cli) == FUZZED, "commands without a fuzz test: " + str(
        sorted(leaf_commands(cli) - FUZZED)
    )


@fuzzes("chord", "scale", "progression", "explain")
@settings(FUZZ, max_examples=200)
@given(
    command=st.sampled_from(["chord", "scale", "progression", "explain"]),
    args=st.lists(arg, max_size=5),
    options=st.lists(
        st.sampled_from(["--no-cache", "--key", "--mode", "--tier", "--timeout", "--level"]) | arg,
        max_size=3,
    ),
    as_json=st.booleans(),
    home=homes,
)
# Found by this test: a coded error whose message holds a byte that is not UTF-8
# (`chord $'\\xff' --json`) printed with --json as {"error": ...} on a strict UTF-8 stdout
# raised UnicodeEncodeError.
@example(command="chord", args=["\udcff"], options=[], as_json=True, home=Home())
def test_theory_commands(
    model_path: Path,
    command: str,
    args: list[str],
    options: list[str],
    as_json: bool,
    home: Home,
) -> None:
    json_flag = ["--json"] if as_json else []
    with fresh_home(model_path, home) as run:
        assert_clean(invoke(run.argv([command, *args, *options, *json_flag])))


@fuzzes("chord", "scale", "progression")
@settings(FUZZ, max_examples=5)
@given(
    argv=st.sampled_from(
        [
            ["chord", "C", "E", "G"],
            ["chord", "Bb7"],
            ["scale", "D", "dorian"],
            ["progression", "C", "F", "G", "C"],
            ["progression", "Dm7", "G7", "Cmaj7", "--key", "C"],
        ]
    ),
    extra=st.lists(st.one_of(arg, st.sampled_from(["--json", "--no-cache"])), max_size=1),
    tier=st.none() | st.sampled_from(["free", "creator", "pro", "x"]),
    mode=st.none() | st.sampled_from(["auto", "local", "cloud", "deterministic", "x"]),
)
def test_theory_commands_explain_with_the_model(
    model_path: Path, argv: list[str], extra: list[str], tier: str | None, mode: str | None
) -> None:
    options = ["--explain", "--timeout", "60", *extra]
    options += ["--tier", tier] if tier else []
    options += ["--mode", mode] if mode else []
    with fresh_home(model_path):
        assert_clean(invoke([*argv, *options]))


@fuzzes("config show", "telemetry show", "telemetry on", "telemetry off")
@settings(FUZZ, max_examples=120)
@given(
    argv=st.sampled_from(
        [["config", "show"], ["telemetry", "show"], ["telemetry", "on"], ["telemetry", "off"]]
    ),
    extra=st.lists(st.sampled_from(["--json"]) | arg, max_size=2),
    home=homes,
)
# Found by this test: a float setting of inf escaped as OverflowError from int().
@example(argv=["config", "show"], extra=[], home=Home(config=b"n_ctx = inf\n"))
def test_config_and_telemetry(
    model_path: Path, argv: list[str], extra: list[str], home: Home
) -> None:
    with fresh_home(model_path, home, pinned_model=False):
        assert_clean(invoke([*argv, *extra]))


def _not_a_quant_type(to: str) -> bool:
    return not hasattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{to.upper()}")


models_offline = st.one_of(
    st.tuples(st.just(["models", "list"]), st.lists(st.just("--json") | arg, max_size=2)),
    st.tuples(st.just(["models", "info"]), st.lists(st.just("--json") | name_arg, max_size=2)),
    st.tuples(st.just(["models", "use"]), st.lists(name_arg, max_size=2)),
    st.tuples(st.just(["models", "rm"]), st.lists(st.just("--forget") | name_arg, max_size=2)),
    st.tuples(
        st.just(["models", "verify"]),
        st.lists(st.just("--json") | name_arg, max_size=2).filter(
            lambda a: not any(x.startswith("gemma3") for x in a) or len(a) < 2
        ),
    ),
    st.tuples(
        st.just(["models", "add"]),
        st.tuples(
            name_arg,
            st.lists(
                st.tuples(
                    st.sampled_from(
                        [
                            "--path",
                            "--url",
                            "--sha256",
                            "--size",
                            "--quantization",
                            "--format",
                            "--license",
                            "--context-length",
                            "--json",
                        ]
                    ),
                    st.one_of(path_arg, arg, st.just("http://127.0.0.1:9/x.gguf")),
                ),
                max_size=3,
            ),
        ).map(lambda t: [t[0], *(x for pair in t[1] for x in pair)]),
    ),
    st.tuples(
        st.just(["models", "quantize"]),
        st.one_of(
            # an unknown model, or --to junk: nothing is quantized for real
            st.tuples(name_arg.filter(lambda n: not n.startswith("gemma3")), arg, st.booleans()),
            st.tuples(st.just("gemma3-270m"), arg.filter(_not_a_quant_type), st.booleans()),
            st.tuples(st.just("gemma3-270m"), st.sampled_from(["Q8_0", "q4_0"]), st.just(False)),
        ).map(lambda t: [t[0], "--to", t[1], *(["--allow-requantize"] if t[2] else [])]),
    ),
)


@fuzzes("models list", "models info", "models use", "models rm", "models verify", "models add")
@fuzzes("models quantize")
@settings(FUZZ, max_examples=150)
@given(case=models_offline, home=homes)
# Found by this test: a lone surrogate as the type named a file before it was checked.
@example(
    case=(["models", "quantize"], ["gemma3-270m", "--to", "\ud800", "--allow-requantize"]),
    home=Home(),
)
def test_models_commands_offline(
    model_path: Path, case: tuple[list[str], list[Any]], home: Home
) -> None:
    command, args = case
    with fresh_home(model_path, home, pinned_model=False) as run:
        assert_clean(invoke(run.argv([*command, *args])))


@fuzzes("models pull", "models add")
@settings(FUZZ, max_examples=25)
@given(
    name=st.one_of(st.sampled_from(["fuzz", "fuzz:Q8_0", "gemma3-270m", "core3b:v4.5"]), name_arg),
    served=st.none() | st.binary(max_size=2000) | st.just(b"GGUF" + b"\x00" * 4000),
    right_sha=st.booleans(),
    sha=st.one_of(st.just("0" * 64), st.text("0123456789abcdefABCDEF", max_size=70), arg),
    parts=st.none() | number,
    quiet=st.booleans(),
)
def test_models_add_and_pull_from_loopback(
    model_path: Path,
    name: str,
    served: bytes | None,
    right_sha: bool,
    sha: str,
    parts: str | None,
    quiet: bool,
) -> None:
    with fresh_home(model_path, pinned_model=False), contextlib.ExitStack() as stack:
        if served is None:
            url = f"http://127.0.0.1:{closed_port()}/model.gguf"
            digest = sha
        else:
            url = stack.enter_context(FileServer(served)).url
            digest = hashlib.sha256(served).hexdigest() if right_sha else sha
        assert_clean(invoke(["models", "add", name, "--url", url, "--sha256", digest]))
        pull = ["models", "pull", name, *(["--parts", parts] if parts is not None else [])]
        assert_clean(invoke([*pull, *(["--quiet"] if quiet else [])]))


ollama_ref = st.sampled_from(
    ["tiny", "tiny:latest", "tiny:7b", "registry.ollama.ai/library/tiny:latest", "x/y/z/w"]
)
import_arg = st.one_of(
    st.just("ollama"),
    ollama_ref,
    st.sampled_from(["--json", "--quiet"]),
    name_arg,
    st.builds(PathArg, st.just("file"), st.binary(max_size=100)),
    st.builds(PathArg, st.just("gguf"), st.binary(max_size=64)),
    st.sampled_from(["dir", "missing", "missing-parent", "/dev/null"]).map(PathArg),
)


@fuzzes("models import", "models recommend")
@settings(FUZZ, max_examples=60)
@given(
    case=st.one_of(
        st.tuples(st.just(["models", "recommend"]), st.lists(st.just("--json") | arg, max_size=2)),
        st.tuples(
            st.just(["models", "import"]),
            st.tuples(
                st.one_of(
                    st.tuples(st.just("ollama"), ollama_ref | name_arg).map(list),
                    import_arg.map(lambda a: [a]),
                    st.lists(import_arg, max_size=3),
                ),
                st.lists(st.sampled_from(["--json", "--quiet"]), max_size=2, unique=True),
            ).map(lambda t: [*t[0], *t[1]]),
        ),
    ),
    with_store=st.booleans(),
    tampered=st.booleans(),
)
@example(case=(["models", "import"], ["ollama", "tiny", "--json"]), with_store=True, tampered=True)
@example(case=(["models", "import"], ["ollama", "tiny"]), with_store=True, tampered=False)
def test_models_import_and_recommend(
    model_path: Path, case: tuple[list[str], list[Any]], with_store: bool, tampered: bool
) -> None:
    """Only quick paths: an Ollama store of one tiny model (or none), small folders in the
    example's own temporary folder (never a walk of the repository or the file system)."""
    from tests.support.ollama_store import ollama_store, tiny_gguf

    command, args = case
    saved_cwd, saved_ollama = os.getcwd(), os.environ.get("OLLAMA_MODELS")
    with fresh_home(model_path, pinned_model=False) as run:
        argv = run.argv([*command, *args])
        try:
            os.chdir(run.tmp)
            for a in argv[2:]:  # a folder outside the example's own would be walked: not here
                with contextlib.suppress(OSError, ValueError, RuntimeError):
                    target = Path(a).expanduser().resolve()
                    assume(not target.is_dir() or target.is_relative_to(run.tmp.resolve()))
            os.environ["OLLAMA_MODELS"] = str(run.tmp / "ollama")
            if with_store:
                blob = ollama_store(run.tmp / "ollama", tiny_gguf(run.tmp / "t.gguf"))
                if tampered:
                    blob.write_bytes(blob.read_bytes()[:-1] + b"x")
            assert_clean(invoke(argv))
        finally:
            os.chdir(saved_cwd)
            if saved_ollama is None:
                os.environ.pop("OLLAMA_MODELS", None)
            else:
                os.environ["OLLAMA_MODELS"] = saved_ollama


HUB_SPECS = [
    "hf.co/acme/Tiny-GGUF", "hf.co/acme/Tiny-GGUF:Q4_K_M", "hf.co/acme/tiny-gguf:q8_0",
    "hf.co/acme/Tiny-GGUF:Q5_K_M", "hf.co/acme/Gated-GGUF", "hf.co/acme/Bad-GGUF",
    "hf.co/acme/Nope", "huggingface.co/acme/Tiny-GGUF", "hf.co/", "hf.co/acme", "hf.co/a/b/c",
    "hf.co/a/b:", "hf.co/../x:Q4_K_M", "hf.co/acme/Tiny-GGUF:\udcff", "HF.CO/acme/Tiny-GGUF",
]  # fmt: skip
hub_noise = st.one_of(
    st.builds(lambda t: "hf.co/" + t, st.one_of(any_text, raw_bytes_arg)),
    st.builds(lambda t: "hf.co/acme/Tiny-GGUF:" + t, arg),
)
# mostly real paths through a pull (7 in 10), the rest noise
hub_spec = st.integers(0, 9).flatmap(lambda n: st.sampled_from(HUB_SPECS) if n < 7 else hub_noise)


@contextlib.contextmanager
def hub_endpoint(live: bool) -> Iterator[None]:
    """HF_ENDPOINT at a loopback Hub (or a closed loopback port); HF_* restored after."""
    names = ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "HF_HOME")
    saved = {k: os.environ.get(k) for k in names}
    with contextlib.ExitStack() as stack:
        if live:
            gguf = b"GGUF" + b"\x01" * 3000
            hub = stack.enter_context(
                HubServer(
                    [
                        HubRepo("acme/Tiny-GGUF", {"t-Q4_K_M.gguf": gguf, "t-Q8_0.gguf": gguf}),
                        HubRepo("acme/Gated-GGUF", {"g-Q4_K_M.gguf": gguf}, gated=True),
                        HubRepo(
                            "acme/Bad-GGUF",
                            {"b-Q4_K_M.gguf": gguf},
                            published={"b-Q4_K_M.gguf": "0" * 64},
                        ),
                    ]
                )
            )
            os.environ["HF_ENDPOINT"] = hub.url
        else:
            os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
        os.environ.pop("HF_TOKEN", None)
        os.environ.update(HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="1")
        os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="cli-fuzz-hf-")
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@fuzzes("models pull")
@settings(FUZZ, max_examples=25)
@given(
    spec=hub_spec,
    live=st.booleans(),
    twice=st.booleans(),
    flags=st.lists(st.sampled_from(["--quiet", "--json", "--parts", "2"]), max_size=3),
)
@example(spec="hf.co/acme/Tiny-GGUF", live=True, twice=True, flags=["--json"])
def test_models_pull_hub_specs_from_loopback(
    model_path: Path, spec: str, live: bool, twice: bool, flags: list[str]
) -> None:
    """hf.co specs against a loopback Hub (a good, a gated and a lying repository) or a
    closed port: pulled, or a coded error; a second pull finds the pinned file."""
    with fresh_home(model_path, pinned_model=False), hub_endpoint(live):
        for _ in range(2 if twice else 1):
            o = invoke(["models", "pull", spec, *flags])
            assert_clean(o)
            if o.rc == 0 and "--json" in flags:
                assert json.loads(o.stdout)["model"].lower().startswith("hf.co/acme/")


@fuzzes("bench")
@settings(FUZZ, max_examples=60)
@given(
    guard=st.one_of(
        st.tuples(st.just("--runs"), number),
        st.tuples(st.just("--max-tokens"), number),
        st.tuples(st.just("--loads"), arg),
        st.tuples(st.just("--clients"), arg),
        st.tuples(st.just("--llama-server"), arg),
    ).filter(
        lambda g: g[0] in ("--loads", "--clients", "--llama-server") or not _int_at_least_one(g[1])
    ),
    extra=st.lists(
        st.one_of(st.sampled_from(["--variants", "--json", "--busy", "--server"]), arg),
        max_size=2,
    ),
    model=st.none() | name_arg,
)
# Found by this test: a --llama-server path too long for the file system was an OSError.
@example(
    guard=("--llama-server", "ab ü" * 2000),
    extra=[],
    model=None,
)
def test_bench_refuses_bad_options_before_running(
    model_path: Path, guard: tuple[str, str], extra: list[str], model: str | None
) -> None:
    if guard[0] == "--loads" and _valid_loads(guard[1]):
        guard = ("--loads", guard[1] + ",x")
    if guard[0] == "--clients":  # never a valid list: ",0" is refused
        guard = ("--clients", guard[1] + ",0")
    if guard[0] == "--llama-server":  # never an executable: the option is refused
        guard = ("--llama-server", "/nonexistent/" + guard[1].replace("/", "_"))
    # the guard comes last, so that no fuzzed option overrides it
    argv = ["bench", *extra, *(["--model", model] if model else []), *guard]
    if guard[0] == "--loads":
        argv.append("--busy")
    if guard[0] in ("--clients", "--llama-server"):
        argv.append("--server")
    with fresh_home(model_path):
        o = invoke(argv)
    assert_clean(o)
    shown_help = "--help" in argv and o.stdout.startswith("Usage:")
    assert o.rc != 0 or shown_help, f"bench ran for real:\n{o.describe()}"


def _int_at_least_one(text: str) -> bool:
    try:
        return int(text) >= 1
    except ValueError:
        return False


def _valid_loads(text: str) -> bool:
    try:
        counts = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        return False
    return bool(counts) and all(0 <= n <= 64 for n in counts)


# -- commands that call the model: few examples, small answers --------------------------------
model_arg = st.one_of(st.sampled_from(NAMES), path_arg, any_text, raw_bytes_arg)
BASE = {"--max-tokens": "4", "--timeout": "60"}
FUZZED_OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "--max-tokens": st.sampled_from(NUMBERS).filter(lambda v: not _int_at_least_one(v)),
    "--timeout": st.sampled_from(NUMBERS),
    "--temperature": number,
    "--preset": st.sampled_from(["factual", "creative", "highly_creative", "x", ""]),
    "--model": model_arg,
}


def one_fuzzed(*names: str, base: dict[str, str] = BASE) -> st.SearchStrategy[list[Any]]:
    """The options ``base`` with at most one of ``names`` set to a fuzzed value.

    One bad value per example: otherwise nearly every example stops at click's parsing
    and the paths behind it (the model, its errors) are never reached.
    """

    def build(name: str | None, value: Any) -> list[Any]:
        chosen: dict[str, Any] = dict(base)
        if name is not None:
            chosen[name] = value
        return [x for key, val in chosen.items() for x in (key, val)]

    return st.sampled_from([None, *names]).flatmap(
        lambda name: (FUZZED_OPTIONS[name] if name else st.none()).map(
            lambda value: build(name, value)
        )
    )


question_arg = st.one_of(
    st.sampled_from(["What is a triad?", "What notes are in a G7 chord?"]),
    st.sampled_from(["What is a triad?", "", "   ", "\x00", "What\udcff?", "\ud800", "--"]),
    any_text,
    raw_bytes_arg,
    long_text,
)


@fuzzes("ask")
@settings(FUZZ, max_examples=40)
@given(
    question=question_arg,
    options=one_fuzzed("--max-tokens", "--timeout", "--temperature", "--preset", "--model"),
    flags=st.lists(st.sampled_from(["--stream", "--grounded", "--json"]), unique=True),
)
def test_ask(model_path: Path, question: str, options: list[Any], flags: list[str]) -> None:
    with fresh_home(model_path) as run:
        assert_clean(invoke(run.argv(["ask", question, *options, *flags])))


stdin_line = st.one_of(
    st.sampled_from(["/reset", "/exit", "/quit", "What is a triad?", "", "   "]),
    any_text,
    st.binary(max_size=40),
    st.just(b"Why? " * 300),
).map(lambda x: x.encode("utf-8", "surrogatepass") if isinstance(x, str) else x)


@fuzzes("chat")
@settings(FUZZ, max_examples=12)
@given(
    lines=st.lists(stdin_line, max_size=3),
    eof_newline=st.booleans(),
    options=one_fuzzed("--max-tokens", "--timeout", "--temperature", "--preset", "--model"),
)
# Found by this test: a line on stdin that is not UTF-8 escaped click.prompt as
# UnicodeDecodeError.
@example(lines=[b"\xff"], eof_newline=True, options=["--max-tokens", "4", "--timeout", "60"])
def test_chat(model_path: Path, lines: list[bytes], eof_newline: bool, options: list[Any]) -> None:
    stdin = b"\n".join(lines) + (b"\n" if eof_newline else b"")
    with fresh_home(model_path) as run:
        o = invoke(run.argv(["chat", *options]), stdin=stdin)
    assert_clean(o, mixed_failures_ok=True)


@fuzzes("batch")
@settings(FUZZ, max_examples=30)
@given(
    source=path_arg,
    output=st.none() | path_arg,
    previous=st.none() | file_bytes,
    options=one_fuzzed("--max-tokens", "--timeout", "--temperature", "--preset", "--model"),
    flags=st.lists(st.sampled_from(["--quiet", "-v"]), unique=True),
)
# Found by this test: one failed prompt (INVALID_INPUT) exits 2 like a usage error; the
# summary line names the code.
@example(
    source=PathArg("file", b'{"prompt":""}'),
    output=None,
    previous=None,
    options=["--max-tokens", "4", "--timeout", "60"],
    flags=[],
)
def test_batch(
    model_path: Path,
    source: PathArg,
    output: PathArg | None,
    previous: bytes | None,
    options: list[Any],
    flags: list[str],
) -> None:
    with fresh_home(model_path) as run:
        src = source.make(run.tmp)
        if output is None and previous is not None and not src.startswith("/"):
            with contextlib.suppress(OSError):  # a run to resume
                Path(src).with_suffix(".answers.jsonl").write_bytes(previous)
        verbose = ["-v"] if "-v" in flags else []
        quiet = ["--quiet"] if "--quiet" in flags else []
        argv = [*verbose, "batch", src, *(["-o", output] if output else []), *options, *quiet]
        assert_clean(invoke(run.argv(argv)), mixed_failures_ok=True)


@fuzzes("status", "warmup")
@settings(FUZZ, max_examples=25)
@given(
    command=st.sampled_from(["status", "warmup"]),
    model=st.none() | model_arg,
    extra=st.lists(st.just("--json") | arg, max_size=1),
)
def test_status_and_warmup(model_path: Path, command: str, model: Any, extra: list[str]) -> None:
    options = [] if model is None else ["--model", model]
    with fresh_home(model_path) as run:
        assert_clean(invoke(run.argv([command, *options, *extra])))


@fuzzes("eval")
@settings(FUZZ, max_examples=5)
@given(
    limit=st.one_of(st.just("1"), st.just("1"), st.sampled_from(["0", "-1", "nan", "1e309"])),
    mode=st.sampled_from([[], ["--mode", "raw"], ["--mode", "hybrid"], ["--mode", "x"]]),
    question_set=st.sampled_from([[], ["--set", "diagnostic"], ["--set", "generated"]]),
    model=st.none() | st.sampled_from(["gemma3-270m", "core3b:v4.5"]) | path_arg,
    extra=st.lists(st.sampled_from(["--json", "--quiet"]), unique=True),
    answers=st.none() | path_arg,
)
def test_eval(
    model_path: Path,
    limit: str,
    mode: list[str],
    question_set: list[str],
    model: Any,
    extra: list[str],
    answers: PathArg | None,
) -> None:
    argv = ["eval", "--limit", limit, *mode, *question_set, *extra]
    argv += [] if model is None else ["--model", model]
    argv += [] if answers is None else ["--answers", answers]
    with fresh_home(model_path) as run:
        assert_clean(invoke(run.argv(argv)))


@fuzzes("eval", "bench")
@settings(FUZZ, max_examples=40)
@given(
    command=st.sampled_from(["eval", "bench"]),
    items=st.lists(st.one_of(name_arg, arg, st.just("gemma3-270m")), max_size=3),
    breaker=st.sampled_from(["empty", "repeat", "unknown", "with-model", "report-alone"]),
    report=st.none() | path_arg,
    extra=st.lists(
        st.sampled_from(["--json", "--quiet", "--variants", "--busy", "--mode=raw"]), unique=True
    ),
)
@example(command="eval", items=[], breaker="empty", report=None, extra=[])
@example(command="bench", items=["gemma3-270m"], breaker="unknown", report=None, extra=["--json"])
# a name longer than the file system allows was an OSError traceback (found on a clean clone)
@example(command="eval", items=["ab ü" * 500], breaker="unknown", report=None, extra=[])
def test_models_comparison_refuses_bad_model_lists(
    model_path: Path,
    command: str,
    items: list[str],
    breaker: str,
    report: PathArg | None,
    extra: list[str],
) -> None:
    """``eval --models`` / ``bench --models`` with a list that is always wrong (an empty
    item, a repeated model, an unknown one, with --model, or --report alone): a coded
    error (or a usage error) before anything runs."""
    options: list[Any] = []
    if breaker == "empty":
        options = ["--models", ",".join([*items, ""])]
    elif breaker == "repeat":
        twice = [*items, items[0]] if items else ["x", "x"]
        options = ["--models", ",".join(twice)]
    elif breaker == "unknown":
        options = ["--models", ",".join([*items, "nosuch-model-for-fuzzing"])]
    elif breaker == "with-model":
        options = ["--models", "gemma3-270m", "--model", items[0] if items else "gemma3-270m"]
    if report is not None or breaker == "report-alone":
        options += ["--report", report or PathArg("missing")]
    argv = [command, *extra, *options]
    with fresh_home(model_path) as run:
        o = invoke(run.argv(argv))
    assert_clean(o)
    shown_help = "--help" in argv and o.stdout.startswith("Usage:")
    assert o.rc != 0 or shown_help, f"{command} --models ran for real:\n{o.describe()}"
    assert "model 1/" not in o.stderr  # refused before the first model started


# -- serve: only the paths that return (a started server would block the test) ---------------
def _not_int_in(low: int, high: int) -> Callable[[str], bool]:
    """True when click's int parsing (``int(text)``) fails or lands outside [low, high]."""

    def check(text: str) -> bool:
        try:
            return not low <= int(text) <= high
        except ValueError:
            return True

    return check


PORT_IN_USE = ("--port", "in-use")
serve_guard = st.one_of(
    st.tuples(
        st.just("--host"),
        st.one_of(
            st.sampled_from(["0.0.0.0", "::", "192.168.1.2", "10.0.0.7", "example.com", "", " "]),
            any_text,
            raw_bytes_arg,
        ).filter(lambda h: not is_loopback(h)),
    ),
    st.tuples(st.just("--port"), number.filter(_not_int_in(0, 65535))),
    st.tuples(st.just("--parallel"), number.filter(_not_int_in(1, 256))),
    st.tuples(st.just("--max-queue"), number.filter(_not_int_in(0, 100_000))),
    st.tuples(
        st.just("--cors-origin"),
        arg.filter(lambda o: o != "*" and not o.startswith(("http://", "https://"))),
    ),
    st.tuples(
        st.just("--model"),
        st.one_of(
            st.sampled_from(["no-such-model", "fuzz:Q8_0", "core3b:v4.8:F16"]),
            st.sampled_from(["missing", "missing-parent"]).map(PathArg),
        ),
    ),
    st.just(PORT_IN_USE),
)
serve_extra = st.lists(
    st.tuples(
        st.sampled_from(
            ["--host", "--port", "--parallel", "--max-queue", "--cors-origin", "--model"]
        ),
        st.one_of(arg, name_arg, path_arg),
    ),
    max_size=2,
).map(lambda pairs: [x for pair in pairs for x in pair])


@contextlib.contextmanager
def no_server_started() -> Iterator[None]:
    """A tripwire: if an example reached uvicorn, fail it instead of blocking the run."""
    import uvicorn

    real = uvicorn.Server.run

    def tripped(self: Any, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("serve started a server for real")

    uvicorn.Server.run = tripped  # type: ignore[method-assign]
    try:
        yield
    finally:
        uvicorn.Server.run = real  # type: ignore[method-assign]


@fuzzes("serve")
@settings(FUZZ, max_examples=60)
@given(guard=serve_guard, extra=serve_extra, home=homes)
@example(guard=("--host", "0.0.0.0"), extra=[], home=Home())
@example(guard=PORT_IN_USE, extra=[], home=Home())
def test_serve_refuses_before_listening(
    model_path: Path, guard: tuple[Any, Any], extra: list[Any], home: Home
) -> None:
    """A non-loopback host without a key, a bad port or option, an unknown model, or a port
    in use each end with a usage error or a coded one; the guard comes last so that no
    fuzzed option overrides it (and no example passes an API key)."""
    with (
        fresh_home(model_path, home) as run,
        socket.socket() as busy,
        no_server_started(),
    ):
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        if guard == PORT_IN_USE:
            guard = ("--host", "127.0.0.1", "--port", str(busy.getsockname()[1]))
        o = invoke(run.argv(["serve", *extra, *guard]))
    assert_clean(o)
    shown_help = "--help" in o.argv and o.stdout.startswith("Usage:")
    assert o.rc != 0 or shown_help, f"serve returned 0 without refusing:\n{o.describe()}"
