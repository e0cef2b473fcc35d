"""Configuration in one place.

Each setting resolves, highest first: an explicit override passed to
:func:`load_settings` > a ``MUSIC_REASONING_*`` environment variable > the
``[music_reasoning]`` table of ``config.toml`` in the config directory > the default.
``MUSIC_REASONING_HOME`` moves all state (cache, models, config) under one folder,
which is also how the tests isolate themselves.  Settings are read when asked for,
never frozen at import time.

Settings files are edited in place: :func:`update_toml` changes only the keys whose
values changed (comments, order and layout of the rest survive, via ``tomlkit``) and
writes through :func:`atomic_write`.  ``config.toml`` may hold ``cloud_api_key``, so it
is written with mode 0600 (:data:`SECRET_MODE`).  Reading never writes: a read-only
home still loads its settings.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import tomllib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w
import tomlkit

from music_reasoning.errors import InvalidInputError, storage_error
from music_reasoning.params import MAX_TIMEOUT

__all__ = [
    "ENV_PREFIX",
    "SECRET_MODE",
    "Settings",
    "atomic_write",
    "cache_dir",
    "config_dir",
    "config_file",
    "load_settings",
    "read_toml",
    "save_setting",
    "update_toml",
]

logger = logging.getLogger(__name__)

ENV_PREFIX = "MUSIC_REASONING_"
APP_NAME = "music-reasoning"
SECRET_MODE = 0o600
"""Mode of files that may hold a secret (``config.toml``, the user's ``models.toml``)."""


def _home() -> Path | None:
    value = os.environ.get(f"{ENV_PREFIX}HOME")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Return the cache directory (models, caches): ``$MUSIC_REASONING_HOME/cache`` or XDG."""
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))


def config_dir() -> Path:
    """Return the config directory: ``$MUSIC_REASONING_HOME/config`` or XDG."""
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


@dataclass(frozen=True)
class Settings:
    """Resolved runtime settings; ``sources`` says where each value came from."""

    model_path: str | None = None
    n_ctx: int = 2048
    n_parallel: int = 8
    n_threads: int | None = None
    n_gpu_layers: int | None = None
    timeout: float = 30.0
    max_prompt_chars: int = 1000
    max_tokens_ceiling: int = 1024
    max_turns: int = 10
    retries: int = 2
    memory_budget_mb: int | None = None
    verbose: bool = False
    # models (registry, multi-model)
    default_model: str | None = None
    keep_alive: float = 300.0
    # hybrid SDK
    tier: str = "creator"
    mode: str = "auto"
    cloud_base_url: str | None = None
    cloud_api_key: str | None = None
    cloud_model: str | None = None
    cloud_timeout: float = 30.0
    cache_enabled: bool = True
    cache_max_entries: int = 10000
    telemetry: bool = False
    telemetry_endpoint: str | None = None
    telemetry_include_text: bool = False
    sources: dict[str, str] = field(default_factory=dict, compare=False)


def config_file() -> Path:
    """Return the user's ``config.toml`` (it may not exist yet)."""
    return config_dir() / "config.toml"


@dataclass(frozen=True)
class _Range:
    """The values a numeric setting may take: ``low..high``, ``low`` excluded if ``open``."""

    low: float
    high: float
    open: bool = False
    note: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def __contains__(self, value: float) -> bool:
        return (value > self.low if self.open else value >= self.low) and value <= self.high

    def describe(self, whole: bool) -> str:
        low, high = (str(int(x)) if float(x).is_integer() else str(x) for x in self.bounds)
        kind = "a whole number" if whole else "a number"
        span = f"above {low} and at most {high}" if self.open else f"from {low} to {high}"
        return f"{kind} {span}{self.note}"


_DAY = 86_400.0
# Every numeric setting's sensible values.  n_ctx is per sequence and n_ctx x n_parallel
# tokens go to llama.cpp as one 32-bit count, so both are bounded; 256 sequences is
# llama.cpp's own limit.  0 keeps the meaning the code gives it where it has one.
_RANGES: dict[str, _Range] = {
    "n_ctx": _Range(256, 1 << 20),
    "n_parallel": _Range(1, 256),
    "n_threads": _Range(0, 512, note=" (0: tuned, as when unset)"),
    "n_gpu_layers": _Range(-1, 10_000, note=" (-1: all layers)"),
    "timeout": _Range(0, MAX_TIMEOUT, open=True),
    "max_prompt_chars": _Range(1, 10_000_000),
    "max_tokens_ceiling": _Range(1, 1 << 20),
    "max_turns": _Range(1, 1_000_000),
    "retries": _Range(0, 100),
    "memory_budget_mb": _Range(0, 1 << 30, note=" (0: three quarters of the RAM, as when unset)"),
    "keep_alive": _Range(0, 365 * _DAY, note=" (0: never unload)"),
    "cloud_timeout": _Range(0, MAX_TIMEOUT, open=True),
    "cache_max_entries": _Range(1, 1_000_000_000),
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _where(name: str, source: str) -> tuple[str, str]:
    """Where a setting's value came from, as a phrase, and how to fix it there."""
    if source == "env":
        env = f"{ENV_PREFIX}{name.upper()}"
        return f"from {env}", f"Set {env} to {{expect}}, or unset it."
    if source == "config file":
        path = config_file()
        return f"from the config file {path}", f"Set {name} in {path} to {{expect}}, or remove it."
    return "given as an argument", f"Pass {name} as {{expect}}, or leave it out."


def _coerce(name: str, raw: Any, kind: str, source: str = "argument") -> Any:
    """``raw`` as the type ``kind`` of setting ``name``, within its range.

    ``source`` ("argument", "env", "config file") is named in the error.  A bool is
    not a number here (``True`` is not ``n_parallel=1``), a number not a bool unless
    it is 0 or 1, and a bool setting takes only the usual words for true and false.

    Raises:
        InvalidInputError: the value has the wrong type or lies outside the range.
    """
    whole = "int" in kind
    span = _RANGES.get(name)
    if "bool" in kind:
        expect = "true or false (1/0, yes/no, on/off)"
    elif span is not None:
        expect = span.describe(whole)
    else:
        expect = "a whole number" if whole else "a number" if "float" in kind else "text"
    value: Any = None
    try:
        if "bool" in kind:
            word = str(raw).strip().lower()
            if isinstance(raw, bool):
                value = raw
            elif isinstance(raw, (int, str)) and word in _TRUE | _FALSE:
                value = word in _TRUE
        elif isinstance(raw, bool):
            pass  # refused below: not a number, and not text
        elif whole and isinstance(raw, float):
            value = int(raw) if raw.is_integer() else None  # 512.0 is 512; 3.5 is refused
        elif whole:
            value = int(raw)
        elif "float" in kind:
            value = float(raw)
            if not math.isfinite(value):
                value = None
        else:
            value = str(raw)
    except (TypeError, ValueError, OverflowError):
        value = None
    if value is not None and span is not None and value not in span:
        value = None
    if value is None:
        where, fix = _where(name, source)
        raise InvalidInputError(
            f"Setting {name!r} = {raw!r} ({where}) is not valid: it must be {expect}.",
            suggestion=fix.format(expect=expect),
            details={"setting": name, "source": source, "value": repr(raw)},
        )
    return value


def _read_text(path: Path, what: str) -> str | None:
    """The UTF-8 text of ``path``, or ``None`` when it does not exist (nothing is written).

    Raises:
        InvalidInputError: the file is not UTF-8 text (binary, another encoding).
        StorageError: the file exists but cannot be read (permissions, a folder).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise storage_error(exc, path, "read") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"The {what} {path} is not UTF-8 text (byte {exc.start} is invalid).",
            suggestion=f"Fix the file (it must be TOML in UTF-8), or delete it: {path}",
            details={"path": str(path)},
        ) from exc


def read_toml(path: Path, *, what: str = "config file") -> dict[str, Any]:
    """Parse the TOML file ``path`` (``{}`` when it does not exist).

    ``what`` names the file in errors ("config file", "model registry").

    Raises:
        InvalidInputError: the file is not UTF-8 or not valid TOML (the message names it).
        StorageError: the file exists but cannot be read.
    """
    text = _read_text(path, what)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(
            f"Cannot read the {what} {path}: {exc}",
            suggestion=f"Fix or delete the file: {path}",
            details={"path": str(path)},
        ) from exc


def _sync(target: MutableMapping[str, Any], data: Mapping[str, Any]) -> None:
    """Make ``target`` (a tomlkit container) equal ``data``, touching only what differs."""
    for key in [k for k in target if k not in data]:
        del target[key]
    for key, value in data.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, MutableMapping):
            _sync(current, value)
        elif key not in target or _plain(current) != value:
            target[key] = value


def _plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


def update_toml(
    path: Path, data: Mapping[str, Any], *, what: str = "config file", mode: int | None = None
) -> None:
    """Write ``data`` to the TOML file ``path``, keeping the comments and layout it had.

    The existing document is edited in place (``tomlkit``): keys whose value did not
    change keep their comments and position, removed keys go, new ones are appended to
    their table.  The file is replaced atomically (:func:`atomic_write`, with ``mode``).

    Raises:
        InvalidInputError: the existing file is not UTF-8 or not valid TOML.
        StorageError: the file cannot be written (read-only, permissions).
        InsufficientDiskError: the disk is full.
    """
    text = _read_text(path, what) or ""
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise InvalidInputError(
            f"Cannot read the {what} {path}: {exc}",
            suggestion=f"Fix or delete the file: {path}",
            details={"path": str(path)},
        ) from exc
    _sync(document, data)
    rendered = tomlkit.dumps(document)
    try:
        faithful = tomllib.loads(rendered) == dict(data)
    except tomllib.TOMLDecodeError:
        faithful = False
    if not faithful:  # never write a file that reads back differently; lose the comments
        logger.debug("%s could not be edited in place; rewriting it whole", path)
        rendered = tomli_w.dumps(dict(data))
    atomic_write(path, rendered.encode("utf-8"), mode=mode)


def _read_config_file(path: Path) -> dict[str, Any]:
    data = read_toml(path)
    table = data.get("music_reasoning", data)
    return dict(table) if isinstance(table, dict) else {}


def load_settings(**overrides: Any) -> Settings:
    """Resolve settings from overrides, environment, config file and defaults.

    Every value is checked whatever its source: its type (a bool is no number) and,
    for a number, its range (``n_ctx`` from 256, ``n_parallel`` from 1, ``timeout`` above
    0, ...); the error names the setting and where the value came from.

    Raises:
        InvalidInputError: a value has the wrong type or lies outside its range, or a
            key is unknown.
    """
    known = {f.name: f for f in fields(Settings) if f.name != "sources"}
    unknown = set(overrides) - set(known)
    if unknown:
        raise InvalidInputError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    file_values = _read_config_file(config_file())
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, f in known.items():
        kind = str(f.type)
        env = os.environ.get(f"{ENV_PREFIX}{name.upper()}")
        if overrides.get(name) is not None:
            values[name] = _coerce(name, overrides[name], kind, "argument")
            sources[name] = "argument"
        elif env not in (None, ""):
            values[name], sources[name] = _coerce(name, env, kind, "env"), "env"
        elif name in file_values:
            source = "config file"
            values[name], sources[name] = _coerce(name, file_values[name], kind, source), source
        else:
            sources[name] = "default"
    return Settings(**values, sources=sources)


def save_setting(name: str, value: Any) -> Path:
    """Store ``name = value`` in the user's ``config.toml`` (``None`` removes it).

    The file is edited in place (:func:`update_toml`): other tables, keys and comments
    are kept, and it is replaced atomically with mode 0600, since it may hold
    ``cloud_api_key``.  Returns the file's path.

    Raises:
        InvalidInputError: ``name`` is not a setting, ``value`` does not fit its type, or
            the existing file is not valid UTF-8 TOML.
        StorageError: the config folder cannot be written (read-only, permissions).
        InsufficientDiskError: the disk is full.
    """
    known = {f.name: f for f in fields(Settings) if f.name != "sources"}
    if name not in known:
        raise InvalidInputError(
            f"Unknown setting {name!r}.",
            suggestion="Run `music-reasoning config show` to list the settings.",
        )
    path = config_file()
    data = read_toml(path)
    table = data.get("music_reasoning")
    if not isinstance(table, dict):
        if table is None and data.keys() & known.keys():  # settings kept at the top level
            table = data
        else:
            table = data["music_reasoning"] = {}
    if value is None:
        table.pop(name, None)
    else:
        table[name] = _coerce(name, value, str(known[name].type))
    update_toml(path, data, mode=SECRET_MODE)
    return path


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, then a rename.

    The temporary name carries the process and thread, so concurrent writers never
    share one; readers see the old content or the new, never a torn file.  The file
    gets ``mode`` when given (``SECRET_MODE`` for files that may hold secrets), else
    the mode the existing file had, else the default (``0o666`` less the umask); the
    temporary file has that mode from its creation, so the content is never readable
    more widely.  A failure leaves no temporary file behind.

    Raises:
        StorageError: the folder or file cannot be written (read-only, permissions).
        InsufficientDiskError: the disk is full.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode is None:
            with contextlib.suppress(FileNotFoundError):
                mode = path.stat().st_mode & 0o7777
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o666 if mode is None else mode)
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # exact, whatever the umask or a leftover file had
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        raise storage_error(exc, path, "write") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
