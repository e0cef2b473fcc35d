"""The model store: which registry variants are on disk, verified, and where.

Layout (under ``cache_dir()/models``)::

    gemma-3-270m-q4_k_m.gguf                  the embedded model (assembled, see files.py)
    core3b-v4.8/Q8_0/core3b-v4.8-q8_0.gguf    a pulled or quantized variant
    core3b-v4.8/Q8_0/….gguf.sha256            "<sha256> <size> <mtime_ns>": verified
    hf.co/OWNER/REPO/Q4_K_M/<file>.gguf       a Hugging Face file, under its own name
    core3b-v4.8/Q8_0/….gguf.partial           an interrupted download (resumable)
    core3b-v4.8/Q8_0/….gguf.lock              held while a pull, quantize or rm writes

A variant added with ``models add --path`` stays where it is (the registry records
its path); ``models rm`` then only forgets it.  Lock files are deleted by the operation
that holds them once it is done (see :func:`~music_reasoning.models.files.release_removing`);
``models rm`` also removes the folders it leaves empty.  Pulls are done by
:mod:`music_reasoning.models.pull`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import Timeout

from music_reasoning.config import atomic_write, cache_dir, load_settings, save_setting
from music_reasoning.errors import (
    CorruptedModelError,
    ModelUnavailableError,
    storage_error,
)
from music_reasoning.models import hub
from music_reasoning.models.download import DEFAULT_RETRIES
from music_reasoning.models.files import (
    EMBEDDED_MODEL_NAME,
    embedded_model_path,
    is_verified,
    mark_verified,
    model_lock,
    models_dir,
    release_removing,
    sha256_file,
)
from music_reasoning.models.registry import (
    ModelEntry,
    Variant,
    forget_user_model,
    get_model,
    load_registry,
    parse_spec,
)

__all__ = [
    "ModelRow",
    "default_spec",
    "gguf_metadata",
    "info",
    "list_models",
    "pull",
    "pulled",
    "remove",
    "resolve",
    "use",
    "variant_path",
    "verify",
]

logger = logging.getLogger(__name__)


def variant_path(entry: ModelEntry, variant: Variant) -> Path:
    """Where ``variant`` of ``entry`` lives (or will live once pulled)."""
    if variant.path:
        return Path(variant.path)
    if variant.embedded:
        return models_dir() / variant.filename
    return models_dir() / entry.name.replace(":", "-") / variant.quantization / variant.filename


def _lookup(spec: str) -> tuple[ModelEntry, Variant]:
    if hub.is_hub_spec(spec):  # hf.co/OWNER/REPO[:QUANT]: checked, huggingface.co/ accepted
        wanted = hub.parse_hub_spec(spec)
        hub_entry = get_model(wanted.name)
        return hub_entry, hub_entry.variant(wanted.quantization)
    name, quantization = parse_spec(spec)
    entry = get_model(name)
    return entry, entry.variant(quantization)


def default_spec() -> str:
    """The default model: ``default_model`` from settings, else the embedded one."""
    return load_settings().default_model or EMBEDDED_MODEL_NAME


@dataclass(frozen=True)
class ModelRow:
    """One line of ``models list``."""

    name: str
    variant: str
    size: int | None
    installed: bool
    verified: bool
    downloadable: bool  # has a URL and a checksum: `models pull` can fetch it
    default: bool
    path: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_models() -> list[ModelRow]:
    """Every variant of every registry model, installed or available."""
    default_name, default_q = parse_spec(default_spec())
    rows = []
    for entry in load_registry().values():
        for q, variant in entry.variants.items():
            path = variant_path(entry, variant)
            installed = path.is_file()
            rows.append(
                ModelRow(
                    name=entry.name,
                    variant=q,
                    size=path.stat().st_size if installed else variant.size,
                    installed=installed,
                    downloadable=bool(variant.urls and variant.sha256) or variant.embedded,
                    verified=bool(
                        installed and variant.sha256 and is_verified(path, variant.sha256)
                    ),
                    default=entry.name == default_name
                    and q == (default_q or entry.default_variant),
                    path=str(path),
                    source=entry.source,
                )
            )
    return rows


def resolve(spec: str, *, pull_missing: bool = False) -> Path:
    """The file of ``NAME[:VARIANT]``, pulling it first when asked and possible.

    Raises:
        ModelUnavailableError: unknown model or variant, or not installed.
    """
    if pull_missing and hub.is_hub_spec(spec):
        from music_reasoning.models.pull import pinned

        if pinned(hub.parse_hub_spec(spec)) is None:
            return pull(spec)  # never pulled: found on the Hub, downloaded and pinned
    entry, variant = _lookup(spec)
    if variant.embedded:
        return embedded_model_path()
    path = variant_path(entry, variant)
    if path.is_file():
        if variant.sha256 and not is_verified(path, variant.sha256):
            verify(spec)  # hashed once (then marked); a mismatch is CORRUPTED_MODEL
        return path
    if pull_missing and variant.urls:
        return pull(spec)
    hint = (
        f"run `music-reasoning models pull {entry.name}:{variant.quantization}`"
        if variant.urls
        else f"give it a URL with `music-reasoning models add {entry.name}:"
        f"{variant.quantization} --url URL --sha256 HEX` (or --path FILE), then pull it"
    )
    raise ModelUnavailableError(
        f"{entry.name}:{variant.quantization} is not installed (expected at {path}).",
        suggestion=hint[0].upper() + hint[1:] + ".",
        details={"path": str(path)},
    )


def pull(
    spec: str, *, progress: bool | None = None, parts: int = 4, retries: int = DEFAULT_RETRIES
) -> Path:
    """Download ``NAME[:VARIANT]`` (or ``hf.co/OWNER/REPO[:QUANT]``), verified, and return it.

    See :func:`music_reasoning.models.pull.pull_model`, which does it.

    Raises:
        ModelUnavailableError: the variant has no URL or no checksum; no such repository.
        InvalidInputError: a malformed hf.co spec, or a quantization the repository lacks.
        DownloadError, InsufficientDiskError, CorruptedModelError: see download_model.
    """
    from music_reasoning.models.pull import pull_model  # it uses this module: load it late

    return pull_model(spec, progress=progress, parts=parts, retries=retries)


def verify(spec: str) -> dict[str, Any]:
    """Re-hash an installed variant against the registry.

    Raises:
        ModelUnavailableError: not installed.
        CorruptedModelError: the hash differs (both hashes in the message).
    """
    entry, variant = _lookup(spec)
    path = embedded_model_path() if variant.embedded else variant_path(entry, variant)
    if not path.is_file():
        raise ModelUnavailableError(f"{spec} is not installed (expected at {path}).")
    actual = sha256_file(path)
    expected = variant.sha256
    if expected is None:
        _remember(path, actual)
        return {"model": f"{entry.name}:{variant.quantization}", "sha256": actual, "ok": None}
    if actual != expected:
        path.with_name(path.name + ".sha256").unlink(missing_ok=True)
        raise CorruptedModelError(
            f"{path} has SHA-256 {actual}, but the registry expects {expected}.",
            suggestion=f"Delete it with `music-reasoning models rm {spec}` and pull it again.",
            details={"path": str(path), "expected_sha256": expected, "actual_sha256": actual},
        )
    _remember(path, actual)
    return {"model": f"{entry.name}:{variant.quantization}", "sha256": actual, "ok": True}


def pulled(spec: str, path: Path) -> dict[str, Any]:
    """What ``models pull --json`` reports: the registry name, the file, its hash and source."""
    entry, variant = _lookup(spec)
    return {
        "model": f"{entry.name}:{variant.quantization}",
        "path": str(path),
        "size": path.stat().st_size,
        "sha256": variant.sha256,
        "urls": list(variant.urls),
        "source": entry.source,
    }


def _remember(path: Path, digest: str) -> None:
    """Write the verified marker; a read-only folder only costs hashing again next time."""
    try:
        mark_verified(path, digest)
    except OSError as exc:
        logger.info("cannot record that %s was verified: %s", path, exc)


def remove(spec: str, *, forget: bool = False) -> list[str]:
    """Delete a variant's file (and its marker and partials); ``forget`` drops a user entry.

    A ``--path`` variant's file is never deleted, only forgotten.  Returns what was done.
    """
    entry, variant = _lookup(spec)
    done: list[str] = []
    path = variant_path(entry, variant)
    if not variant.path and path.parent.is_dir():
        done += _delete_variant_files(entry, variant, path, keep_folder=variant.embedded)
    forgettable = forget or variant.path
    if forgettable and forget_user_model(f"{entry.name}:{variant.quantization}"):
        done.append(f"forgot {entry.name}:{variant.quantization}")
        default_name, default_q = parse_spec(default_spec())
        if default_name == entry.name and (default_q or entry.default_variant) == (
            variant.quantization
        ):
            save_setting("default_model", None)
            done.append(f"the default model is {EMBEDDED_MODEL_NAME} again")
    return done


def _delete_variant_files(
    entry: ModelEntry, variant: Variant, path: Path, *, keep_folder: bool = False
) -> list[str]:
    """Delete ``path`` and its siblings (marker, partials, lock), then empty store folders.

    Raises:
        ModelUnavailableError: another process is writing the file.
    """
    lock = model_lock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise ModelUnavailableError(
            f"{entry.name}:{variant.quantization} is being written by another process.",
            suggestion="Wait for that pull or quantization to finish, then remove it.",
            details={"path": str(path)},
        ) from exc
    except OSError as exc:
        raise storage_error(exc, path.parent, "remove files in") from exc
    done: list[str] = []
    try:
        siblings = [p for p in path.parent.iterdir() if p.name.startswith(path.name + ".")]
        for p in (path, *siblings):
            if p.exists() and not p.name.endswith(".lock"):
                try:
                    p.unlink()
                except OSError as exc:
                    raise storage_error(exc, p, "delete") from exc
                done.append(f"deleted {p}")
    finally:
        release_removing(lock)
    if not keep_folder:  # <model>/<variant>/ and <model>/, when nothing else is in them
        root = models_dir()
        for folder in path.parents:  # hf.co/OWNER/REPO/QUANT/ has four levels
            if folder == root or not folder.is_relative_to(root):
                break
            try:
                folder.rmdir()
            except OSError:  # not empty (another variant, a download starting): kept
                break
            done.append(f"removed the empty folder {folder}")
    return done


def use(spec: str) -> str:
    """Make ``NAME[:VARIANT]`` the default model (stored in config.toml); returns it.

    Raises:
        ModelUnavailableError: unknown model or variant.
    """
    entry, variant = _lookup(spec)
    chosen = (
        entry.name
        if variant.quantization == entry.default_variant
        else (f"{entry.name}:{variant.quantization}")
    )
    save_setting("default_model", chosen)
    return chosen


def gguf_metadata(path: Path) -> dict[str, Any]:
    """A few GGUF header fields, read from the file's header (no llama.cpp, no weights).

    The fields are also kept in ``cache_dir()/gguf-info`` keyed by the file's path, size
    and modification time.

    Raises:
        CorruptedModelError: the file is not a readable GGUF.
    """
    st = path.stat()
    stamp = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    memo = cache_dir() / "gguf-info" / (hashlib.sha256(stamp.encode()).hexdigest()[:32] + ".json")
    try:
        cached = json.loads(memo.read_text())
        if isinstance(cached, dict) and cached.get("stamp") == stamp:
            return dict(cached["fields"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    fields = _read_gguf_fields(path)
    try:
        atomic_write(memo, json.dumps({"stamp": stamp, "fields": fields}, default=str).encode())
    except OSError as exc:  # only a lost shortcut
        logger.debug("GGUF fields of %s not cached: %s", path, exc)
    return fields


_GGUF_SCALARS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i",
    6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d",
}  # fmt: skip
_GGUF_STRING, _GGUF_ARRAY = 8, 9
_GGUF_WANTED = {
    "architecture": "general.architecture",
    "name": "general.name",
    "size_label": "general.size_label",
    "license": "general.license",
    "file_type": "general.file_type",
    "quantization_version": "general.quantization_version",
    "context_length": "{arch}.context_length",
    "embedding_length": "{arch}.embedding_length",
    "block_count": "{arch}.block_count",
    "chat_template": "tokenizer.chat_template",
}


def _read_gguf_fields(path: Path) -> dict[str, Any]:
    """The header fields of ``_GGUF_WANTED``, read straight from the key-value section.

    Only the header is touched (through ``mmap``): arrays such as the 262k-token
    vocabulary are skipped by their lengths, never decoded, so this takes milliseconds
    where ``gguf.GGUFReader`` (which builds every field and tensor) took seconds.

    Raises:
        CorruptedModelError: the file is not a readable GGUF (v2 or later, little-endian).
    """
    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            raw = _gguf_header(mm)
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as exc:
        raise CorruptedModelError(
            f"{path} is not a readable GGUF file: {type(exc).__name__}: {exc}",
            suggestion="Re-download the file, or point at another .gguf model.",
            details={"path": str(path)},
        ) from exc
    arch = str(raw.get("general.architecture", ""))
    out: dict[str, Any] = {"tensors": raw["tensor_count"]}
    for label, key in _GGUF_WANTED.items():
        value = raw.get(key.format(arch=arch))
        if value is not None:
            out[label] = "(present)" if label == "chat_template" else value
    return out


def _gguf_header(mm: mmap.mmap) -> dict[str, Any]:
    """Scalar and string values of the header, by key, plus ``tensor_count``."""
    if mm[:4] != b"GGUF":
        raise ValueError("no GGUF signature")
    version, tensor_count, kv_count = struct.unpack_from("<IQQ", mm, 4)
    if not 2 <= version < 1 << 16:
        raise ValueError(f"unsupported GGUF version {version}")
    wanted = {k for k in _GGUF_WANTED.values() if "{" not in k}
    suffixes = tuple(k.removeprefix("{arch}") for k in _GGUF_WANTED.values() if "{" in k)
    out: dict[str, Any] = {"tensor_count": tensor_count}
    pos = 24
    for _ in range(kv_count):
        key, pos = _gguf_string(mm, pos)
        (kind,) = struct.unpack_from("<I", mm, pos)
        pos += 4
        if key in wanted or key.endswith(suffixes):
            value, pos = _gguf_value(mm, pos, kind)
            out[key] = value
        else:
            pos = _gguf_skip(mm, pos, kind)
    return out


def _gguf_string(mm: mmap.mmap, pos: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<Q", mm, pos)
    end = pos + 8 + length
    if end > len(mm):
        raise ValueError("a string runs past the end of the file")
    return mm[pos + 8 : end].decode("utf-8"), end


def _gguf_value(mm: mmap.mmap, pos: int, kind: int) -> tuple[Any, int]:
    if kind == _GGUF_STRING:
        return _gguf_string(mm, pos)
    if kind in _GGUF_SCALARS:
        fmt = _GGUF_SCALARS[kind]
        return struct.unpack_from(fmt, mm, pos)[0], pos + struct.calcsize(fmt)
    return None, _gguf_skip(mm, pos, kind)  # an array: not one of the fields we show


def _gguf_skip(mm: mmap.mmap, pos: int, kind: int) -> int:
    if kind == _GGUF_STRING:
        (length,) = struct.unpack_from("<Q", mm, pos)
        return pos + 8 + int(length)
    if kind in _GGUF_SCALARS:
        return pos + struct.calcsize(_GGUF_SCALARS[kind])
    if kind != _GGUF_ARRAY:
        raise ValueError(f"unknown GGUF value type {kind}")
    item, count = struct.unpack_from("<IQ", mm, pos)
    pos += 12
    if item in _GGUF_SCALARS:
        return pos + int(count) * struct.calcsize(_GGUF_SCALARS[item])
    for _ in range(count):  # strings (the vocabulary) or nested arrays
        pos = _gguf_skip(mm, pos, item)
        if pos > len(mm):
            raise ValueError("an array runs past the end of the file")
    return pos


def info(spec: str) -> dict[str, Any]:
    """Registry data, install state and (when installed) GGUF metadata of a model.

    ``context`` tells the two context sizes apart: ``trained`` (what the model was
    trained for: the GGUF's ``context_length``, else the registry's) and ``configured``
    (``n_ctx``, the window the engine opens, and where that setting came from).
    """
    entry, variant = _lookup(spec)
    data = entry.to_dict()
    path = embedded_model_path() if variant.embedded else variant_path(entry, variant)
    data["variant"] = variant.quantization
    data["path"] = str(path)
    data["installed"] = path.is_file()
    if path.is_file():
        data["gguf"] = gguf_metadata(path)
    settings = load_settings()
    trained = data.get("gguf", {}).get("context_length")
    data["context"] = {
        "trained": int(trained) if trained is not None else entry.context_length,
        "trained_from": "gguf" if trained is not None else "registry",
        "configured": settings.n_ctx,
        "configured_from": settings.sources.get("n_ctx", "default"),
    }
    return data
