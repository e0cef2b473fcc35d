"""Imports point one way, and each third-party engine has exactly one home."""

from __future__ import annotations

import ast
from pathlib import Path

import music_reasoning

SRC = Path(music_reasoning.__file__).parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules() -> dict[str, set[str]]:
    return {str(p.relative_to(SRC)): imports_of(p) for p in SRC.rglob("*.py")}


def test_llama_cpp_only_in_the_engine_adapter_and_benchmark() -> None:
    users = {
        m for m, names in modules().items() if any(n.split(".")[0] == "llama_cpp" for n in names)
    }
    assert users == {"engine/_llama.py", "engine/bench.py"}


def test_music21_only_in_the_theory_backend() -> None:
    users = {
        m for m, names in modules().items() if any(n.split(".")[0] == "music21" for n in names)
    }
    assert users == {"theory/_backend.py"}


def test_the_hugging_face_hub_only_in_its_adapter() -> None:
    users = {
        m
        for m, names in modules().items()
        if any(n.split(".")[0] in ("huggingface_hub", "httpx2") for n in names)
    }
    assert users == {"models/hub.py"}


def test_lower_layers_do_not_import_upper_ones() -> None:
    order = {
        "errors": 0,
        "config": 0,
        "params": 0,
        "models": 1,
        "theory": 1,
        "engine": 2,
        "sdk": 3,
        "server": 4,
        "cli": 5,
    }
    for module, names in modules().items():
        layer = module.split("/")[0].removesuffix(".py")
        if layer not in order:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "music_reasoning" or len(parts) < 2 or parts[1] not in order:
                continue
            assert order[parts[1]] <= order[layer], f"{module} imports {name}"


def test_public_api_is_pinned() -> None:
    assert sorted(music_reasoning.__all__) == sorted(
        [
            "PRESETS",
            "BatchItem",
            "ExplanationResult",
            "Hybrid",
            "TierLimitError",
            "ChatSession",
            "Completion",
            "CorruptedModelError",
            "GenerationParams",
            "InferenceError",
            "InferenceTimeoutError",
            "InsufficientDiskError",
            "InsufficientRAMError",
            "InvalidInputError",
            "LocalEngine",
            "StorageError",
            "Metrics",
            "ModelStatus",
            "ModelUnavailableError",
            "MusicReasoningError",
            "Settings",
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
    )
    for name in music_reasoning.__all__:
        assert hasattr(music_reasoning, name), name
