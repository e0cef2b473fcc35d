"""Pulling a model into the store: from its URLs, or found on the Hugging Face Hub and pinned.

::

    pull_model(spec)
      ├─ hf.co/OWNER/REPO[:QUANT] pinned in models.toml?  ── yes ─┐
      │    no: hub.locate() ─► _fetch_and_pin()                    │
      ├─ a curated entry without a checksum (source = "hf.co/…"):  │
      │    hub.locate(filename=…) ─► _fetch_and_pin()              │
      └─ any other variant with URLs and a SHA-256 ────────────────┴─► _download()

    _download(): the store's lock, then download_model (resumable, verified before the
    file appears); a failure on a full or read-only disk keeps the ``.partial`` only while
    its sidecar describes it (so a resume is valid), otherwise both are deleted.
    _fetch_and_pin(): _download(), then the URL, SHA-256 and size go into models.toml.

The Hub's token goes only with URLs on the Hub's own address (:func:`hub.auth_headers`);
a 401/403 there becomes the error that says to set ``HF_TOKEN``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path
from typing import Any

from filelock import Timeout

from music_reasoning.errors import (
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
    acquire_or_wait,
    check_gguf_header,
    embedded_model_path,
    is_verified,
    model_lock,
    release_removing,
    sha256_file,
)
from music_reasoning.models.registry import (
    ModelEntry,
    Variant,
    add_user_model,
    get_model,
    user_registry_path,
)
from music_reasoning.models.store import _lookup, variant_path

__all__ = ["pinned", "pull_model"]

logger = logging.getLogger(__name__)


def pull_model(
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
        found = pinned(wanted)
        if found is None:
            remote = hub.locate(wanted)
            return _fetch_and_pin(
                _hub_entry(remote), remote, progress=progress, parts=parts, retries=retries
            )
        entry, variant = found
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
        repo = hub.hub_repo_of(variant.urls)
        if repo is None:
            raise
        raise hub.explain_refusal(exc, repo) from exc


def pinned(wanted: hub.HubSpec) -> tuple[ModelEntry, Variant] | None:
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
        _drop_lock_file(dest)  # a refused or failed download leaves no lock file behind
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
