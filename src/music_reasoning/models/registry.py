"""The model registry: every model the package knows, built in or added by the user.

Built-in entries ship as ``registry.toml`` next to this module; the user's entries live
in ``config_dir()/models.toml`` with the same layout and are merged over them (a user
table may add a model, or give the URLs and SHA-256 of a built-in variant).  A model is
named ``NAME`` (``gemma3-270m``, ``core3b:v4.5``) and one of its files ``NAME:VARIANT``
(``core3b:v4.8:Q8_0``); without a variant, the model's ``default_variant`` is meant.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from music_reasoning.config import SECRET_MODE, config_dir, read_toml, update_toml
from music_reasoning.errors import InvalidInputError, ModelUnavailableError
from music_reasoning.models.files import check_gguf_header

__all__ = [
    "ModelEntry",
    "Variant",
    "Weakness",
    "add_user_model",
    "forget_user_model",
    "get_model",
    "load_registry",
    "parse_spec",
    "user_registry_path",
]

logger = logging.getLogger(__name__)

_QUANT_RE = re.compile(r"^(?:I?Q\d\w*|F16|BF16|F32)$")
# ``ollama/`` marks a model registered from the user's Ollama store (models import ollama)
_NAME_RE = re.compile(r"^(?:ollama/)?[a-z0-9][a-z0-9._-]*(?::[a-z0-9][a-z0-9._-]*)?$")
# a Hugging Face model (``models pull hf.co/OWNER/REPO:QUANT``): case kept, any GGUF tag
_HUB_NAME_RE = re.compile(r"^hf\.co/[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_HUB_QUANT_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]*$")


def _valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name) or (_HUB_NAME_RE.match(name) and ".." not in name))


def _valid_quant(name: str, quantization: str) -> bool:
    pattern = _HUB_QUANT_RE if name.startswith("hf.co/") else _QUANT_RE
    return bool(pattern.match(quantization))


@dataclass(frozen=True)
class Variant:
    """One file of a model: its quantization, where it comes from and how to check it."""

    quantization: str
    filename: str
    urls: tuple[str, ...] = ()
    size: int | None = None
    sha256: str | None = None
    path: str | None = None  # a user file used in place (``models add --path``)
    embedded: bool = False  # assembled from the package's own wheels, never downloaded
    ram: int | None = None  # bytes needed to run it with a 4096-token context (curated)
    approx_size: int | None = None  # shown before the first pull, never checked (curated)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, (), False)} | {
            "urls": list(self.urls)
        }


@dataclass(frozen=True)
class Weakness:
    """A topic the model is known to get wrong, and what callers should do instead."""

    topic: str
    description: str
    accuracy: float | None = None
    workaround: str = "deterministic"
    fixed_in: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    """A registry entry (see ``registry.toml`` for the fields)."""

    name: str
    version: str
    family: str
    license: str
    context_length: int
    prompt_format: str
    default_variant: str
    variants: Mapping[str, Variant]
    weaknesses: tuple[Weakness, ...] = ()
    description: str = ""
    source: str = "builtin"
    extra: Mapping[str, Any] = field(default_factory=dict)
    upstream: str | None = None  # TOML ``source = "hf.co/OWNER/REPO"``: where files come from
    chat_template: str | None = None  # the GGUF template's format (chatml, llama3, ...)
    parameters: int | None = None  # parameter count (curated entries; orders recommendations)

    @property
    def curated(self) -> bool:
        """Whether this is a shipped entry with a Hugging Face source (``list --available``)."""
        return self.source.startswith("builtin") and bool(self.upstream)

    def variant(self, quantization: str | None = None) -> Variant:
        """The variant called ``quantization`` (default: ``default_variant``).

        Raises:
            ModelUnavailableError: the model has no such variant.
        """
        q = (quantization or self.default_variant).upper()
        if not self.variants:
            raise ModelUnavailableError(
                f"{self.name} has no variants in the registry.",
                suggestion=f"Add one with `music-reasoning models add {self.name} --path FILE` "
                "or `--url URL --sha256 HEX`.",
            )
        if q not in self.variants:
            raise ModelUnavailableError(
                f"{self.name} has no {q} variant (it has {', '.join(self.variants)}).",
                suggestion=f"Use one of: {', '.join(f'{self.name}:{v}' for v in self.variants)}, "
                f"or make one with `music-reasoning models quantize {self.name} --to {q}`.",
            )
        return self.variants[q]

    @property
    def embedded(self) -> bool:
        """Whether a variant of this model ships inside the package."""
        return any(v.embedded for v in self.variants.values())

    def route_around(self) -> dict[str, str]:
        """Topics to answer from the theory layer: unfixed weaknesses with that workaround."""
        return {w.topic: w.description for w in self.weaknesses if w.workaround == "deterministic"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "family": self.family,
            "license": self.license,
            "context_length": self.context_length,
            "prompt_format": self.prompt_format,
            "default_variant": self.default_variant,
            "embedded": self.embedded,
            "description": self.description,
            "source": self.source,
            "upstream": self.upstream,
            "chat_template": self.chat_template,
            "parameters": self.parameters,
            "variants": {q: v.to_dict() for q, v in self.variants.items()},
            "weaknesses": [w.__dict__ for w in self.weaknesses],
        }


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``NAME[:VARIANT]`` (``core3b:v4.8:Q8_0`` -> ``("core3b:v4.8", "Q8_0")``)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head.startswith("hf.co/") and _HUB_QUANT_RE.match(tail.upper()):
        return head, tail.upper()  # a repository name has no ':', so the tag is the variant
    if head.startswith("ollama/") and ":" not in head:
        return spec, None  # ``ollama/NAME:TAG`` always has a tag, even one like ``q4_k_m``
    if sep and head and _QUANT_RE.match(tail.upper()):
        return head, tail.upper()
    return spec, None


def user_registry_path() -> Path:
    """The user's registry file, ``config_dir()/models.toml``."""
    return config_dir() / "models.toml"


