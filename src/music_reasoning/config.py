"""Configuration in one place.

Each setting resolves, highest first: an explicit override passed to
:func:`load_settings` > a ``MUSIC_REASONING_*`` environment variable > the
``[music_reasoning]`` table of ``config.toml`` in the config directory > the default.
``MUSIC_REASONING_HOME`` moves all state (cache, models, config) under one folder,
which is also how the tests isolate themselves.  Settings are read when asked for,
never frozen at import time.
"""

from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from music_reasoning.errors import InvalidInputError

__all__ = [
    "ENV_PREFIX",
    "Settings",
    "atomic_write",
    "cache_dir",
    "config_dir",
    "config_file",
    "load_settings",
    "save_setting",
]

ENV_PREFIX = "MUSIC_REASONING_"
APP_NAME = "music-reasoning"


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


def _coerce(name: str, raw: Any, kind: str) -> Any:
    try:
        if "bool" in kind:
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"Setting {name!r} has value {raw!r}, which is not a valid {kind}.",
            suggestion=f"Fix {ENV_PREFIX}{name.upper()} or config.toml.",
        ) from exc


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(
            f"Cannot read config file {path}: {exc}",
            suggestion="Fix or delete the file.",
        ) from exc
    table = data.get("music_reasoning", data)
    return dict(table) if isinstance(table, dict) else {}


def load_settings(**overrides: Any) -> Settings:
    """Resolve settings from overrides, environment, config file and defaults.

    Raises:
        InvalidInputError: a value cannot be converted to its type, or a key is unknown.
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
            values[name], sources[name] = overrides[name], "argument"
        elif env not in (None, ""):
            values[name], sources[name] = _coerce(name, env, kind), "env"
        elif name in file_values:
            values[name], sources[name] = _coerce(name, file_values[name], kind), "config file"
        else:
            sources[name] = "default"
    return Settings(**values, sources=sources)


def save_setting(name: str, value: Any) -> Path:
    """Store ``name = value`` in the user's ``config.toml`` (``None`` removes it).

    The file is rewritten atomically (temporary file, then rename); other tables and
    keys are kept.  Returns the file's path.

    Raises:
        InvalidInputError: ``name`` is not a setting, or ``value`` does not fit its type.
    """
    known = {f.name: f for f in fields(Settings) if f.name != "sources"}
    if name not in known:
        raise InvalidInputError(
            f"Unknown setting {name!r}.",
            suggestion="Run `music-reasoning config show` to list the settings.",
        )
    path = config_file()
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInputError(
                f"Cannot read config file {path}: {exc}", suggestion="Fix or delete the file."
            ) from exc
    table = data.setdefault("music_reasoning", {})
    if value is None:
        table.pop(name, None)
    else:
        table[name] = _coerce(name, value, str(known[name].type))
    atomic_write(path, tomli_w.dumps(data).encode())
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, then a rename.

    The temporary name carries the process and thread, so concurrent writers never
    share one; readers see the old content or the new, never a torn file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
