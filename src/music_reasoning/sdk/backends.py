"""Text backends for the hybrid layer: the local engine (and the cloud, see ``cloud.py``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from music_reasoning.engine.runtime import get_engine, get_pool
from music_reasoning.errors import MusicReasoningError
from music_reasoning.models.files import recorded_digest
from music_reasoning.models.registry import get_model
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.facts import examples_for

__all__ = ["LocalBackend"]


class LocalBackend:
    """The local model through the process-wide engine for ``model`` (None: the default)."""

    name = "local"

    def __init__(self, model: str | os.PathLike[str] | None = None) -> None:
        self.model = model

    def model_file(self) -> Path:
        """The GGUF file this backend answers with (not loaded by asking)."""
        return get_pool().resolve(self.model)

    def model_id(self) -> str:
        """Identify the model without loading it: its SHA-256 when the store verified the
        file (so copies and renames share cache entries), else name, size and mtime."""
        path = self.model_file()
        digest = recorded_digest(path)
        if digest is not None:
            return f"sha256:{digest}"
        st = path.stat()
        return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"

    def weaknesses(self) -> dict[str, str]:
        """Known weaknesses of this model from the registry (topic -> description).

        Empty for a model given as a file path that the registry does not name.
        """
        text = get_pool().choice(self.model)
        if os.sep in text or text.endswith(".gguf"):
            return {}
        try:
            return get_model(text).route_around()
        except MusicReasoningError:
            return {}

    def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        engine = get_engine(self.model)
        completion = engine.complete(prompt, params, history=examples_for(prompt))
        return completion.text, completion.metrics.to_dict()

    def generate_many(
        self, prompts: Sequence[str], params: GenerationParams | Sequence[GenerationParams]
    ) -> list[tuple[str, dict[str, Any]] | MusicReasoningError]:
        """Answer prompts as parallel sequences; each item is an answer or its error.

        ``params`` is one for all prompts or one per prompt (each with the words its
        facts rule out).
        """
        engine = get_engine(self.model)
        each = [params] * len(prompts) if isinstance(params, GenerationParams) else list(params)
        groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for i, prompt in enumerate(prompts):  # one batch per set of worked examples
            groups.setdefault(examples_for(prompt), []).append(i)
        out: dict[int, tuple[str, dict[str, Any]] | MusicReasoningError] = {}
        for examples, indices in groups.items():
            items = engine.batch(
                [prompts[i] for i in indices], [each[i] for i in indices], history=examples
            )
            for i, item in zip(indices, items, strict=True):
                if item.error is not None:
                    out[i] = item.error
                else:
                    out[i] = (item.text or "", item.metrics.to_dict() if item.metrics else {})
        return [out[i] for i in range(len(prompts))]
