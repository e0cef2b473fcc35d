"""A scripted engine for the server's unit tests: the Engine protocol, no llama.cpp.

It answers every prompt with the same words, one chunk per word, honouring
``max_tokens`` (one word is one token) and ``emit`` returning False (cancelled).  A
``gate`` makes it wait before each word, so tests can hold a request mid-answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from music_reasoning.engine.local import BatchItem, Completion
from music_reasoning.engine.metrics import Metrics
from music_reasoning.errors import InferenceTimeoutError, MusicReasoningError
from music_reasoning.params import GenerationParams

WORDS = ("C,", " E", " and", " G.")


@dataclass
class Call:
    prompt: str
    params: GenerationParams
    history: tuple[tuple[str, str], ...]
    raw: bool
    emitted: list[str] = field(default_factory=list)
    finish_reason: str = ""


class ScriptedEngine:
    def __init__(
        self,
        words: Sequence[str] = WORDS,
        *,
        gate: threading.Event | None = None,
        load_gate: threading.Event | None = None,
        load_error: MusicReasoningError | None = None,
        fail_after: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.words = tuple(words)
        self.gate = gate
        self.load_gate = load_gate
        self.load_error = load_error
        self.fail_after = fail_after
        self.error = error
        self.loaded = False
        self.calls: list[Call] = []
        self.finished = threading.Event()

    def load(self) -> None:
        if self.load_gate is not None:
            self.load_gate.wait(10)
        if self.load_error is not None:
            raise self.load_error
        self.loaded = True

    def is_loaded(self) -> bool:
        return self.loaded

    def complete(
        self,
        prompt: str,
        params: GenerationParams,
        *,
        history: Sequence[tuple[str, str]] = (),
        emit: Callable[[str], bool] | None = None,
        raw: bool = False,
        ready: Callable[[], bool] | None = None,
    ) -> Completion:
        call = Call(prompt, params, tuple(history), raw)
        self.calls.append(call)
        reason = "length" if len(self.words) > params.max_tokens else "stop"
        deadline = time.monotonic() + params.timeout
        try:
            for i, word in enumerate(self.words[: params.max_tokens]):
                while ready is not None and not ready():  # the engine holds a slow reader
                    if time.monotonic() >= deadline:
                        reason = "timeout"
                        raise InferenceTimeoutError("Generation stopped at its deadline.")
                    time.sleep(0.005)
                if self.gate is not None and not self.gate.wait(10):
                    raise AssertionError("gate never opened")
                if self.fail_after is not None and i >= self.fail_after:
                    raise self.error or RuntimeError("scripted failure")
                call.emitted.append(word)
                if emit is not None and emit(word) is False:
                    reason = "cancelled"
                    break
        finally:
            call.finish_reason = reason
            self.finished.set()
        n = len(call.emitted)
        metrics = Metrics(
            model="fake.gguf",
            prompt_tokens=len(prompt.split()) + 2 * len(history),
            completion_tokens=n,
            reused_prompt_tokens=0,
            time_to_first_token_ms=1.0,
            total_ms=2.0,
            tokens_per_second=50.0 if n > 1 else None,
            finish_reason=reason,
        )
        return Completion("".join(call.emitted).strip(), metrics)

    def batch(
        self,
        prompts: Sequence[str],
        params: GenerationParams | Sequence[GenerationParams],
        *,
        raw: bool = False,
    ) -> list[BatchItem]:
        each = [params] * len(prompts) if isinstance(params, GenerationParams) else list(params)
        items = []
        for i, (prompt, p) in enumerate(zip(prompts, each, strict=True)):
            c = self.complete(prompt, p, raw=raw)
            items.append(BatchItem(i, prompt, text=c.text, metrics=c.metrics))
        return items
