"""The server's one way to the model: submit a request, get a :class:`Generation` or a stream.

Nothing else in ``server/`` calls the engine.  Routes build a :class:`GenerateRequest`
(prompt, earlier turns, :class:`~music_reasoning.params.GenerationParams`, raw or
templated) and hand it to :class:`Generator`; what comes back is plain data.  A scheduler
that decodes many sequences in one loop replaces the inside of this module (``_Call``
and the worker threads), not the routes.

Threading model::

    event loop ── Generator.complete ──► anyio worker thread: engine.complete(...) waits
               ── Generator.stream ────► a thread: engine.complete(..., emit=, ready=)
                     ▲                            │
                     │        the engine's decode loop (one thread, every request's
                     │        sequences in each step) calls emit: call_soon_threadsafe
                     └──── memory stream ◄────────┘ (never blocks the loop); ready() is
                                                    False while STREAM_BUFFER chunks are
                                                    unread: that stream sits steps out

* The engine decodes every in-flight request together (continuous batching, see
  ``engine/scheduler.py``); ``parallel`` requests may be in flight at once (the
  admission slots), and each waits for its own result on a worker thread.
* A stream's reader that goes away (client disconnect, ``aclose``) makes the next
  ``emit`` return False, which stops decoding within one token; ``aclose`` waits for the
  engine call to end, so a slot is never freed while the model is still busy.
* A reader that stalls past the request's deadline stops decoding too and gets
  ``TIMEOUT`` when it reads again.
* The model loads on a background thread at start-up (:meth:`Generator.start_loading`);
  ``ready`` says when it has.

"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from music_reasoning.engine.local import BatchItem, Completion
from music_reasoning.errors import (
    InferenceError,
    InferenceTimeoutError,
    MusicReasoningError,
)
from music_reasoning.params import GenerationParams, validate_prompt

__all__ = [
    "STREAM_BUFFER",
    "Engine",
    "GenerateRequest",
    "Generation",
    "Generator",
    "TokenStream",
]

logger = logging.getLogger(__name__)

STREAM_BUFFER = 8  # chunks a stream may run ahead of its HTTP client
T = TypeVar("T")


class Engine(Protocol):
    """What the server needs from an engine (:class:`~music_reasoning.engine.local.LocalEngine`)."""

    def load(self) -> Any: ...
    def is_loaded(self) -> bool: ...

    def complete(
        self,
        prompt: str,
        params: GenerationParams,
        *,
        history: Sequence[tuple[str, str]] = (),
        emit: Callable[[str], bool] | None = None,
        raw: bool = False,
        ready: Callable[[], bool] | None = None,
    ) -> Completion: ...

    def batch(
        self,
        prompts: Sequence[str],
        params: GenerationParams | Sequence[GenerationParams],
        *,
        raw: bool = False,
    ) -> list[BatchItem]: ...


@dataclass(frozen=True)
class GenerateRequest:
    """One generation: ``prompt`` after ``history`` turns; ``raw`` continues plain text."""

    prompt: str
    params: GenerationParams
    history: tuple[tuple[str, str], ...] = ()
    raw: bool = False


@dataclass(frozen=True)
class Generation:
    """What one generation produced and when (``time.monotonic()`` seconds)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # stop, length or cancelled
    started_at: float
    finished_at: float
    first_token_at: float | None = None
    tokens_per_second: float | None = None


def _generation(c: Completion, started: float, first: float | None) -> Generation:
    m = c.metrics
    return Generation(
        text=c.text,
        prompt_tokens=m.prompt_tokens,
        completion_tokens=m.completion_tokens,
        finish_reason=m.finish_reason,
        started_at=started,
        finished_at=time.monotonic(),
        first_token_at=first,
        tokens_per_second=m.tokens_per_second,
    )


