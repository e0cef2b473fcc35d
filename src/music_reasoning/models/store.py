"""The model store: which registry variants are on disk, verified, and where.

Layout (under ``cache_dir()/models``)::

    gemma-3-270m-q4_k_m.gguf                  the embedded model (assembled, see files.py)
    core3b-v4.8/Q8_0/core3b-v4.8-q8_0.gguf    a pulled or quantized variant
    core3b-v4.8/Q8_0/….gguf.sha256            "<sha256> <size> <mtime_ns>": verified
    core3b-v4.8/Q8_0/….gguf.partial           an interrupted download (resumable)
    core3b-v4.8/Q8_0/….gguf.lock              held while a pull, quantize or rm writes

A variant added with ``models add --path`` stays where it is (the registry records
its path); ``models rm`` then only forgets it.  Lock files are deleted by the operation
that holds them once it is done (see :func:`~music_reasoning.models.files.release_removing`);
``models rm`` also removes the folders it leaves empty.  A pull that fails on a full or
read-only disk keeps its ``.partial`` only while its sidecar describes it (so a resume
is valid); otherwise both are deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
    DownloadError,
    InsufficientDiskError,
    ModelUnavailableError,
    MusicReasoningError,
    StorageError,
    storage_error,
)
from music_reasoning.models import hub
from music_reasoning.models._partial import load_sidecar
from music_reasoning.models.download import DEFAULT_RETRIES, download_model
from music_reasoning.models.files import (
    EMBEDDED_MODEL_NAME,
    acquire_or_wait,
    check_gguf_header,
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
    add_user_model,
    forget_user_model,
    get_model,
    load_registry,
    parse_spec,
    user_registry_path,
)

__all__ = [
    "ModelRow",
    "default_spec",
    "gguf_metadata",
    "info",
    "list_models",
    "pull",
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
    if pull_missing and hub.is_hub_spec(spec) and _pinned(hub.parse_hub_spec(spec)) is None:
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

    A Hugging Face spec, or a curated entry whose file has no checksum yet, is looked up
    on the Hub the first time (see :mod:`~music_reasoning.models.hub`) and, once its
    file is verified, pinned in the user's registry with its URL, SHA-256 and size;
    later pulls and loads use that entry and need no network while the file is stored.

    Raises:
        ModelUnavailableError: the variant has no URL or no checksum; no such repository.
        InvalidInputError: a malformed hf.co spec, or a quantization the repository lacks.
        DownloadError, InsufficientDiskError, CorruptedModelError: see download_model.
    """
    if hub.is_hub_spec(spec):
        wanted = hub.parse_hub_spec(spec)
        pinned = _pinned(wanted)
        if pinned is None:
            remote = hub.locate(wanted)
            return _fetch_and_pin(
                _hub_entry(remote), remote, progress=progress, parts=parts, retries=retries
            )
        entry, variant = pinned
    else:
        entry, variant = _lookup(spec)
        if variant.embedded:
            return embedded_model_path()
        if variant.path:
            return Path(variant.path)
        if not (variant.urls and variant.sha256) and hub.is_hub_spec(entry.upstream):
            source = hub.parse_hub_spec(str(entry.upstream))  # a curated entry: its exact file
            wanted = hub.HubSpec(source.repo_id, variant.quantization)
            remote = hub.locate(wanted, filename=variant.filename)
            return _fetch_and_pin(entry, remote, progress=progress, parts=parts, retries=retries)
    headers = hub.auth_headers(variant.urls)  # a token only when every URL is the Hub's
    try:
        return _download(
            entry, variant, progress=progress, parts=parts, retries=retries, headers=headers
        )
    except DownloadError as exc:
        if not headers and not entry.name.startswith(hub.HUB_PREFIX):
            raise
        raise hub.explain_refusal(exc, entry.name.removeprefix(hub.HUB_PREFIX)) from exc


def _pinned(wanted: hub.HubSpec) -> tuple[ModelEntry, Variant] | None:
    """The registry's entry for a Hub spec, when it already records a URL and a SHA-256."""
    try:
        entry = get_model(wanted.name)
        variant = entry.variant(wanted.quantization)  # none asked: the entry's default
    except ModelUnavailableError:
        return None
    return (entry, variant) if variant.urls and variant.sha256 else None


def _hub_entry(remote: hub.HubFile) -> ModelEntry:
    """The entry a Hub file will have once pinned (in memory until it is verified)."""
    if not remote.filename.lower().endswith(".gguf") or remote.filename.startswith("."):
        raise ModelUnavailableError(f"{remote.path} in {remote.repo_id} is not a GGUF file name.")
    variant = Variant(quantization=remote.quantization, filename=remote.filename)
    return ModelEntry(
        name=remote.name,
        version=remote.revision,
        family="huggingface",
        license=remote.license or "see the model card",
        context_length=remote.context_length or 2048,
        prompt_format="chat",
        default_variant=remote.quantization,
        variants={remote.quantization: variant},
        description=f"{remote.path} from Hugging Face {remote.repo_id} at {remote.revision[:12]}",
        source="user",
    )


