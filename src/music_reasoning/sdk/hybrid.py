"""The hybrid layer: the model writes prose, the theory layer supplies and checks the facts.

How one explanation is made (:meth:`Hybrid.explain`)::

    facts (layer 1) ─► tier allows AI? ── no ─► data only, error TIER_LIMIT
                        │ yes
                        ▼
               model known to fail here? ── yes ─► sentence built from the facts
                        │ no
                        ▼
                   cache hit? ── yes ─► cached verified answer (source "cache")
                        │ no
                        ▼
      for each backend the mode allows (auto: local, then cloud):
          answer = backend(grounded prompt)
          contradicts the facts? ─► regenerate at temperature 0
          still contradicts?     ─► replace by the sentence built from the facts
          local MODEL_UNAVAILABLE / TIMEOUT / INSUFFICIENT_RAM ─► try the cloud
          any other failure       ─► data only, with the error

With a teacher's lesson (:mod:`.teacher`), the result's ``explanation`` is the model's
verified words followed by the lesson, or the lesson alone where the diagram above ends
in the sentence built from the facts or in data only (the lesson is built from the
facts, so it is always there and always verified).

Nothing here raises for an AI failure: the result's ``error`` says what happened and
``data`` is always there.  Bad musical input raises ``INVALID_INPUT`` before any of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from music_reasoning.config import Settings, load_settings
from music_reasoning.errors import InferenceError, MusicReasoningError, TierLimitError
from music_reasoning.params import GenerationParams, resolve_params
from music_reasoning.sdk._types import ErrorInfo, ExplanationResult, Source
from music_reasoning.sdk.constrain import constraint_enabled, word_constraint
from music_reasoning.sdk.facts import GROUNDING_VERSION, Facts
from music_reasoning.sdk.teacher import Lesson
from music_reasoning.sdk.tiers import CloudQuota, Tier, check_mode, get_tier
from music_reasoning.sdk.verify import find_contradictions

__all__ = ["FALLBACK_CODES", "Hybrid", "TextBackend"]

logger = logging.getLogger(__name__)

#: Local failures that send an ``auto`` request to the cloud.
FALLBACK_CODES = frozenset({"MODEL_UNAVAILABLE", "TIMEOUT", "INSUFFICIENT_RAM", "CORRUPTED_MODEL"})
DEFAULT_TEMPERATURE = 0.3
DEFAULT_MAX_TOKENS = 120


class TextBackend(Protocol):
    """Something that turns a prompt into text: the local engine or a cloud endpoint."""

    name: str

    def model_id(self) -> str: ...
    def generate(self, prompt: str, params: GenerationParams) -> tuple[str, dict[str, Any]]: ...


class _Cache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, value: dict[str, Any]) -> None: ...


class _Telemetry(Protocol):
    def record(
        self,
        event: str,
        *,
        latency_ms: float | None = ...,
        model: str | None = ...,
        tier: str | None = ...,
        source: str | None = ...,
        error_code: str | None = ...,
        prompt: str | None = ...,
        answer: str | None = ...,
    ) -> None: ...


@dataclass
class _Outcome:
    text: str
    source: Source
    metrics: dict[str, Any] | None
    cacheable: bool = True  # False when a failure forced it: the next call tries again


class Hybrid:
    """Grounded, verified explanations with tiers, fallback, cache and telemetry.

    Args:
        settings: Where tier, mode and cache defaults come from (default: loaded).
        tier: ``free``, ``creator``, ``studio`` or ``enterprise``.
        mode: ``local-only``, ``cloud-only``, ``auto`` or ``deterministic`` (no model:
            the sentence built from the facts, or the teacher's lesson).
        local: The local backend (default: the embedded model through the engine).
        cloud: The cloud backend, or None when no endpoint is configured.
        cache: The explanation cache, or None to disable caching.
        telemetry: Where events go, or None.
        weaknesses: Known weaknesses of the local model: topic -> description.
        quota: The daily cloud-call counter.
    """

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        tier: str | None = None,
        mode: str | None = None,
        local: TextBackend | None = None,
        cloud: TextBackend | None = None,
        cache: _Cache | None = None,
        telemetry: _Telemetry | None = None,
        weaknesses: Mapping[str, str] | None = None,
        quota: CloudQuota | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.tier: Tier = get_tier(tier or self.settings.tier)
        self.mode = check_mode(mode or self.settings.mode)
        resolve_params(timeout=self.settings.timeout)  # a bad timeout is INVALID_INPUT now
        self.local = local
        self.cloud = cloud
        self.cache = cache
        self.telemetry = telemetry
        self.weaknesses = dict(weaknesses or {})
        self.quota = quota or CloudQuota()

    # -- the one path --------------------------------------------------------------
    def explain(
        self,
        data: Any,
        facts: Facts,
        *,
        use_cache: bool = True,
        temperature: float | None = None,
        first: Callable[[], tuple[str, dict[str, Any]]] | None = None,
        lesson: Lesson | None = None,
    ) -> ExplanationResult:
        """Explain ``facts`` (built from ``data``) as described in the module notes.

        ``first`` may supply the local backend's first answer (a batch computes those
        together); everything after it is the same as for a single call.  ``lesson``
        (built from the same facts) completes the explanation.
        """
        started = time.perf_counter()
        checked = facts.widened(lesson) if lesson is not None else facts  # the lesson is true too
        result = _with_lesson(
            self._explain(data, checked, use_cache, temperature, first), facts, lesson
        )
        if self.telemetry is not None:
            self.telemetry.record(
                f"explain.{facts.kind}",
                latency_ms=(time.perf_counter() - started) * 1000,
                model=(result.metrics or {}).get("model"),
                tier=self.tier.name,
                source=result.source,
                error_code=result.error.code if result.error else None,
                prompt=facts.prompt(),
                answer=result.explanation,
            )
        return result

    def _explain(
        self,
        data: Any,
        facts: Facts,
        use_cache: bool,
        temperature: float | None,
        first: Callable[[], tuple[str, dict[str, Any]]] | None,
    ) -> ExplanationResult:
        temp = DEFAULT_TEMPERATURE if temperature is None else temperature
        shortcut = self._shortcut(data, facts, use_cache, temp)
        if shortcut is not None:
            return shortcut
        backends = self._backends()
        corrections: list[str] = []
        error: MusicReasoningError | None = None
        for backend in backends:
            try:
                outcome = self._verified(
                    backend, facts, temp, corrections, first if backend is self.local else None
                )
            except Exception as raw:  # an AI failure never reaches the caller as a raise
                exc = (
                    raw
                    if isinstance(raw, MusicReasoningError)
                    else InferenceError(f"{backend.name} backend failed: {raw!r}")
                )
                error = exc
                corrections.append(f"{backend.name} failed: [{exc.code}] {exc.message}")
                logger.info("%s backend failed for %s: %s", backend.name, facts.subject, exc)
                if backend is self.local and exc.code in FALLBACK_CODES:
                    continue
                break
            result = ExplanationResult(
                data,
                outcome.text,
                outcome.source,
                True,
                corrections=tuple(corrections),
                metrics=outcome.metrics,
            )
            # Stored under the model that wrote it: a cloud answer is not the local model's.
            key = self._cache_key(facts, temp, backend) if use_cache and outcome.cacheable else None
            if key is not None and self.cache is not None:
                self.cache.put(
                    key,
                    {
                        "explanation": outcome.text,
                        "verified": True,
                        "corrections": corrections,
                        "metrics": outcome.metrics,
                    },
                )
            return result
        assert error is not None  # the loop ran at least once and did not return
        return _data_only(data, ErrorInfo.from_error(error), corrections)

    def _shortcut(
        self, data: Any, facts: Facts, use_cache: bool, temperature: float
    ) -> ExplanationResult | None:
        """The answers that need no model: tier limits, known weaknesses, cache hits."""
        if self.mode == "deterministic":  # asked for no model: the facts' own explanation
            return ExplanationResult(data, facts.sentence, "deterministic", True)
        backends = self._backends()
        if not backends:
            return _data_only(data, self._no_backend_error())
        if self.local is not None and self.local in backends:
            for topic in sorted(facts.topics):
                if topic in self.weaknesses:
                    note = (
                        f"answered from the theory layer: the local model is known to fail "
                        f"at {topic.replace('_', ' ')} ({self.weaknesses[topic]})"
                    )
                    return ExplanationResult(
                        data, facts.sentence, "deterministic", True, corrections=(note,)
                    )
        cache = self.cache if use_cache else None
        for backend in backends if cache is not None else ():  # a cloud answer counts too
            key = self._cache_key(facts, temperature, backend)
            hit = cache.get(key) if cache is not None and key is not None else None
            if hit is not None:
                return ExplanationResult(
                    data,
                    hit["explanation"],
                    "cache",
                    bool(hit["verified"]),
                    corrections=tuple(hit.get("corrections", ())),
                    metrics=hit.get("metrics"),
                )
        return None

    def explain_many(
        self,
        items: Sequence[tuple[Any, Facts]],
        *,
        use_cache: bool = True,
        temperature: float | None = None,
        lessons: Sequence[Lesson | None] | None = None,
    ) -> list[ExplanationResult]:
        """Explain several subjects; the local model writes their first answers in parallel.

        Items answered without a model (tier, weakness, cache) skip the batch; each
        other item then goes through the same verification and fallback as
        :meth:`explain`.
        """
        temp = DEFAULT_TEMPERATURE if temperature is None else temperature
        pending = [
            i
            for i, (data, facts) in enumerate(items)
            if self._shortcut(data, facts, use_cache, temp) is None
        ]
        firsts: dict[int, Callable[[], tuple[str, dict[str, Any]]]] = {}
        backends = self._backends()
        many = getattr(self.local, "generate_many", None)
        if len(pending) > 1 and backends and backends[0] is self.local and many is not None:
            try:
                checked = [
                    items[i][1].widened(lesson)
                    if (lesson := lessons and lessons[i])
                    else items[i][1]
                    for i in pending
                ]
                answers = many(
                    [items[i][1].prompt() for i in pending],
                    [self._params(temp, facts) for facts in checked],
                )
            except MusicReasoningError as exc:
                logger.info("batch generation failed, answering one by one: %s", exc)
                answers = []
            for i, answer in zip(pending, answers, strict=False):
                firsts[i] = _replay(answer)
        return [
            self.explain(
                data,
                facts,
                use_cache=use_cache,
                temperature=temp,
                first=firsts.get(i),
                lesson=lessons[i] if lessons is not None else None,
            )
            for i, (data, facts) in enumerate(items)
        ]

    def _verified(
        self,
        backend: TextBackend,
        facts: Facts,
        temperature: float,
        corrections: list[str],
        first: Callable[[], tuple[str, dict[str, Any]]] | None,
    ) -> _Outcome:
        """One answer from ``backend`` that agrees with the facts, or the facts' sentence."""
        temps = [temperature] if temperature <= 0.0 else [temperature, 0.0]
        problems: list[str] = []
        metrics: dict[str, Any] | None = None
        for attempt, temp in enumerate(temps):
            if attempt == 0:
                text, metrics = first() if first is not None else self._call(backend, facts, temp)
            else:
                try:
                    text, metrics = self._call(backend, facts, temp)
                except Exception as exc:  # the facts' sentence is still a verified answer
                    code = getattr(exc, "code", "INFERENCE_FAILED")
                    corrections.append(
                        f"{backend.name} regeneration failed [{code}]; "
                        "replaced by the explanation built from the facts"
                    )
                    return _Outcome(facts.sentence, "deterministic", metrics, cacheable=False)
            text = _strip_echo(text, facts)
            problems = find_contradictions(text, facts) if text.strip() else ["empty answer"]
            if not problems:
                return _Outcome(text.strip(), _source(backend), metrics)
            what = "; ".join(problems)
            if attempt + 1 < len(temps):
                corrections.append(
                    f"{backend.name} answer contradicted the facts ({what}); "
                    "regenerated at temperature 0"
                )
            else:
                corrections.append(
                    f"{backend.name} answer contradicted the facts ({what}); "
                    "replaced by the explanation built from the facts"
                )
        return _Outcome(facts.sentence, "deterministic", metrics)

    def _call(
        self, backend: TextBackend, facts: Facts, temperature: float
    ) -> tuple[str, dict[str, Any]]:
        if backend is self.cloud:
            self.quota.take(self.tier)
        local = backend is self.local
        return backend.generate(facts.prompt(), self._params(temperature, facts if local else None))

    def _params(self, temperature: float, facts: Facts | None = None) -> GenerationParams:
        """Sampling for one answer; with ``facts``, the words they rule out are banned."""
        words = word_constraint(facts) if facts is not None and constraint_enabled() else None
        return GenerationParams(
            temperature=temperature,
            max_tokens=DEFAULT_MAX_TOKENS,
            timeout=self.settings.timeout,
            banned_words=words.banned if words else (),
            allowed_words=words.allowed if words else (),
        )

    # -- policy ----------------------------------------------------------------------
    def _backends(self) -> list[TextBackend]:
        chosen: list[TextBackend] = []
        if self.mode != "cloud-only" and self.tier.local_ai and self.local is not None:
            chosen.append(self.local)
        if self.mode != "local-only" and self.tier.cloud and self.cloud is not None:
            chosen.append(self.cloud)
        return chosen

    def _no_backend_error(self) -> ErrorInfo:
        if not self.tier.local_ai and (self.mode == "local-only" or not self.tier.cloud):
            return ErrorInfo.from_error(
                TierLimitError(
                    f"The {self.tier.name} tier includes no AI explanations.",
                    suggestion="The facts above are complete; for explanations use the creator "
                    "tier or higher (MUSIC_REASONING_TIER=creator).",
                )
            )
        if self.mode == "cloud-only" and not self.tier.cloud:
            return ErrorInfo.from_error(
                TierLimitError(f"The {self.tier.name} tier includes no cloud explanations.")
            )
        return ErrorInfo(
            "CLOUD_UNAVAILABLE",
            "No cloud endpoint is configured.",
            "Set MUSIC_REASONING_CLOUD_BASE_URL (and MUSIC_REASONING_CLOUD_API_KEY), "
            "or use mode auto or local-only.",
        )

    def _cache_key(self, facts: Facts, temperature: float, backend: TextBackend) -> str | None:
        if self.cache is None:
            return None
        make_key = getattr(self.cache, "make_key", None)
        if make_key is None:
            return None
        try:
            model = backend.model_id()
        except (MusicReasoningError, OSError):  # missing model: the call itself will say so
            return None
        return str(
            make_key(
                model=model,
                kind=facts.kind,
                data={"subject": facts.subject, "facts": list(facts.lines)},
                params={
                    "temperature": temperature,
                    "max_tokens": DEFAULT_MAX_TOKENS,
                    "grounding": GROUNDING_VERSION,
                    "mode": self.mode,
                },
            )
        )


