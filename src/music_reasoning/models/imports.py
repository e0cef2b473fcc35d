"""Models the user already has: Ollama's store and folders of GGUF files, used in place.

Ollama's store (``$OLLAMA_MODELS``, default ``~/.ollama/models``)::

    manifests/registry.ollama.ai/library/llama3.2/latest     JSON: config + layers
    manifests/HOST/NAMESPACE/NAME/TAG                        other registries, namespaces
    blobs/sha256-<hex>                                       content-addressed layers

A manifest lists layers as ``{"mediaType", "digest": "sha256:<hex>", "size"}``; the
weights are the layer of type ``application/vnd.ollama.image.model``, a GGUF file whose
name is its own SHA-256.  :func:`import_ollama` hashes that blob (it must match its
name), checks the GGUF signature and registers it in the user's registry as
``ollama/NAME:TAG`` with its path, SHA-256 and size; nothing is copied, so ``models
verify`` re-hashes the blob where Ollama keeps it and ``models rm`` only forgets it.

:func:`import_folder` registers every GGUF file under a folder (LM Studio's
``~/.lmstudio/models``, llama.cpp's ``~/.cache/llama.cpp``, any download folder), also
in place, named after its file and labelled with the quantization its header (or name)
gives.  Files that are not GGUF are skipped and reported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from music_reasoning.errors import (
    CorruptedModelError,
    InvalidInputError,
    ModelUnavailableError,
    MusicReasoningError,
)
from music_reasoning.models.files import GGUF_MAGIC, check_gguf_header, exists
from music_reasoning.models.registry import add_user_model, load_registry

__all__ = [
    "ImportReport",
    "Imported",
    "Skipped",
    "import_folder",
    "import_ollama",
    "ollama_models_dir",
    "quantization_of",
]

logger = logging.getLogger(__name__)

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_DEFAULT_HOST = "registry.ollama.ai"
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_PART_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_BLOCK = 1 << 20

# llama.cpp's ``general.file_type`` (enum llama_ftype) -> the quantization's name
_FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}  # fmt: skip
_QUANT_IN_NAME = re.compile(
    r"[-_.](I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32)$", re.IGNORECASE
)  # the last ``-Q4_K_M`` of a file's stem


@dataclass(frozen=True)
class Imported:
    """A file registered in place."""

    model: str  # NAME:VARIANT
    path: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Skipped:
    """A file that was not registered, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ImportReport:
    """What an import registered and what it skipped."""

    imported: list[Imported] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": [i.to_dict() for i in self.imported],
            "skipped": [s.to_dict() for s in self.skipped],
        }


def ollama_models_dir() -> Path:
    """Ollama's store: ``$OLLAMA_MODELS``, else ``~/.ollama/models``."""
    configured = os.environ.get("OLLAMA_MODELS")
    return Path(configured).expanduser() if configured else Path.home() / ".ollama" / "models"


def _sha256_with_progress(path: Path, *, progress: bool | None, label: str) -> str:
    """The SHA-256 of ``path``, with a byte bar on stderr (a terminal only, by default)."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    with (
        path.open("rb") as fh,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"hashing {label}",
            file=sys.stderr,
            disable=None if progress is None else not progress,
            leave=False,
        ) as bar,
    ):
        while chunk := fh.read(_BLOCK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _split_ollama_ref(ref: str) -> tuple[list[str], str]:
    """``NAME[:TAG]`` or ``HOST/NAMESPACE/NAME[:TAG]`` -> (manifest path parts, tag).

    Raises:
        InvalidInputError: not a model reference Ollama would accept.
    """
    head, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        head, tag = ref, "latest"
    parts = head.split("/")
    if len(parts) == 1:
        parts = [OLLAMA_DEFAULT_HOST, "library", *parts]
    elif len(parts) == 2:
        parts = [OLLAMA_DEFAULT_HOST, *parts]
    bad = len(parts) != 3 or not all(_PART_RE.match(p.lower()) for p in parts[1:])
    if bad or not parts[0] or "\\" in ref or ".." in parts or not _TAG_RE.match(tag):
        raise InvalidInputError(
            f"{ref!r} is not an Ollama model name.",
            suggestion="Give NAME[:TAG] as `ollama list` shows it, e.g. `llama3.2:1b`, or "
            "HOST/NAMESPACE/NAME:TAG.",
        )
    return parts, tag


def _registry_name(parts: list[str], tag: str) -> str:
    """``ollama/NAME:TAG`` (a namespace other than ``library`` joins the name)."""
    host, namespace, name = parts
    base = name if namespace == "library" else f"{namespace}-{name}"
    if host != OLLAMA_DEFAULT_HOST:
        base = f"{host.split(':')[0]}-{base}"
    return f"ollama/{_clean(base)}:{_clean(tag)}"


def _clean(text: str) -> str:
    """``text`` as a registry name part: lower case, letters, digits, ``.``, ``-``, ``_``."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "x"


