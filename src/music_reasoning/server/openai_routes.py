"""OpenAI-compatible routes: ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models``.

A request goes through three steps, each a FastAPI dependency so that the earlier ones
refuse before the later ones wait:

1. ``prepare_*``: the body is valid, names this model, and its prompt and ``max_tokens``
   are accepted (4xx otherwise; no slot is taken);
2. ``admit_*``: the model is loaded and the request holds a slot (429 when the queue is
   full), released after the last byte of the response;
3. the route runs the generation, whole or streamed as server-sent events
   (``data: {chunk}`` ... ``data: [DONE]``).

A stream waits for its first chunk before the response starts, so a prompt that does not
fit the context or a model that fails is still an HTTP error; an error after that is a
``data: {"error": {...}}`` event that ends the stream (the openai client raises it).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.responses import Response

from music_reasoning.errors import InvalidInputError, ModelUnavailableError, MusicReasoningError
from music_reasoning.params import GenerationParams
from music_reasoning.server.admission import Ticket
from music_reasoning.server.deps import ServerState, model_slot, state_of
from music_reasoning.server.errors import ApiError, envelope, status_for
from music_reasoning.server.generate import GenerateRequest, Generation, TokenStream
from music_reasoning.server.schemas import (
    ChatCompletionOut,
    ChatCompletionRequest,
    CompletionRequest,
    ModelCard,
    ModelList,
    SamplingFields,
    TextCompletionOut,
)
from music_reasoning.server.translate import chat_turns, finish_reason, generation_params

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"])

_DONE = format_sse_event(data_str="[DONE]")
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "INVALID_INPUT: bad JSON, prompt, or max_tokens above the cap."},
    401: {"description": "UNAUTHORIZED: missing or wrong API key."},
    404: {"description": "MODEL_UNAVAILABLE: the request names another model."},
    422: {"description": "INVALID_INPUT: the body does not fit the schema."},
    429: {"description": "SERVER_BUSY: the queue is full (see Retry-After)."},
    503: {"description": "SERVER_BUSY: the model is loading, or the server is stopping."},
}


@dataclass(frozen=True)
class Job:
    """A checked request: what to generate and how to answer."""

    requests: tuple[GenerateRequest, ...]
    model: str
    stream: bool
    include_usage: bool


@dataclass(frozen=True)
class Admitted:
    job: Job
    ticket: Ticket


def _check_model(state: ServerState, name: str) -> None:
    if not state.generator.accepts(name):
        raise ApiError(
            ModelUnavailableError(
                f"This server serves {state.generator.model_id!r}, not {name!r}.",
                suggestion=f"Use model={state.generator.model_id!r} (GET /v1/models lists it).",
            ),
            status=404,
            param="model",
        )


def _params(state: ServerState, body: SamplingFields, max_tokens: int | None) -> GenerationParams:
    config = state.config
    try:
        return generation_params(
            body,
            max_tokens=max_tokens,
            cap=config.max_tokens,
            default_max_tokens=config.default_max_tokens,
            timeout=config.timeout,
        )
    except InvalidInputError as exc:
        raise ApiError(exc, param="max_tokens") from exc


def _job(
    state: ServerState, body: SamplingFields, requests: list[GenerateRequest], *, param: str
) -> Job:
    for r in requests:
        try:
            state.generator.check(r)
        except InvalidInputError as exc:
            raise ApiError(exc, param=param) from exc
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    return Job(tuple(requests), body.model, body.stream, include_usage)


async def prepare_chat(body: ChatCompletionRequest, request: Request) -> Job:
    """Step 1 for chat: the model, the turns and the parameters are accepted."""
    state = state_of(request)
    _check_model(state, body.model)
    try:
        question, history = chat_turns(body.messages)
    except InvalidInputError as exc:
        raise ApiError(exc, param="messages") from exc
    params = _params(state, body, body.max_completion_tokens or body.max_tokens)
    return _job(state, body, [GenerateRequest(question, params, history)], param="messages")


async def prepare_completion(body: CompletionRequest, request: Request) -> Job:
    """Step 1 for text completions (a list of prompts is answered together, not streamed)."""
    state = state_of(request)
    _check_model(state, body.model)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if body.stream and len(prompts) > 1:
        raise ApiError(
            InvalidInputError(
                "A streamed completion takes one prompt.",
                suggestion="Send one prompt per streamed request, or set stream to false.",
            ),
            param="prompt",
        )
    params = _params(state, body, body.max_tokens)
    requests = [GenerateRequest(p, params, raw=True) for p in prompts]
    return _job(state, body, requests, param="prompt")


async def admit_chat(
    request: Request, job: Annotated[Job, Depends(prepare_chat)]
) -> AsyncIterator[Admitted]:
    """Step 2 for chat: a slot on the model, held until the response is sent."""
    async with model_slot(state_of(request)) as ticket:
        yield Admitted(job, ticket)


async def admit_completion(
    request: Request, job: Annotated[Job, Depends(prepare_completion)]
) -> AsyncIterator[Admitted]:
    """Step 2 for text completions."""
    async with model_slot(state_of(request)) as ticket:
        yield Admitted(job, ticket)


# -- routes ---------------------------------------------------------------------------
@router.get("/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    """The model this server serves."""
    g = state_of(request).generator
    return ModelList(data=[ModelCard(id=g.model_id, created=g.created)])


_STREAMED = "; with `stream: true`, `text/event-stream` chunks ending in `data: [DONE]`."


def _answers(model: type[Any], what: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": what + _STREAMED}, **_ERRORS}


@router.post(
    "/chat/completions",
    response_model=None,
    responses=_answers(ChatCompletionOut, "The answer"),
)
async def chat_completions(
    request: Request, admitted: Annotated[Admitted, Depends(admit_chat)]
) -> Response:
    """A chat answer, whole or streamed (``stream: true``: server-sent events)."""
    return await _respond(request, admitted, _ChatFormat())


@router.post(
    "/completions",
    response_model=None,
    responses=_answers(TextCompletionOut, "The text"),
)
async def completions(
    request: Request, admitted: Annotated[Admitted, Depends(admit_completion)]
) -> Response:
    """The prompt continued as plain text, whole or streamed."""
    return await _respond(request, admitted, _TextFormat())


# -- answering --------------------------------------------------------------------------
def _usage(generations: list[Generation]) -> dict[str, int]:
    prompt = sum(g.prompt_tokens for g in generations)
    completion = sum(g.completion_tokens for g in generations)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class _ChatFormat:
    prefix, obj, chunk_obj = "chatcmpl", "chat.completion", "chat.completion.chunk"

    def choice(self, index: int, g: Generation) -> dict[str, Any]:
        return {
            "index": index,
            "message": {"role": "assistant", "content": g.text},
            "finish_reason": finish_reason(g.finish_reason),
            "logprobs": None,
        }

    def first(self) -> dict[str, Any] | None:
        return {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}

    def delta(self, text: str) -> dict[str, Any]:
        return {"index": 0, "delta": {"content": text}, "finish_reason": None, "logprobs": None}

    def last(self, reason: str) -> dict[str, Any]:
        return {"index": 0, "delta": {}, "finish_reason": reason, "logprobs": None}


class _TextFormat:
    prefix, obj, chunk_obj = "cmpl", "text_completion", "text_completion"

    def choice(self, index: int, g: Generation) -> dict[str, Any]:
        return {
            "index": index,
            "text": g.text,
            "finish_reason": finish_reason(g.finish_reason),
            "logprobs": None,
        }

    def first(self) -> dict[str, Any] | None:
        return None

    def delta(self, text: str) -> dict[str, Any]:
        return {"index": 0, "text": text, "finish_reason": None, "logprobs": None}

    def last(self, reason: str) -> dict[str, Any]:
        return {"index": 0, "text": "", "finish_reason": reason, "logprobs": None}


_Format = _ChatFormat | _TextFormat


async def _respond(request: Request, admitted: Admitted, fmt: _Format) -> Response:
    state = state_of(request)
    job = admitted.job
    ident = f"{fmt.prefix}-{uuid.uuid4().hex}"
    created = int(time.time())
    started = getattr(request.state, "started", None)
    head = {"id": ident, "created": created, "model": job.model}
    if job.stream:
        stream = state.generator.stream(job.requests[0])
        admitted.ticket.on_release(stream.aclose)
        first = await stream.first()  # errors before any byte is sent are HTTP errors
        events = _events(
            stream,
            first,
            fmt,
            head={**head, "object": fmt.chunk_obj},
            include_usage=job.include_usage,
            observe=lambda g: state.metrics.observe(g, request_started=started),
        )
        return EventSourceResponse(
            events, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
    if len(job.requests) == 1:
        generations = [await state.generator.complete(job.requests[0])]
    else:
        results = await state.generator.complete_many(job.requests)
        for r in results:
            if isinstance(r, MusicReasoningError):
                raise r
        generations = [r for r in results if isinstance(r, Generation)]
    for g in generations:
        state.metrics.observe(g, request_started=started)
    return JSONResponse(
        {
            **head,
            "object": fmt.obj,
            "choices": [fmt.choice(i, g) for i, g in enumerate(generations)],
            "usage": _usage(generations),
            "system_fingerprint": None,
        }
    )


def _sse(payload: dict[str, Any]) -> bytes:
    return format_sse_event(data_str=json.dumps(payload, ensure_ascii=False))


async def _events(
    stream: TokenStream,
    first: str | None,
    fmt: _Format,
    *,
    head: dict[str, Any],
    include_usage: bool,
    observe: Callable[[Generation], None],
) -> AsyncIterator[bytes]:
    """The SSE body: an opening chunk, one per text chunk, the finish, usage, [DONE]."""
    try:
        opening = fmt.first()
        if opening is not None:
            yield _sse({**head, "choices": [opening]})
        if first is not None:
            yield _sse({**head, "choices": [fmt.delta(first)]})
        async for text in stream:
            yield _sse({**head, "choices": [fmt.delta(text)]})
    except Exception as exc:
        yield _sse(_stream_error(exc))
        return
    finally:
        await stream.aclose()
    generation = stream.result
    if generation is not None:
        yield _sse({**head, "choices": [fmt.last(finish_reason(generation.finish_reason))]})
        if include_usage:
            yield _sse({**head, "choices": [], "usage": _usage([generation])})
        observe(generation)
    yield _DONE


def _stream_error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, MusicReasoningError):
        logger.info("stream ended with %s", exc)
        return envelope(exc.code, exc.message, exc.suggestion, status=status_for(exc))
    logger.error("stream failed unexpectedly", exc_info=exc)
    return envelope(
        MusicReasoningError.code,
        "The server failed unexpectedly while streaming.",
        "Retry; if it fails again, the server's log has the details.",
        status=500,
    )