def _read(path: Path) -> dict[str, Any]:
    """The ``[models]`` tables of a user registry file (``{}`` when it does not exist).

    Raises:
        InvalidInputError: the file is not UTF-8 or not valid TOML (the message names it).
        StorageError: the file exists but cannot be read.
    """
    models = read_toml(path, what="model registry").get("models", {})
    return models if isinstance(models, dict) else {}


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _malformed(name: str, why: object) -> InvalidInputError:
    return InvalidInputError(
        f"Registry entry {name!r} is malformed: {why}",
        suggestion=f"Fix the entry in {user_registry_path()}.",
    )


def _user_table(name: str, raw: object) -> dict[str, Any]:
    """A user table, checked: variant keys upper-cased, safe file names, never ``embedded``.

    A user entry may add URLs and checksums to a built-in variant, but it cannot mark a
    file as shipped with the package nor point the store outside its own folder.
    """
    if not _valid_name(name):
        raise _malformed(name, "a model name is lower-case letters, digits, '.', '-', '_'")
    if not isinstance(raw, Mapping):
        raise _malformed(name, "expected a table")
    table = dict(raw)
    variants = table.get("variants", {})
    if not isinstance(variants, Mapping):
        raise _malformed(name, "'variants' must be a table")
    checked: dict[str, Any] = {}
    for q, v in variants.items():
        if not isinstance(v, Mapping):
            raise _malformed(name, f"variant {q!r} must be a table")
        v = {k: val for k, val in v.items() if k != "embedded"}
        filename = str(v.get("filename", ""))
        if re.search(r"[/\\]|^\.|\.\.", filename):
            raise _malformed(name, f"file name {filename!r} must be a plain name in the store")
        key = str(q).upper()
        if not _valid_quant(name, key) or key in checked:
            raise _malformed(name, f"variant {q!r} is not a quantization name, or is repeated")
        checked[key] = v
    table["variants"] = checked
    return table