def import_ollama(ref: str, *, progress: bool | None = None) -> Imported:
    """Register the weights of Ollama's ``NAME[:TAG]`` in place, after checking them.

    Raises:
        InvalidInputError: ``ref`` is not an Ollama model name.
        ModelUnavailableError: no Ollama store, no such model or tag (the tags found are
            listed), or a manifest without a model layer or whose blob is missing.
        CorruptedModelError: the blob's SHA-256 is not its name, or it is not a GGUF file.
    """
    parts, tag = _split_ollama_ref(ref)
    root = ollama_models_dir()
    manifests = root / "manifests"
    if not manifests.is_dir():
        raise ModelUnavailableError(
            f"No Ollama model store at {root} (looked for {manifests}).",
            suggestion="Set OLLAMA_MODELS to the folder Ollama keeps its models in (the one "
            "holding manifests/ and blobs/), or pull the model with `ollama pull` first.",
            details={"looked_in": str(root)},
        )
    folder = manifests.joinpath(*parts)
    manifest_path = folder / tag
    if not manifest_path.is_file():
        tags = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        known = f"; its tags here: {', '.join(tags)}" if tags else ""
        raise ModelUnavailableError(
            f"Ollama has no {'/'.join(parts)}:{tag} in {root}{known}.",
            suggestion=(
                f"Import one of them: `music-reasoning models import ollama {parts[2]}:{tags[0]}`."
                if tags
                else f"Pull it with `ollama pull {ref}`, or check the name with `ollama list`."
            ),
            details={"looked_in": str(manifest_path), "tags": tags},
        )
    blob, expected, layer_size = _model_layer(manifest_path, root)
    label = f"{parts[2]}:{tag}"
    actual = _sha256_with_progress(blob, progress=progress, label=label)
    if actual != expected:
        raise CorruptedModelError(
            f"Ollama's blob {blob} has SHA-256 {actual}, not the {expected} its name and "
            "manifest promise: the file is damaged or was changed.",
            suggestion=f"Pull it again with `ollama pull {ref}` (Ollama re-downloads a damaged "
            "blob), then import it again.",
            details={"path": str(blob), "expected_sha256": expected, "actual_sha256": actual},
        )
    check_gguf_header(blob)
    size = blob.stat().st_size
    if layer_size is not None and layer_size != size:
        logger.warning("%s is %d bytes; its manifest says %d", blob, size, layer_size)
    return _register(_registry_name(parts, tag), blob, sha256=actual, size=size)


def _model_layer(manifest_path: Path, root: Path) -> tuple[Path, str, int | None]:
    """The blob path, hex digest and size of the manifest's model layer.

    Raises:
        ModelUnavailableError: unreadable manifest, no model layer, blob missing.
    """
    try:
        manifest = json.loads(manifest_path.read_bytes())
        layers = manifest["layers"]
        layer = next(x for x in layers if x.get("mediaType") == OLLAMA_MODEL_LAYER)
        algo, _, hex_digest = str(layer["digest"]).partition(":")
        size = layer.get("size")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration) as exc:
        raise ModelUnavailableError(
            f"{manifest_path} is not an Ollama manifest with a model layer ({type(exc).__name__}).",
            suggestion="Pull the model again with `ollama pull`; an adapter or projector-only "
            "model has no weights to import.",
            details={"manifest": str(manifest_path)},
        ) from exc
    if algo != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hex_digest):
        raise ModelUnavailableError(
            f"{manifest_path} names its model layer {layer['digest']!r}, not a SHA-256 digest.",
            suggestion="Pull the model again with `ollama pull`.",
            details={"manifest": str(manifest_path)},
        )
    blob = root / "blobs" / f"sha256-{hex_digest}"
    if not blob.is_file():
        raise ModelUnavailableError(
            f"Ollama's manifest {manifest_path} names the blob {blob.name}, which is missing.",
            suggestion="Pull the model again with `ollama pull`.",
            details={"path": str(blob)},
        )
    return blob, hex_digest, size if isinstance(size, int) else None