def _with_lesson(
    result: ExplanationResult, facts: Facts, lesson: Lesson | None
) -> ExplanationResult:
    """The model's verified words followed by the lesson, or the lesson alone."""
    if lesson is None:
        return result
    words = result.explanation
    own = words is not None and result.verified and words.strip() != facts.sentence
    text = f"{words}\n\n{lesson.text}" if own else lesson.text
    return replace(result, explanation=text, verified=True, lesson=lesson)


def _source(backend: TextBackend) -> Source:
    return "cloud" if backend.name == "cloud" else "local"


def _strip_echo(text: str, facts: Facts) -> str:
    """Drop a repeated prompt: a leading "Facts:" label and the request sentence."""
    text = text.strip().removeprefix("Facts:").replace(facts.question, "")
    return " ".join(text.split())


def _replay(
    answer: tuple[str, dict[str, Any]] | MusicReasoningError,
) -> Callable[[], tuple[str, dict[str, Any]]]:
    def first() -> tuple[str, dict[str, Any]]:
        if isinstance(answer, MusicReasoningError):
            raise answer
        return answer

    return first


def _data_only(data: Any, error: ErrorInfo, corrections: Sequence[str] = ()) -> ExplanationResult:
    return ExplanationResult(
        data, None, "deterministic", False, error=error, corrections=tuple(corrections)
    )
