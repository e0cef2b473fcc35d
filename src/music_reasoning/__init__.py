"""music-reasoning: offline music-theory explanations with local language models.

The supported public API is what ``__all__`` lists; everything else is internal.
"""

from __future__ import annotations

import logging

from music_reasoning.config import Settings, load_settings
from music_reasoning.engine.chat import ChatSession
from music_reasoning.engine.local import BatchItem, Completion, LocalEngine, ModelStatus
from music_reasoning.engine.metrics import Metrics, add_metrics_hook, remove_metrics_hook
from music_reasoning.engine.runtime import (
    agenerate_explanation,
    astream_explanation,
    batch_generate_explanations,
    generate_creative_suggestion,
    generate_explanation,
    generate_factual_explanation,
    generate_highly_creative_idea,
    get_model_status,
    is_model_loaded,
    load_model,
    stream_explanation,
    unload_model,
    use_model,
    warmup_model,
)
from music_reasoning.errors import (
    CorruptedModelError,
    InferenceError,
    InferenceTimeoutError,
    InsufficientDiskError,
    InsufficientRAMError,
    InvalidInputError,
    ModelUnavailableError,
    MusicReasoningError,
    StorageError,
    TierLimitError,
)
from music_reasoning.params import PRESETS, GenerationParams
from music_reasoning.sdk import (
    ExplanationResult,
    Hybrid,
    chord,
    explain_concept,
    explain_question,
    progression,
    scale,
)

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "BatchItem",
    "ChatSession",
    "Completion",
    "CorruptedModelError",
    "ExplanationResult",
    "GenerationParams",
    "Hybrid",
    "InferenceError",
    "InferenceTimeoutError",
    "InsufficientDiskError",
    "InsufficientRAMError",
    "InvalidInputError",
    "LocalEngine",
    "Metrics",
    "ModelStatus",
    "ModelUnavailableError",
    "MusicReasoningError",
    "Settings",
    "StorageError",
    "TierLimitError",
    "__version__",
    "add_metrics_hook",
    "agenerate_explanation",
    "astream_explanation",
    "batch_generate_explanations",
    "chord",
    "explain_concept",
    "explain_question",
    "generate_creative_suggestion",
    "generate_explanation",
    "generate_factual_explanation",
    "generate_highly_creative_idea",
    "get_model_status",
    "is_model_loaded",
    "load_model",
    "load_settings",
    "progression",
    "remove_metrics_hook",
    "scale",
    "stream_explanation",
    "unload_model",
    "use_model",
    "warmup_model",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
