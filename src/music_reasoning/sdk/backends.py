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
from music_reasoning.sdk.facts import grounded_examples

__all__ = ["LocalBackend"]


class LocalBackend:
    """The local model through the process-wide engine for ``model`` (None: the default)."""

    name = "local"

    def __init__(self, model: str | os.PathLike[str] | None = None) -> None:
        self.model = model
        self._examples = grounded_examples()

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
        completion = get_engine(self.model).complete(prompt, params, history=self._examples)
        return completion.text, completion.metrics.to_dict()

    def generate_many(
        self, prompts: Sequence[str], params: GenerationParams | Sequence[GenerationParams]
    ) -> list[tuple[str, dict[str, Any]] | MusicReasoningError]:
        """Answer prompts as parallel sequences; each item is an answer or its error.

        ``params`` is one for all prompts or one per prompt (each with the words its
        facts rule out).
        """
        out: list[tuple[str, dict[str, Any]] | MusicReasoningError] = []
        engine = get_engine(self.model)
        for item in engine.batch(list(prompts), params, history=self._examples):
            if item.error is not None:
                out.append(item.error)
            else:
                out.append((item.text or "", item.metrics.to_dict() if item.metrics else {}))
        return out
