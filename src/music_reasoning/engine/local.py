"""The local engine: one GGUF model, lazily loaded, serving single, streamed and batched calls.

Threading model
---------------
* ``_load_lock`` makes the first use load exactly once: concurrent first callers wait
  for the one load and then share the model.
* The llama.cpp context is not thread-safe: one thread owns it, the
  :class:`~.scheduler.Scheduler`'s decode loop.  Every call submits its sequences
  there and waits for its own results, so calls from many threads share each
  ``llama_decode`` step (continuous batching, up to ``n_parallel`` sequences at once).
  A call waits for a free slot at most until its own deadline; a batch's items each
  get their timeout from the moment they start decoding.
* A stream's chunks go to a queue the reader drains.  A reader that falls
  ``STREAM_BUFFER`` chunks behind holds its sequence (the others go on); closing the
  iterator cancels the sequence before its next token.  A reader that stalls past the
  call's deadline stops decoding too, and gets TIMEOUT when it reads again; no chunk
  is ever dropped.  The final state (done or error) is kept apart from the chunks, so
  the reader always learns how the call ended.
* ``unload()`` waits for calls that are using the model (see ``_use``); it never
  frees a context under a running call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterator,
    Sequence,
)
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from music_reasoning.config import Settings, load_settings
from music_reasoning.engine.decoder import Decoder, SeqRequest, SeqResult
from music_reasoning.engine.hardware import check_memory, default_threads
from music_reasoning.engine.metrics import Metrics, MetricsHook, emit_metrics
from music_reasoning.engine.prompt import BuiltPrompt, PromptBuilder
from music_reasoning.engine.scheduler import Scheduler, Ticket
from music_reasoning.engine.threads import ThreadTuner, free_cores
from music_reasoning.errors import (
    InferenceError,
    InferenceTimeoutError,
    InvalidInputError,
    MusicReasoningError,
)
from music_reasoning.models.files import check_gguf_header, resolve_model_path
from music_reasoning.params import GenerationParams, validate_prompt, validate_prompts

__all__ = ["AsyncTextStream", "BatchItem", "Completion", "LocalEngine", "ModelStatus", "TextStream"]

logger = logging.getLogger(__name__)

STREAM_BUFFER = 4  # chunks a stream may run ahead of its consumer
_RETRY_BACKOFF = 0.2
_POLL = 0.05

BackendFactory = Callable[..., Any]


@dataclass(frozen=True)
class ModelStatus:
    """Where the engine stands: loaded or not, what, on which hardware, and the last error."""

    loaded: bool
    path: str | None
    backend: str | None
    gpu_layers: int | None
    n_threads: int | None
    n_ctx: int | None
    n_parallel: int | None
    prompt_format: str | None
    load_ms: float | None
    load_count: int
    last_error: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Completion:
    """Generated text and what it cost."""

    text: str
    metrics: Metrics


@dataclass(frozen=True)
class BatchItem:
    """One answer of a batch: ``text`` on success, ``error`` otherwise; order is preserved."""

    index: int
    prompt: str
    text: str | None = None
    error: MusicReasoningError | None = None
    metrics: Metrics | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "prompt": self.prompt,
            "text": self.text,
            "error": self.error.to_dict() if self.error else None,
            "metrics": self.metrics.to_dict() if self.metrics else None,
        }


@dataclass
class _Loaded:
    backend: Any
    decoder: Decoder
    scheduler: Scheduler
    builder: PromptBuilder
    path: Path
    settings: Settings
    backend_name: str
    gpu_layers: int
    n_threads: int
    load_ms: float
    announce_ms: list[float] = field(default_factory=list)  # load time for the next metrics


def _refuse_control_text(backend: Any, question: str, history: Sequence[tuple[str, str]]) -> None:
    """A question (or an earlier turn) that writes one of the model's control tokens would
    be read as that token inside the template: refused, not passed on."""
    find = getattr(backend, "control_text_in", None)
    if find is None:
        return
    for text in (question, *(part for turn in history for part in turn)):
        found = find(text)
        if found is not None:
            raise InvalidInputError(
                f"The prompt contains {found!r}, which this model's tokenizer reads as a "
                "control token (it could end the question's turn and speak for the model).",
                suggestion=f"Remove {found!r} from the question (or ask in raw mode, where the "
                "prompt is sent as written).",
                details={"control_text": found},
            )


def _threads(settings: Settings) -> tuple[ThreadTuner | None, int]:
    """A fixed thread count when one is set; else a tuner starting from the free cores."""
    if settings.n_threads:
        return None, settings.n_threads
    physical = default_threads()
    start = free_cores(physical)
    return ThreadTuner(physical, start=start), start


def _default_backend_factory(path: Path, **kwargs: Any) -> Any:
    from music_reasoning.engine._llama import LlamaBackend

    return LlamaBackend(path, **kwargs)


class LocalEngine:
    """A llama.cpp model behind ``complete``, ``stream``, ``astream`` and ``batch``.

    Args:
        model: a GGUF path; None means ``MUSIC_REASONING_MODEL_PATH`` or the embedded model.
        settings: resolved settings; None reads them (env, config file) at load time.
        backend_factory: builds the llama.cpp adapter (a test seam; the default is real).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        settings: Settings | None = None,
        backend_factory: BackendFactory | None = None,
    ) -> None:
        self._model_arg = model
        self._settings = settings
        self._factory = backend_factory or _default_backend_factory
        self._load_lock = threading.Lock()
        self._users = 0
        self._users_cv = threading.Condition()
        self.last_used = time.monotonic()
        self._loaded: _Loaded | None = None
        self._load_count = 0
        self._last_error: MusicReasoningError | None = None

    # -- lifecycle -----------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def load(self) -> ModelStatus:
        """Load the model now (first use does this implicitly); a no-op when loaded.

        Raises:
            ModelUnavailableError, CorruptedModelError, InsufficientRAMError, InferenceError.
        """
        self._ensure_loaded()
        return self.status()

    def _ensure_loaded(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._load_lock:
            if self._loaded is not None:
                return self._loaded
            try:
                self._loaded = self._load()
            except MusicReasoningError as exc:
                self._last_error = exc
                raise
            return self._loaded

    def _load(self) -> _Loaded:
        from music_reasoning.engine._llama import backend_info, read_metadata

        settings = self.settings
        path = resolve_model_path(
            self._model_arg, configured=settings.model_path, default=settings.default_model
        )
        check_gguf_header(path)
        n_parallel = max(1, settings.n_parallel)
        budget = settings.memory_budget_mb << 20 if settings.memory_budget_mb else None
        check_memory(
            path,
            n_ctx_total=settings.n_ctx * n_parallel,
            metadata=lambda: read_metadata(path),
            budget=budget,
        )
        info = backend_info()
        gpu_layers = settings.n_gpu_layers
        if gpu_layers is None:
            gpu_layers = -1 if info.gpu_offload else 0
        tuner, n_threads = _threads(settings)
        start = time.perf_counter()
        backend = self._factory(
            path,
            n_ctx=settings.n_ctx * n_parallel,
            n_seq_max=n_parallel,
            n_threads=n_threads,
            n_gpu_layers=gpu_layers,
            verbose=settings.verbose,
        )
        load_ms = (time.perf_counter() - start) * 1000
        self._load_count += 1
        builder = PromptBuilder(backend.apply_chat_template if backend.chat_template else None)
        logger.info(
            "loaded %s in %.0f ms (backend=%s, gpu_layers=%d, threads=%d, format=%s)",
            path.name,
            load_ms,
            info.backend,
            gpu_layers,
            n_threads,
            builder.kind,
        )
        decoder = Decoder(backend, n_ctx=settings.n_ctx, tuner=tuner)
        return _Loaded(
            backend=backend,
            decoder=decoder,
            scheduler=Scheduler(decoder),
            builder=builder,
            path=path,
            settings=settings,
            backend_name=info.backend,
            gpu_layers=gpu_layers,
            n_threads=n_threads,
            load_ms=load_ms,
            announce_ms=[load_ms],
        )

    @contextmanager
    def _use(self) -> Iterator[_Loaded]:
        """The loaded model, kept alive (not freed by ``unload``) until the block ends."""
        while True:
            lo = self._ensure_loaded()
            with self._users_cv:
                if self._loaded is lo:
                    self._users += 1
                    break
        try:
            yield lo
        finally:
            with self._users_cv:
                self._users -= 1
                self.last_used = time.monotonic()
                self._users_cv.notify_all()

    @property
    def in_use(self) -> bool:
        """Whether a call is using the model right now."""
        return self._users > 0

    @property
    def decoding(self) -> int:
        """Sequences decoding or waiting for a slot right now (0 when not loaded)."""
        lo = self._loaded
        return lo.scheduler.active + lo.scheduler.queued if lo is not None else 0

    @property
    def queued(self) -> int:
        """Sequences waiting for a free slot."""
        lo = self._loaded
        return lo.scheduler.queued if lo is not None else 0

    def unload(self) -> None:
        """Free the model and its context; the next call loads it again.

        Calls already running finish first (new calls wait and then load afresh).
        """
        with self._load_lock:
            with self._users_cv:
                lo, self._loaded = self._loaded, None
                while self._users:
                    self._users_cv.wait()
            if lo is not None:
                lo.scheduler.close()
                lo.backend.close()
                logger.info("model unloaded")

    close = unload

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unload()

    def is_loaded(self) -> bool:
        return self._loaded is not None

    def status(self) -> ModelStatus:
        """Return what is loaded (or not), on which hardware, and the last load error."""
        lo = self._loaded
        return ModelStatus(
            loaded=lo is not None,
            path=str(lo.path) if lo else None,
            backend=lo.backend_name if lo else None,
            gpu_layers=lo.gpu_layers if lo else None,
            n_threads=(lo.decoder.tuner.current() if lo.decoder.tuner else lo.n_threads)
            if lo
            else None,
            n_ctx=lo.settings.n_ctx if lo else None,
            n_parallel=lo.backend.n_seq_max if lo else None,
            prompt_format=lo.builder.kind if lo else None,
            load_ms=lo.load_ms if lo else None,
            load_count=self._load_count,
            last_error=self._last_error.to_dict() if self._last_error else None,
        )

    # -- prompts -------------------------------------------------------------------
    def _tokens(
        self,
        lo: _Loaded,
        question: str,
        history: Sequence[tuple[str, str]],
        params: GenerationParams,
        *,
        raw: bool = False,
    ) -> tuple[list[int], GenerationParams]:
        if not raw:  # a raw prompt is the caller's own text, control tokens and all
            _refuse_control_text(lo.backend, question, history)
        built = BuiltPrompt(question, ()) if raw else lo.builder.build(question, history)
        tokens = lo.backend.tokenize(built.text, add_special=True)
        if len(tokens) > 1 and tokens[0] == tokens[1] == lo.backend.bos_token:  # doubled BOS
            tokens = tokens[1:]
        stops = tuple(dict.fromkeys((*params.stop, *built.stop)))
        return tokens, replace(params, stop=stops)

    def prompt_token_count(self, question: str, history: Sequence[tuple[str, str]] = ()) -> int:
        """Tokens the rendered prompt for ``question`` (after ``history``) takes."""
        with self._use() as lo:
            return len(self._tokens(lo, question, history, GenerationParams())[0])

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes with this model's tokenizer (no special tokens added)."""
        with self._use() as lo:
            return len(lo.backend.tokenize(text, add_special=False))

    # -- running -------------------------------------------------------------------
    def _run(
        self,
        lo: _Loaded,
        request: SeqRequest,
        *,
        deadline: float,
        retryable: Callable[[], bool] = lambda: True,
        reuse_prefix: bool = True,
    ) -> SeqResult:
        """Run one request through the scheduler, retrying transient llama.cpp failures.

        Raises:
            InferenceTimeoutError: the deadline passed (waiting for a slot counts).
            InferenceError: llama.cpp failed.
        """
        retries = max(0, lo.settings.retries)
        for attempt in range(retries + 1):
            (ticket,) = lo.scheduler.submit([request], deadline=deadline, reuse_prefix=reuse_prefix)
            result = ticket.wait()
            error = result.error
            if error is None:
                return result
            if not isinstance(error, MusicReasoningError):
                error = InferenceError(f"Decoding failed: {error}")
            if isinstance(error, InferenceError):
                self._last_error = error
                if error.transient and attempt < retries and retryable():
                    logger.warning(
                        "transient failure (%s); retry %d/%d", error, attempt + 1, retries
                    )
                    time.sleep(_RETRY_BACKOFF * 2**attempt)
                    continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _metrics(self, lo: _Loaded, r: SeqResult) -> Metrics:
        load_ms = lo.announce_ms.pop() if lo.announce_ms else None
        ttft = (r.first_token_at - r.started) * 1000 if r.first_token_at else None
        decode_s = r.finished_at - r.first_token_at if r.first_token_at else 0.0
        tps = (
            (r.completion_tokens - 1) / decode_s
            if r.completion_tokens > 1 and decode_s > 0
            else None
        )
        return Metrics(
            model=lo.path.name,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            reused_prompt_tokens=r.reused_tokens,
            time_to_first_token_ms=ttft,
            total_ms=(r.finished_at - r.started) * 1000,
            tokens_per_second=tps,
            finish_reason=r.finish_reason,
            model_load_ms=load_ms,
        )

    def complete(
        self,
        prompt: str,
        params: GenerationParams,
        *,
        history: Sequence[tuple[str, str]] = (),
        emit: Callable[[str], bool] | None = None,
        on_metrics: MetricsHook | None = None,
        reuse_prefix: bool = True,
        raw: bool = False,
        ready: Callable[[], bool] | None = None,
    ) -> Completion:
        """Answer one prompt.  ``emit`` receives chunks as they are produced.

        ``emit`` runs on the decode loop's thread and must return at once (False
        cancels); ``ready`` returning False holds this answer for a step (its reader is
        behind) without holding other calls.  ``raw=True`` continues ``prompt`` as plain
        text, without the question template.

        Raises:
            InvalidInputError, InferenceTimeoutError, InferenceError, and load errors.
        """
        validate_prompt(prompt, max_chars=self.settings.max_prompt_chars)
        with self._use() as lo:
            deadline = time.monotonic() + params.timeout
            tokens, run_params = self._tokens(lo, prompt, history, params, raw=raw)
            sent = [False]

            def tracking_emit(text: str) -> bool:
                if not sent[0]:
                    text = text.lstrip()
                    if not text:
                        return True
                sent[0] = True
                return emit(text) if emit else True

            request = SeqRequest(tokens, run_params, tracking_emit, ready)
            try:
                result = self._run(
                    lo,
                    request,
                    deadline=deadline,
                    retryable=lambda: not sent[0],
                    reuse_prefix=reuse_prefix,
                )
            except (InferenceTimeoutError, InferenceError) as exc:
                exc.details.update(prompt_preview=prompt[:80], params=params.to_dict())
                self._last_error = exc
                raise
            metrics = self._metrics(lo, result)
            emit_metrics(metrics, on_metrics)
            logger.debug("completion %r -> %r", prompt[:80], result.text)
            return Completion(result.text.strip(), metrics)

    def stream(
        self,
        prompt: str,
        params: GenerationParams,
        *,
        history: Sequence[tuple[str, str]] = (),
        on_metrics: MetricsHook | None = None,
    ) -> TextStream:
        """Yield text chunks as tokens are produced (see the module notes on backpressure)."""
        validate_prompt(prompt, max_chars=self.settings.max_prompt_chars)
        return TextStream(_StreamWorker(self, prompt, params, history, on_metrics))

    def astream(
        self,
        prompt: str,
        params: GenerationParams,
        *,
        history: Sequence[tuple[str, str]] = (),
        on_metrics: MetricsHook | None = None,
    ) -> AsyncTextStream:
        """Async twin of :meth:`stream`: the decoding stays on a worker thread."""
        validate_prompt(prompt, max_chars=self.settings.max_prompt_chars)
        return AsyncTextStream(_StreamWorker(self, prompt, params, history, on_metrics))

    def batch(
        self,
        prompts: Sequence[str],
        params: GenerationParams | Sequence[GenerationParams],
        *,
        on_metrics: MetricsHook | None = None,
        on_item: Callable[[BatchItem], None] | None = None,
        raw: bool = False,
        history: Sequence[tuple[str, str]] = (),
    ) -> list[BatchItem]:
        """Answer many prompts as parallel sequences of the shared decode loop.

        Order is preserved and failures are per item: an invalid prompt or a timed-out
        sequence becomes an item with ``error``; the others still answer.  Each prompt's
        ``timeout`` counts from when it starts decoding (up to ``n_parallel`` decode at
        once; the rest wait for a slot).  ``history`` (earlier question and answer
        turns) goes before every prompt.  ``params`` may be one per prompt (each with
        its own banned words, say).

        Raises:
            InvalidInputError: ``prompts`` is one string, not a list of prompts.
        """
        prompts = validate_prompts(prompts)
        per = [params] * len(prompts) if isinstance(params, GenerationParams) else list(params)
        if len(per) != len(prompts):
            raise InvalidInputError(f"{len(per)} parameter sets for {len(prompts)} prompts.")
        items: dict[int, BatchItem] = {}

        def done(item: BatchItem) -> None:
            items[item.index] = item
            if on_item:
                on_item(item)

        for i, p in enumerate(prompts):  # refused before loading anything, reported first
            try:
                validate_prompt(p, max_chars=self.settings.max_prompt_chars)
            except InvalidInputError as exc:
                done(BatchItem(i, str(p), error=exc))
        if len(items) < len(prompts):
            with self._use() as lo:
                tickets: dict[int, Ticket] = {}
                for i, p in enumerate(prompts):
                    if i in items:
                        continue
                    try:
                        tokens, run_params = self._tokens(lo, p, history, per[i], raw=raw)
                        (tickets[i],) = lo.scheduler.submit(
                            [SeqRequest(tokens, run_params)], budget=per[i].timeout
                        )
                    except MusicReasoningError as exc:
                        done(BatchItem(i, p, error=exc))
                for i, ticket in tickets.items():
                    result = ticket.wait()
                    if result.error is not None:
                        error = result.error
                        if not isinstance(error, MusicReasoningError):
                            error = InferenceError(str(error))
                        done(BatchItem(i, prompts[i], error=error))
                        continue
                    metrics = self._metrics(lo, result)
                    emit_metrics(metrics, on_metrics)
                    done(BatchItem(i, prompts[i], text=result.text.strip(), metrics=metrics))
        return [items[i] for i in range(len(prompts))]

    def warmup(self) -> Metrics:
        """Load the model and evaluate the fixed prompt prefix so the next call starts warm."""
        completion = self.complete(
            "Warm up.", GenerationParams(temperature=0.0, max_tokens=1, timeout=120.0)
        )
        return completion.metrics


class _StreamWorker:
    """Runs one completion on a thread; chunks reach the reader over a queue.

    The decode loop never blocks on the queue: once the reader is ``STREAM_BUFFER``
    chunks behind, ``ready`` holds this sequence until it catches up.
    """

    def __init__(
        self,
        engine: LocalEngine,
        prompt: str,
        params: GenerationParams,
        history: Sequence[tuple[str, str]],
        on_metrics: MetricsHook | None,
    ) -> None:
        self._engine = engine
        self._args = (prompt, params, history, on_metrics)
        self._queue: queue.Queue[str] = queue.Queue()
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._final: tuple[str, Any] = ("done", None)
        self.produced = 0
        self.metrics: Metrics | None = None
        self._thread = threading.Thread(
            target=self._work, name="music-reasoning-stream", daemon=True
        )

    def _emit(self, text: str) -> bool:
        """Hand one chunk to the reader (never blocks); False stops decoding (closed)."""
        if self._cancel.is_set():
            return False
        self._queue.put_nowait(text)
        self.produced += 1
        return True

    def _ready(self) -> bool:
        """Whether the reader keeps up: else this sequence sits the next step out."""
        return self._cancel.is_set() or self._queue.qsize() < STREAM_BUFFER

    def _work(self) -> None:
        prompt, params, history, on_metrics = self._args
        final: tuple[str, Any]
        try:
            completion = self._engine.complete(
                prompt,
                params,
                history=history,
                emit=self._emit,
                on_metrics=on_metrics,
                ready=self._ready,
            )
            self.metrics = completion.metrics
            final = ("done", None)
        except InferenceTimeoutError as exc:
            final = ("error", exc)
            if self._queue.qsize() >= STREAM_BUFFER:  # held by the reader until the deadline
                final = (
                    "error",
                    InferenceTimeoutError(
                        "The reader stopped taking chunks until the call's deadline; "
                        "decoding was stopped.",
                        suggestion="Read the stream steadily, or raise the timeout.",
                        details={"produced": self.produced},
                    ),
                )
        except BaseException as exc:
            final = ("error", exc)
        self._final = final  # set before the event: a reader that sees it, sees this
        self._finished.set()

    def _start(self) -> None:
        self._thread.start()

    def _stop(self) -> None:
        self._cancel.set()

    def _get(self) -> tuple[str, Any]:
        """The next chunk, else the final state once the worker is done; never drops one."""
        while True:
            try:
                return ("chunk", self._queue.get(timeout=_POLL))
            except queue.Empty:
                if self._finished.is_set():
                    try:  # every chunk was queued before the event was set
                        return ("chunk", self._queue.get_nowait())
                    except queue.Empty:
                        return self._final
                if self._cancel.is_set():
                    return ("done", None)

    def iterate(self) -> Generator[str, None, None]:
        self._start()
        try:
            while True:
                kind, value = self._get()
                if kind == "chunk":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            self._stop()
            self._thread.join()

    async def aiterate(self) -> AsyncGenerator[str, None]:
        self._start()
        try:
            while True:
                kind, value = await asyncio.to_thread(self._get)
                if kind == "chunk":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            self._stop()
            await asyncio.to_thread(self._thread.join)


class TextStream(Iterator[str]):
    """Chunks of one streamed answer.  ``close()`` (or leaving a ``with``) stops decoding.

    ``produced`` counts chunks the decoder has emitted so far; ``metrics`` is set once
    the answer is complete.
    """

    def __init__(self, worker: _StreamWorker) -> None:
        self._worker = worker
        self._gen = worker.iterate()

    def __next__(self) -> str:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def produced(self) -> int:
        return self._worker.produced

    @property
    def metrics(self) -> Metrics | None:
        return self._worker.metrics


class AsyncTextStream(AsyncIterator[str]):
    """Async twin of :class:`TextStream`; ``aclose()`` stops decoding."""

    def __init__(self, worker: _StreamWorker) -> None:
        self._worker = worker
        self._gen = worker.aiterate()

    async def __anext__(self) -> str:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        await self._gen.aclose()

    @property
    def produced(self) -> int:
        return self._worker.produced

    @property
    def metrics(self) -> Metrics | None:
        return self._worker.metrics