def _fetch_and_pin(
    entry: ModelEntry, remote: hub.HubFile, *, progress: bool | None, parts: int, retries: int
) -> Path:
    """Download ``remote`` as ``entry``'s variant, then record it in the user's registry."""
    variant = dataclasses.replace(
        entry.variants[remote.quantization],
        urls=(remote.url,),
        sha256=remote.sha256,
        size=remote.size,
    )
    try:
        path = _download(
            entry,
            variant,
            progress=progress,
            parts=parts,
            retries=retries,
            headers=hub.auth_headers([remote.url]),
        )
    except DownloadError as exc:
        raise hub.explain_refusal(exc, remote.repo_id) from exc
    about: dict[str, Any] = {}
    if entry.source == "user":  # a new Hub model; a curated entry keeps what it ships
        about = {
            "license": remote.license,
            "context_length": remote.context_length,
            "description": entry.description,
        }
    add_user_model(
        f"{entry.name}:{variant.quantization}",
        urls=[remote.url],
        sha256=remote.sha256,
        size=remote.size,
        filename=variant.filename,
        **about,
    )
    logger.info("pinned %s:%s in %s", entry.name, variant.quantization, user_registry_path())
    return path


def _download(
    entry: ModelEntry,
    variant: Variant,
    *,
    progress: bool | None,
    parts: int,
    retries: int,
    headers: dict[str, str] | None = None,
) -> Path:
    """Fetch ``variant`` into the store; a failed pull keeps only a resumable partial.

    Raises:
        ModelUnavailableError: the variant has no URL or no checksum.
        DownloadError, InsufficientDiskError, CorruptedModelError: see download_model.
    """
    if not variant.urls or not variant.sha256:
        raise ModelUnavailableError(
            f"{entry.name}:{variant.quantization} has no download URL and SHA-256 configured.",
            suggestion=f"Run `music-reasoning models add {entry.name}:{variant.quantization} "
            "--url URL --sha256 HEX` first (mirrors: repeat --url).",
        )
    dest = variant_path(entry, variant)
    spec_name = f"{entry.name}:{variant.quantization}"
    lock = model_lock(dest)
    try:
        acquire_or_wait(lock, f"another download of {spec_name}")
        lock.release()  # download_model takes it again; this only said why we waited
        path = download_model(
            list(variant.urls),
            dest,
            sha256=variant.sha256,
            size=variant.size,
            parts=parts,
            retries=retries,
            progress=progress,
            headers=headers,
        )
    except (InsufficientDiskError, StorageError) as exc:
        _after_failed_pull(dest, variant.sha256)
        if _published(dest, variant.sha256):
            logger.warning("%s is downloaded, but its marker was not written: %s", dest, exc)
            return dest
        raise
    except MusicReasoningError:
        raise
    except OSError as exc:  # a file operation on the way, outside the download's own checks
        _after_failed_pull(dest, variant.sha256)
        raise storage_error(exc, dest, "download") from exc
    check_gguf_header(path)
    _drop_lock_file(dest)
    return path


def _drop_lock_file(path: Path) -> None:
    """Delete ``path``'s lock file if no one holds it (never wait for it)."""
    lock = model_lock(path)
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return
    release_removing(lock)


def _published(dest: Path, sha256: str) -> bool:
    """Whether ``dest`` is in place with the right hash (only its marker may be missing)."""
    return dest.is_file() and (is_verified(dest, sha256) or sha256_file(dest) == sha256)


def _after_failed_pull(dest: Path, sha256: str) -> None:
    """Keep a ``.partial`` only if its sidecar makes a valid resume; else delete both.

    Done under the download lock, and skipped if another process holds it.
    """
    lock = model_lock(dest)
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return
    try:
        partial = dest.with_name(dest.name + ".partial")
        sidecar = dest.with_name(dest.name + ".partial.json")
        if not _resumable(partial, sidecar, sha256):
            for leftover in (partial, sidecar):
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)
    finally:
        release_removing(lock)


def _resumable(partial: Path, sidecar: Path, sha256: str) -> bool:
    """Whether ``sidecar`` describes ``partial`` so that a resume is valid."""
    if not partial.is_file():
        return False
    state = load_sidecar(sidecar)  # None: missing, unreadable or inconsistent
    if state is None or state.sha256 != sha256:
        return False
    on_disk = partial.stat().st_size
    if state.single:  # appended: the sidecar may lag the file, never lead it
        return state.parts[0].done <= on_disk
    return state.size == on_disk  # parallel parts write into a preallocated file


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