_UNSET: tuple[object, ...] = (None, "", [], {}, ())
_warned: set[tuple[str, str, str]] = set()  # (file, model, keys): reported once


def _redefinitions(builtin: Mapping[str, Any], user: Mapping[str, Any]) -> list[str]:
    """The keys of a user table that would change what a built-in entry sets.

    A user entry may fill in what the built-in leaves empty (URLs, a checksum) and add
    variants of its own; it never changes a value the package ships (the embedded
    variant's checksum, a license, a file name), nor points the embedded variant at
    another file (``path``).  A ``path`` makes ``filename`` moot.
    """
    found = [
        key
        for key, value in user.items()
        if key != "variants" and builtin.get(key) not in _UNSET and value != builtin.get(key)
    ]
    shipped = builtin.get("variants", {})
    for q, variant in user.get("variants", {}).items():
        base = shipped.get(q)
        if not isinstance(base, Mapping) or not isinstance(variant, Mapping):
            continue  # a variant of the user's own
        for key, value in variant.items():
            if key == "filename" and variant.get("path"):
                continue
            fixed = base.get(key) not in _UNSET or (key == "path" and base.get("embedded"))
            if fixed and value not in _UNSET and value != base.get(key):
                found.append(f"variants.{q}.{key}")
    return found


def _without(table: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """``table`` less the (``variants.Q.key``-style) ``keys``."""
    out = dict(table)
    variants = {q: dict(v) for q, v in out.get("variants", {}).items()}
    for key in keys:
        if key.startswith("variants."):
            _, q, field_name = key.split(".", 2)
            variants[q].pop(field_name, None)
        else:
            out.pop(key, None)
    out["variants"] = variants
    return out


def _entry(name: str, raw: Mapping[str, Any], source: str) -> ModelEntry:
    try:
        variants = {
            q.upper(): Variant(
                quantization=q.upper(),
                filename=str(v.get("filename") or f"{name.replace(':', '-')}-{q.lower()}.gguf"),
                urls=tuple(str(u) for u in v.get("urls", ())),
                size=int(v["size"]) if v.get("size") else None,
                sha256=str(v["sha256"]).lower() if v.get("sha256") else None,
                path=str(v["path"]) if v.get("path") else None,
                embedded=bool(v.get("embedded", False)),
                ram=int(v["ram"]) if v.get("ram") else None,
                approx_size=int(v["approx_size"]) if v.get("approx_size") else None,
            )
            for q, v in raw.get("variants", {}).items()
        }
        weaknesses = tuple(
            Weakness(
                topic=str(w["topic"]),
                description=str(w.get("description", "")),
                accuracy=float(w["accuracy"]) if w.get("accuracy") is not None else None,
                workaround=str(w.get("workaround", "deterministic")),
                fixed_in=str(w["fixed_in"]) if w.get("fixed_in") else None,
            )
            for w in raw.get("weaknesses", ())
        )
        default = str(raw.get("default_variant") or next(iter(variants), "Q4_K_M")).upper()
        return ModelEntry(
            name=name,
            version=str(raw.get("version", name)),
            family=str(raw.get("family", "custom")),
            license=str(raw.get("license", "unknown")),
            context_length=int(raw.get("context_length", 2048)),
            prompt_format=str(raw.get("prompt_format", "chat")),
            default_variant=default,
            variants=variants,
            weaknesses=weaknesses,
            description=str(raw.get("description", "")),
            source=source,
            upstream=str(raw["source"]) if raw.get("source") else None,
            chat_template=str(raw["chat_template"]) if raw.get("chat_template") else None,
            parameters=int(raw["parameters"]) if raw.get("parameters") else None,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise _malformed(name, exc) from exc


def _builtin() -> dict[str, Any]:
    text = importlib.resources.files(__package__).joinpath("registry.toml").read_text()
    models: dict[str, Any] = tomllib.loads(text).get("models", {})
    return models


def load_registry() -> dict[str, ModelEntry]:
    """Every known model: the built-in entries with the user's merged over them."""
    builtin = _builtin()
    user = {name: _user_table(name, raw) for name, raw in _read(user_registry_path()).items()}
    for name in user.keys() & builtin.keys():  # built-in values are not the user's to change
        redefined = _redefinitions(builtin[name], user[name])
        if redefined:
            user[name] = _without(user[name], redefined)
            seen = (str(user_registry_path()), name, ",".join(redefined))
            if seen not in _warned:
                _warned.add(seen)
                logger.warning(
                    "ignoring %s of the built-in model %s in %s: built-in values cannot be "
                    "redefined (remove them, or add the model under another name)",
                    ", ".join(redefined),
                    name,
                    user_registry_path(),
                )
    entries: dict[str, ModelEntry] = {}
    for name in dict.fromkeys([*builtin, *user]):
        raw = _merge(builtin.get(name, {}), user.get(name, {}))
        source = "builtin" if name in builtin else "user"
        if name in builtin and name in user:
            source = "builtin+user"
        entries[name] = _entry(name, raw, source)
    return entries


def get_model(name: str) -> ModelEntry:
    """The entry called ``name`` (a ``:VARIANT`` suffix is ignored).

    Raises:
        ModelUnavailableError: no such model, listing the known names.
    """
    base, _ = parse_spec(name)
    registry = load_registry()
    if base.startswith("hf.co/") and base not in registry:  # the Hub ignores case
        base = next((n for n in registry if n.lower() == base.lower()), base)
    if base.startswith("hf.co/") and base not in registry:
        raise ModelUnavailableError(
            f"{name} has not been pulled yet.",
            suggestion=f"Run `music-reasoning models pull {name}` (once, online).",
            details={"model": base},
        )
    if base not in registry:
        raise ModelUnavailableError(
            f"No model called {base!r} in the registry.",
            suggestion=f"Known models: {', '.join(registry)}. "
            "Add one with `music-reasoning models add NAME --path FILE` or `--url URL`.",
        )
    return registry[base]


def _write_user(models: Mapping[str, Any]) -> Path:
    """Store the user's tables in ``models.toml``, editing it in place (comments survive).

    The file may hold URLs with credentials, so it is written with mode 0600.  Tables
    left empty (a built-in model's ``variants`` once its last user variant is forgotten,
    ``[models]`` once the last entry is) describe nothing and are dropped.
    """
    path = user_registry_path()
    data = read_toml(path, what="model registry")
    kept = _without_empty_tables(models)
    if kept:
        data["models"] = kept
    else:
        data.pop("models", None)
    update_toml(path, data, what="model registry", mode=SECRET_MODE)
    return path


def _without_empty_tables(table: Mapping[str, Any]) -> dict[str, Any]:
    """``table`` less every sub-table that is, or becomes once pruned, empty."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            value = _without_empty_tables(value)
            if not value:
                continue
        out[key] = value
    return out


def add_user_model(
    name: str,
    *,
    quantization: str = "Q4_K_M",
    path: Path | None = None,
    urls: Sequence[str] = (),
    sha256: str | None = None,
    size: int | None = None,
    prompt_format: str | None = None,
    license: str | None = None,
    context_length: int | None = None,
    description: str | None = None,
    managed: bool = False,
    filename: str | None = None,
) -> ModelEntry:
    """Add (or extend) a user entry with one variant and store it in ``models.toml``.

    ``managed=True`` records a file the store itself produced (``models quantize``):
    it lives in the store's folder and has a checksum but no URL.  ``filename`` names the
    file in the store (a Hub file keeps its own name); by default it is made from the name.

    Raises:
        InvalidInputError: a bad name, checksum, or neither ``path`` nor ``urls``.
    """
    base, spec_q = parse_spec(name)
    quantization = (spec_q or quantization).upper()
    if not _valid_name(base):
        raise InvalidInputError(
            f"Model name {base!r} is not valid.",
            suggestion="Use lower-case letters, digits, '.', '-', '_' and at most one ':'.",
        )
    if not _valid_quant(base, quantization):
        raise InvalidInputError(
            f"{quantization!r} is not a quantization name.",
            suggestion="Use a llama.cpp type such as Q4_K_M, Q5_K_M, Q8_0 or F16.",
        )
    if path is None and not urls and not (managed and sha256):
        raise InvalidInputError(
            "Give --path FILE or --url URL.",
            suggestion=f"`music-reasoning models add {base} --path ~/models/my.gguf`, or "
            f"`--url https://host/my.gguf --sha256 HEX`.",
        )
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise InvalidInputError(
            f"{sha256!r} is not a SHA-256 (64 hex digits).",
            suggestion="Copy the checksum from the model's download page, or compute it with "
            "`sha256sum FILE`.",
        )
    if urls and not sha256:
        raise InvalidInputError(
            "A model fetched from a URL needs its --sha256, so a corrupt download is caught.",
            suggestion="Add --sha256 HEX (the file's SHA-256 from its download page).",
        )
    for url in urls:
        if not re.match(r"https?://[^/\s]+", url):
            raise InvalidInputError(
                f"{url!r} is not an http(s) URL.",
                suggestion="Give a URL starting with http:// or https://.",
            )
    if path is not None:
        check_gguf_header(Path(path).expanduser())  # a wrong file is caught now, not at use
    variant: dict[str, Any] = {"urls": list(urls)}
    if path is not None:
        variant["path"] = str(Path(path).expanduser().resolve())
        variant["filename"] = Path(path).name
    else:
        variant["filename"] = filename or f"{base.replace(':', '-')}-{quantization.lower()}.gguf"
    if sha256:
        variant["sha256"] = sha256.lower()
    if size:
        variant["size"] = int(size)
    builtin = _builtin().get(base)
    if builtin is not None:
        given = {
            k: v
            for k, v in (
                ("prompt_format", prompt_format),
                ("license", license),
                ("context_length", context_length),
                ("description", description),
            )
            if v is not None
        }
        redefined = _redefinitions(builtin, {**given, "variants": {quantization: variant}})
        if redefined:
            raise InvalidInputError(
                f"{base} is a built-in model: its {', '.join(redefined)} cannot be redefined.",
                suggestion=f"Pick another name for your model, e.g. `music-reasoning models add "
                f"my-{base.replace(':', '-')} ...`; a built-in model only takes URLs and "
                "checksums it does not ship, or new variants.",
                details={"model": base, "redefined": redefined},
            )
    models = _read(user_registry_path())
    table = _user_table(base, models.get(base, {}))
    for key, value in (
        ("prompt_format", prompt_format),
        ("license", license),
        ("context_length", context_length),
        ("description", description),
    ):
        if value is not None:
            table[key] = value
    if base not in _builtin():  # a built-in model keeps its own default
        table.setdefault("default_variant", quantization)
    table.setdefault("variants", {})[quantization] = variant
    models[base] = table
    _write_user(models)
    return get_model(base)


def forget_user_model(name: str) -> bool:
    """Remove a user entry (or one variant of it with ``NAME:VARIANT``); True if removed."""
    base, quantization = parse_spec(name)
    models = _read(user_registry_path())
    if base not in models:
        return False
    if quantization:
        table = _user_table(base, models[base])
        if quantization not in table["variants"]:
            return False
        del table["variants"][quantization]
        models[base] = table
        if not table["variants"] and base not in _builtin():  # nothing left to describe
            del models[base]
        elif table.get("default_variant", "").upper() == quantization and table["variants"]:
            table["default_variant"] = next(iter(table["variants"]))  # one that is left
    else:
        del models[base]
    _write_user(models)
    return True