class Generator:
    """Runs requests on an engine without blocking the event loop.

    Args:
        engine: the engine to use (the process-wide one for ``model`` in ``create_app``).
        model_id: the id clients name in requests and see in ``/v1/models``.
        aliases: other names accepted for the model (its file name).
        max_prompt_chars: prompts longer than this are refused before they run.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        model_id: str,
        aliases: Sequence[str] = (),
        max_prompt_chars: int = 1000,
        created: int = 0,
    ) -> None:
        self.engine = engine
        self.model_id = model_id
        self.created = created
        self._names = {model_id, *aliases}
        self.max_prompt_chars = max_prompt_chars
        self._ready = threading.Event()
        self.load_error: MusicReasoningError | None = None
        self._loader: threading.Thread | None = None

    # -- the model -----------------------------------------------------------------
    def accepts(self, name: str) -> bool:
        """Whether a request naming ``name`` is for this model."""
        return name in self._names

    def start_loading(self) -> None:
        """Load the model on a background thread (once); ``ready`` turns True after."""
        if self._loader is None:
            self._loader = threading.Thread(
                target=self._load, name="music-reasoning-server-load", daemon=True
            )
            self._loader.start()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            self.engine.load()
        except MusicReasoningError as exc:
            self.load_error = exc
            logger.error("the model did not load: %s", exc)
            return
        except Exception as exc:  # a bug or a llama.cpp failure: keep the server answering
            self.load_error = InferenceError(f"Loading the model failed: {exc!r}")
            logger.exception("the model did not load")
            return
        self._ready.set()
        logger.info(
            "model %s ready in %.0f ms", self.model_id, (time.perf_counter() - started) * 1e3
        )

    @property
    def ready(self) -> bool:
        """Whether the start-up load finished (the engine reloads by itself if unloaded)."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded (for tests and scripts); False on timeout."""
        return self._ready.wait(timeout)

    def is_loaded(self) -> bool:
        """Whether the model is in memory now."""
        return self.engine.is_loaded()

    # -- generating ----------------------------------------------------------------
    def check(self, request: GenerateRequest) -> None:
        """Refuse a prompt the engine would refuse, before a slot or a stream is opened.

        Raises:
            InvalidInputError: the prompt is empty, not text, or too long.
        """
        validate_prompt(request.prompt, max_chars=self.max_prompt_chars)

    async def complete(self, request: GenerateRequest) -> Generation:
        """Run one generation to its end on a worker thread.

        Raises:
            InvalidInputError, InferenceTimeoutError, InferenceError, and load errors.
        """
        started = time.monotonic()
        first: list[float] = []

        def note_first(_text: str) -> bool:
            if not first:
                first.append(time.monotonic())
            return True

        completion = await anyio.to_thread.run_sync(
            functools.partial(
                self.engine.complete,
                request.prompt,
                request.params,
                history=request.history,
                emit=note_first,
                raw=request.raw,
            )
        )
        return _generation(completion, started, first[0] if first else None)

    async def complete_many(
        self, requests: Sequence[GenerateRequest]
    ) -> list[Generation | MusicReasoningError]:
        """Run raw prompts (no history) together as parallel sequences; order is kept."""
        started = time.monotonic()
        if not requests:
            return []
        raw = requests[0].raw
        items = await anyio.to_thread.run_sync(
            functools.partial(
                self.engine.batch,
                [r.prompt for r in requests],
                [r.params for r in requests],
                raw=raw,
            )
        )
        out: list[Generation | MusicReasoningError] = []
        for item in items:
            if item.error is not None or item.metrics is None:
                out.append(item.error or InferenceError("The batch gave no answer."))
            else:
                out.append(_generation(Completion(item.text or "", item.metrics), started, None))
        return out

    def stream(self, request: GenerateRequest) -> TokenStream:
        """A stream of the answer's chunks; decoding starts at the first read."""
        return TokenStream(self.engine, request)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call that uses the model (an SDK explanation) on a worker thread."""
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


@dataclass
class _Outcome:
    completion: Completion | None = None
    error: BaseException | None = None
    stalled: bool = False
    first_token_at: float | None = None
    produced: int = 0


class TokenStream:
    """The chunks of one answer, read with ``async for``; ``result`` once it has ended.

    ``aclose()`` stops decoding (within one token) and waits for the engine call to end.
    """

    def __init__(self, engine: Engine, request: GenerateRequest) -> None:
        self._engine = engine
        self._request = request
        # unbounded: ``has_room`` keeps the decode loop from running ahead of the reader
        self._send, self._receive = anyio.create_memory_object_stream[str](math.inf)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unread = 0  # chunks emitted and not yet read (decode thread +, reader -)
        self._unread_lock = threading.Lock()
        self._outcome = _Outcome()
        self.started_at = time.monotonic()
        self.result: Generation | None = None

    @property
    def first_token_at(self) -> float | None:
        return self._outcome.first_token_at

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.started_at = time.monotonic()
        self._thread = threading.Thread(
            target=self._work, name="music-reasoning-server-stream", daemon=True
        )
        self._thread.start()

    # -- the worker thread -----------------------------------------------------------
    def _work(self) -> None:
        r = self._request
        try:
            self._outcome.completion = self._engine.complete(
                r.prompt,
                r.params,
                history=r.history,
                emit=self._emit,
                raw=r.raw,
                ready=self.has_room,
            )
        except InferenceTimeoutError as exc:
            if self.has_room():
                self._outcome.error = exc
            else:  # held by its reader until the deadline: say so
                self._outcome.stalled = True
        except BaseException as exc:
            self._outcome.error = exc
        finally:
            self._call_soon(self._send.close)

    def _call_soon(self, fn: Callable[..., object], *args: object) -> bool:
        """Run ``fn`` on the event loop without waiting for it; False if the loop is gone."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the event loop is closed: nobody is reading
            return False
        return True

    def _emit(self, text: str) -> bool:
        """Hand one chunk to the reader (on the decode loop's thread: never blocks);
        False stops decoding (the reader is gone)."""
        if self._stop.is_set():
            return False
        if self._outcome.first_token_at is None:
            self._outcome.first_token_at = time.monotonic()
        with self._unread_lock:
            self._unread += 1
        if not self._call_soon(self._deliver, text):
            return False
        self._outcome.produced += 1
        return True

    def _deliver(self, text: str) -> None:
        try:
            self._send.send_nowait(text)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._stop.set()  # the reader closed its end

    def has_room(self) -> bool:
        """Whether the reader keeps up (fewer than ``STREAM_BUFFER`` chunks unread): the
        engine's ``ready`` hook, so a slow client holds only its own sequence."""
        return self._stop.is_set() or self._unread < STREAM_BUFFER

    # -- the reader ------------------------------------------------------------------
    def __aiter__(self) -> TokenStream:
        return self

    async def __anext__(self) -> str:
        if self._thread is None:
            self._start()
        try:
            chunk = await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            pass
        else:
            with self._unread_lock:
                self._unread -= 1
            return chunk
        await self._join()
        self._finish()
        raise StopAsyncIteration

    async def first(self) -> str | None:
        """The first chunk, or None when the answer is empty; errors raise here."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            return None

    def _finish(self) -> None:
        o = self._outcome
        if o.error is not None:
            error, o.error = o.error, None
            raise error
        if o.stalled:
            o.stalled = False
            raise InferenceTimeoutError(
                "The client stopped reading until the request's deadline; decoding was stopped.",
                suggestion="Read the stream steadily, or ask for fewer tokens.",
                details={"produced": o.produced},
            )
        if o.completion is not None and self.result is None:
            self.result = _generation(o.completion, self.started_at, o.first_token_at)

    async def _join(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(thread.join)

    async def aclose(self) -> None:
        """Stop decoding and wait for the engine call to end (safe to call twice)."""
        self._stop.set()
        self._receive.close()
        await self._join()
