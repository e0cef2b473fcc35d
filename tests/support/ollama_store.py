"""Real-layout Ollama stores and small GGUF files for the import tests.

:func:`tiny_gguf` writes a valid GGUF v3 header (no tensors) whose ``general.file_type``
names a quantization, padded past the size check; :func:`ollama_store` lays a model file
out the way Ollama does: ``manifests/HOST/NAMESPACE/NAME/TAG`` (JSON) and
``blobs/sha256-<hex>`` (hard-linked when it can be, so a 250 MB model costs nothing).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from pathlib import Path

MODEL_LAYER = "application/vnd.ollama.image.model"
FILE_TYPES = {"Q4_K_M": 15, "Q8_0": 7, "F16": 1, "Q4_0": 2}


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def tiny_gguf(path: Path, quantization: str | None = "Q4_K_M", *, filler: bytes = b"") -> Path:
    """A header-only GGUF file (``general.file_type`` = ``quantization`` unless None)."""
    kv = [(_string("general.architecture"), 8, _string("llama"))]
    if quantization is not None:
        kv.append((_string("general.file_type"), 4, struct.pack("<I", FILE_TYPES[quantization])))
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv))
    body += b"".join(k + struct.pack("<I", t) + v for k, t, v in kv)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body + filler + b"\0" * max(0, 2048 - len(body) - len(filler)))
    return path


def ollama_store(
    root: Path,
    model_file: Path,
    *,
    name: str = "tiny",
    tag: str = "latest",
    host: str = "registry.ollama.ai",
    namespace: str = "library",
) -> Path:
    """Put ``model_file`` in an Ollama store at ``root`` as ``NAME:TAG``; return its blob."""
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blob = blobs / f"sha256-{digest}"
    if not blob.exists():
        try:
            os.link(model_file, blob)
        except OSError:
            shutil.copyfile(model_file, blob)
    config = b'{"model_format":"gguf","model_family":"llama"}'
    config_digest = hashlib.sha256(config).hexdigest()
    (blobs / f"sha256-{config_digest}").write_bytes(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": f"sha256:{config_digest}",
            "size": len(config),
        },
        "layers": [
            {"mediaType": MODEL_LAYER, "digest": f"sha256:{digest}", "size": blob.stat().st_size},
            {
                "mediaType": "application/vnd.ollama.image.template",
                "digest": f"sha256:{config_digest}",
                "size": len(config),
            },
        ],
    }
    folder = root / "manifests" / host / namespace / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / tag).write_text(json.dumps(manifest))
    return blob
