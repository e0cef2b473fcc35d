"""The convenience API: functions bound to one process-wide default :class:`LocalEngine`.

``generate_explanation`` and friends load the default model lazily on first use.
Pass ``model=`` (a GGUF path or a registry name) to use another model for one call;
engines live in an :class:`~.pool.EnginePool`, several at once within a memory budget.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any

from music_reasoning.engine.local import (
    AsyncTextStream,
    BatchItem,
    LocalEngine,
    ModelStatus,
    TextStream,
)
from music_reasoning.engine.metrics import Metrics, MetricsHook
from music_reasoning.engine.pool import EnginePool, ModelArg
from music_reasoning.errors import InvalidInputError
from music_reasoning.models.hub import is_hub_spec, parse_hub_spec
from music_reasoning.models.registry import parse_spec
from music_reasoning.models.store import resolve
from music_reasoning.params import DEFAULT_MAX_TOKENS, GenerationParams, resolve_params

__all__ = [
    "agenerate_explanation",
    "astream_explanation",
    "batch_generate_explanations",
    "generate_creative_suggestion",
    "generate_explanation",
    "generate_factual_explanation",
    "generate_highly_creative_idea",
    "get_engine",
    "get_model_status",
    "get_pool",
    "is_model_loaded",
    "load_model",
    "stream_explanation",
    "unload_model",
    "use_model",
    "warmup_model",
]

_pool: EnginePool | None = None
_pool_lock = threading.Lock()


def get_pool() -> EnginePool:
    """The process-wide :class:`EnginePool` (created on first use from settings)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = EnginePool()
        return _pool


def get_engine(model: ModelArg = None) -> LocalEngine:
    """Return the engine for ``model`` (a path, ``NAME[:VARIANT]``, or None: the default).

    Engines are kept in the pool: several models may be loaded at once within the memory
    budget; the least recently used idle ones are unloaded to make room.
    """
    return get_pool().get(model)


def use_model(model: ModelArg) -> str:
    """Make ``model`` the default for this process (``models use`` stores it for good).

    Returns the model file it resolves to.

    Raises:
        ModelUnavailableError: the model is unknown or not installed.
    """
    pool = get_pool()
    path = pool.resolve(model)
    pool.default_model = None if model is None else os.fspath(model)
    return str(path)


def _params(
    engine: LocalEngine,
    temperature: float | None,
    preset: str | None,
    max_tokens: int,
    timeout: float | None,
) -> GenerationParams:
    settings = engine.settings
    return resolve_params(
        temperature=temperature,
        preset=preset,
        max_tokens=max_tokens,
        timeout=settings.timeout if timeout is None else timeout,
        max_tokens_ceiling=settings.max_tokens_ceiling,
    )


def generate_explanation(
    prompt: str,
    *,
    temperature: float | None = None,
    preset: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    timeout: float | None = None,
    on_metrics: MetricsHook | None = None,
    model: ModelArg = None,
) -> str:
    """Answer a music-theory question with the local model.

    Args:
        prompt: the question (1 to ``max_prompt_chars`` characters, 1000 by default).
        temperature: 0 to 1; overrides ``preset``.
        preset: ``factual`` (0.3), ``creative`` (0.5, default) or ``highly_creative`` (0.7).
        max_tokens: answer length limit; above the configured ceiling it is clamped.
        timeout: seconds before decoding is stopped (default 30, ``MUSIC_REASONING_TIMEOUT``).
        on_metrics: called with this call's :class:`Metrics`.
        model: a GGUF path for this call instead of the default model.

    Raises:
        InvalidInputError: bad prompt or parameters.
        InferenceTimeoutError: decoding was stopped at the timeout.
        ModelUnavailableError, CorruptedModelError, InsufficientRAMError: loading failed.
        InferenceError: llama.cpp failed after retries.
    """
    engine = get_engine(model)
    params = _params(engine, temperature, preset, max_tokens, timeout)
    return engine.complete(prompt, params, on_metrics=on_metrics).text


def generate_factual_explanation(prompt: str, **kwargs: Any) -> str:
    """:func:`generate_explanation` with the ``factual`` preset (temperature 0.3)."""
    return generate_explanation(prompt, preset="factual", **kwargs)


