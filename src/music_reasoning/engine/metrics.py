"""Per-call metrics and the global hook registry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Metrics", "MetricsHook", "add_metrics_hook", "emit_metrics", "remove_metrics_hook"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metrics:
    """What one generation cost.  Token counts come from the model's tokenizer.

    ``model_load_ms`` is set only on the call that loaded the model.
    ``tokens_per_second`` is decode speed: tokens after the first over the time since it.
    """

    model: str
    prompt_tokens: int
    completion_tokens: int
    reused_prompt_tokens: int
    time_to_first_token_ms: float | None
    total_ms: float
    tokens_per_second: float | None
    finish_reason: str
    model_load_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


MetricsHook = Callable[[Metrics], None]
_hooks: list[MetricsHook] = []
_hooks_lock = threading.Lock()


def add_metrics_hook(hook: MetricsHook) -> None:
    """Call ``hook(metrics)`` after every generation in this process."""
    with _hooks_lock:
        _hooks.append(hook)


def remove_metrics_hook(hook: MetricsHook) -> None:
    """Stop calling ``hook``; unknown hooks are ignored."""
    with _hooks_lock:
        if hook in _hooks:
            _hooks.remove(hook)


def emit_metrics(metrics: Metrics, on_metrics: MetricsHook | None) -> None:
    """Deliver metrics to the per-call callback and every global hook; a failing hook is logged."""
    with _hooks_lock:
        targets = [*([on_metrics] if on_metrics else []), *_hooks]
    for hook in targets:
        try:
            hook(metrics)
        except Exception:
            logger.exception("metrics hook %r failed", hook)