def _register(name: str, path: Path, *, sha256: str, size: int) -> Imported:
    quantization = quantization_of(path) or "F16"
    entry = add_user_model(
        f"{name}:{quantization}",
        path=path,
        sha256=sha256,
        size=size,
        prompt_format="chat",
        description=f"imported in place from {path}",
    )
    logger.info("registered %s:%s at %s", entry.name, quantization, path)
    return Imported(model=f"{entry.name}:{quantization}", path=str(path), sha256=sha256, size=size)


def quantization_of(path: Path) -> str | None:
    """The quantization of a GGUF file: its header's ``general.file_type``, else its name."""
    from music_reasoning.models.store import gguf_metadata

    try:
        file_type = gguf_metadata(path).get("file_type")
    except MusicReasoningError:
        file_type = None
    if isinstance(file_type, int) and file_type in _FILE_TYPES:
        return _FILE_TYPES[file_type]
    found = _QUANT_IN_NAME.search(path.stem)
    return found.group(1).upper() if found else None


def _name_for_file(path: Path) -> str:
    """A registry name from a file name: ``Qwen2.5-0.5B-Instruct-Q4_K_M.gguf`` ->
    ``qwen2.5-0.5b-instruct``."""
    stem = _QUANT_IN_NAME.sub("", path.stem)
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")
    return name or "model"


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


def import_folder(folder: Path, *, progress: bool | None = None) -> ImportReport:
    """Register every GGUF file under ``folder`` (or the file itself) in place.

    Each is hashed (so ``models verify`` can tell later whether it changed), named after
    its file, and labelled with its quantization.  Files that are not GGUF, split GGUF
    parts after the first, and unreadable files are skipped with a reason.

    Raises:
        ModelUnavailableError: ``folder`` does not exist.
    """
    folder = folder.expanduser()
    if not exists(folder):
        raise ModelUnavailableError(
            f"Nothing to import: {folder} does not exist.",
            suggestion="Give a GGUF file or a folder that holds some (LM Studio keeps them "
            "in ~/.lmstudio/models, llama.cpp in ~/.cache/llama.cpp).",
            details={"path": str(folder)},
        )
    files = [folder] if folder.is_file() else _walk(folder)
    report = ImportReport()
    taken = set(load_registry())
    for path in files:
        if not _is_gguf(path):
            report.skipped.append(Skipped(str(path), "not a GGUF file"))
            continue
        if re.search(r"-0*([2-9]|\d{2,})-of-\d+$", path.stem):
            report.skipped.append(Skipped(str(path), "a later part of a split GGUF"))
            continue
        try:
            check_gguf_header(path)
            quantization = quantization_of(path)
            if quantization is None:
                report.skipped.append(Skipped(str(path), "its quantization is unknown"))
                continue
            digest = _sha256_with_progress(path, progress=progress, label=path.name)
            name = _free_name(_name_for_file(path), quantization, path, taken)
            imported = _register(name, path, sha256=digest, size=path.stat().st_size)
        except (MusicReasoningError, OSError) as exc:
            why = exc.message if isinstance(exc, MusicReasoningError) else str(exc)
            report.skipped.append(Skipped(str(path), why))
            continue
        taken.add(name)
        report.imported.append(imported)
    return report


def _walk(folder: Path) -> list[Path]:
    """Regular files under ``folder``, sorted, not following links to folders."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=lambda exc: None):
        dirnames.sort()
        found += [Path(dirpath, f) for f in sorted(filenames) if Path(dirpath, f).is_file()]
    return found


def _free_name(base: str, quantization: str, path: Path, taken: set[str]) -> str:
    """``base``, unless a different file already holds ``base:QUANT``: then ``base-2``, ..."""
    registry = load_registry()
    candidate, n = base, 1
    while candidate in taken or candidate in registry:
        entry = registry.get(candidate)
        variant = entry.variants.get(quantization) if entry else None
        same = variant is None or (variant.path == str(path.resolve()))
        if entry is not None and entry.source == "user" and same:
            return candidate  # a new variant of the same model, or the same file again
        n += 1
        candidate = f"{base}-{n}"
    return candidate