def generate_creative_suggestion(prompt: str, **kwargs: Any) -> str:
    """:func:`generate_explanation` with the ``creative`` preset (temperature 0.5)."""
    return generate_explanation(prompt, preset="creative", **kwargs)


def generate_highly_creative_idea(prompt: str, **kwargs: Any) -> str:
    """:func:`generate_explanation` with the ``highly_creative`` preset (temperature 0.7)."""
    return generate_explanation(prompt, preset="highly_creative", **kwargs)


async def agenerate_explanation(prompt: str, **kwargs: Any) -> str:
    """Async twin of :func:`generate_explanation` (decoding runs on a worker thread)."""
    return await asyncio.to_thread(generate_explanation, prompt, **kwargs)


def stream_explanation(
    prompt: str,
    *,
    temperature: float | None = None,
    preset: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    timeout: float | None = None,
    on_metrics: MetricsHook | None = None,
    model: ModelArg = None,
) -> TextStream:
    """Yield the answer in chunks as tokens are produced.

    A consumer that stops reading pauses generation; closing or breaking out of the
    iterator stops it within one token.  Raises like :func:`generate_explanation`
    (input errors at the call, the others while iterating).
    """
    engine = get_engine(model)
    params = _params(engine, temperature, preset, max_tokens, timeout)
    return engine.stream(prompt, params, on_metrics=on_metrics)


def astream_explanation(
    prompt: str,
    *,
    temperature: float | None = None,
    preset: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    timeout: float | None = None,
    on_metrics: MetricsHook | None = None,
    model: ModelArg = None,
) -> AsyncTextStream:
    """Async iterator twin of :func:`stream_explanation`."""
    engine = get_engine(model)
    params = _params(engine, temperature, preset, max_tokens, timeout)
    return engine.astream(prompt, params, on_metrics=on_metrics)


def batch_generate_explanations(
    prompts: Sequence[str],
    *,
    temperature: float | None = None,
    preset: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    timeout: float | None = None,
    on_metrics: MetricsHook | None = None,
    model: ModelArg = None,
) -> list[BatchItem]:
    """Answer many prompts as parallel sequences in one llama.cpp context.

    Returns one :class:`BatchItem` per prompt, in order; an invalid prompt gives an
    item with ``error`` (code ``INVALID_INPUT``) and the rest still answer.
    """
    engine = get_engine(model)
    params = _params(engine, temperature, preset, max_tokens, timeout)
    return engine.batch(prompts, params, on_metrics=on_metrics)


def load_model(model: ModelArg = None, *, quantization: str | None = None) -> ModelStatus:
    """Load the model now instead of on first use; returns its status.

    ``quantization`` picks that variant of a registry model (``"Q8_0"``), pulling it
    first when it has a URL and is not installed yet.

    Raises:
        InvalidInputError: ``quantization`` with a model given as a file path.
        ModelUnavailableError: no such model or variant, or it cannot be pulled.
    """
    if quantization is not None:
        model = _variant_spec(model, quantization)
        resolve(str(model), pull_missing=True)
    return get_engine(model).load()


def _variant_spec(model: ModelArg, quantization: str) -> str:
    text = get_pool().choice(model)
    if is_hub_spec(text):  # hf.co/OWNER/REPO[:QUANT]: that repository's other file
        return f"{parse_hub_spec(text).name}:{quantization.upper()}"
    if os.sep in text or text.endswith(".gguf"):
        raise InvalidInputError(
            f"quantization={quantization!r} needs a registry model, not the file {text}.",
            suggestion="Pass model='NAME' (see `music-reasoning models list`).",
        )
    name, _ = parse_spec(text)
    return f"{name}:{quantization.upper()}"


def unload_model(model: ModelArg = None) -> None:
    """Free the model's memory; the next call loads it again."""
    get_engine(model).unload()


def is_model_loaded(model: ModelArg = None) -> bool:
    """Whether the model is in memory."""
    return get_engine(model).is_loaded()


def get_model_status(model: ModelArg = None) -> ModelStatus:
    """Loaded or not, path, backend, GPU layers, load time and the last error."""
    return get_engine(model).status()


def warmup_model(model: ModelArg = None) -> Metrics:
    """Load the model and evaluate the fixed prompt prefix so the first real call is fast."""
    return get_engine(model).warmup()
