"""Music endpoints: grounded explanations (the SDK's ``ExplanationResult``) and theory facts.

``POST /v1/music/{chord,scale,progression,question,concept}`` explain; a request in
``mode: deterministic`` (and every concept) never touches the model, so it needs no slot
and works while the model loads.  ``GET /v1/theory/{chord,scale,progression,concepts}``
are the theory layer's facts alone: instant, no model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from music_reasoning.errors import InvalidInputError
from music_reasoning.sdk import ExplanationResult
from music_reasoning.sdk.api import parse_chord
from music_reasoning.sdk.concepts import concept_ids
from music_reasoning.server.deps import model_slot, state_of
from music_reasoning.server.errors import ApiError
from music_reasoning.server.music import ExplainOptions, split_chords
from music_reasoning.server.schemas import (
    ChordExplainRequest,
    ConceptExplainRequest,
    ExplainFields,
    ExplanationOut,
    ProgressionExplainRequest,
    QuestionRequest,
    ScaleExplainRequest,
)
from music_reasoning.theory import analyze_progression, get_scale

__all__ = ["router"]

router = APIRouter(prefix="/v1")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "INVALID_INPUT: the theory layer cannot read the input."},
    422: {"description": "INVALID_INPUT: the body does not fit the schema."},
    429: {"description": "SERVER_BUSY: the queue is full (see Retry-After)."},
}


async def _explain(
    request: Request, body: ExplainFields, work: Callable[[], ExplanationResult | None]
) -> ExplanationResult | None:
    """Run ``work`` on a worker thread, holding a model slot unless no model is used."""
    state = state_of(request)
    if body.mode == "deterministic":
        result = await state.generator.call(work)
    else:
        async with model_slot(state):
            result = await state.generator.call(work)
    if result is not None and result.source == "local":
        state.metrics.observe_sdk(result.metrics)
    return result


def _found(result: ExplanationResult | None) -> dict[str, Any]:
    if result is None:  # pragma: no cover - only the question route can get None
        raise AssertionError("no result")
    return result.to_dict()


def _options(body: ExplainFields) -> ExplainOptions:
    return ExplainOptions(
        mode=body.mode, level=body.level, temperature=body.temperature, use_cache=body.use_cache
    )


@router.post("/music/chord", response_model=ExplanationOut, tags=["music"], responses=_ERRORS)
async def explain_chord(body: ChordExplainRequest, request: Request) -> dict[str, Any]:
    """Explain a chord (symbol or notes), checked against the theory layer's facts."""
    music = state_of(request).music
    return _found(await _explain(request, body, lambda: music.chord(body.chord, _options(body))))


@router.post("/music/scale", response_model=ExplanationOut, tags=["music"], responses=_ERRORS)
async def explain_scale(body: ScaleExplainRequest, request: Request) -> dict[str, Any]:
    """Explain a scale or mode (root and type, e.g. D dorian)."""
    music = state_of(request).music
    return _found(
        await _explain(request, body, lambda: music.scale(body.root, body.type, _options(body)))
    )


@router.post("/music/progression", response_model=ExplanationOut, tags=["music"], responses=_ERRORS)
async def explain_progression(body: ProgressionExplainRequest, request: Request) -> dict[str, Any]:
    """Analyse a progression (key, numerals, cadences) and explain it."""
    music = state_of(request).music
    return _found(
        await _explain(
            request, body, lambda: music.progression(body.chords, body.key, _options(body))
        )
    )


@router.post("/music/question", response_model=ExplanationOut, tags=["music"], responses=_ERRORS)
async def explain_question(body: QuestionRequest, request: Request) -> dict[str, Any]:
    """Answer a question that names a chord, scale, progression or concept, from the facts.

    A question that names none is refused (422): ask ``/v1/chat/completions`` instead.
    """
    music = state_of(request).music
    result = await _explain(request, body, lambda: music.question(body.question, _options(body)))
    if result is None:
        raise ApiError(
            InvalidInputError(
                "The question names no chord, scale, progression or concept clearly.",
                suggestion="Name one ('What notes are in G7?'), or ask /v1/chat/completions "
                "(the model alone, unverified).",
            ),
            status=422,
            param="question",
        )
    return result.to_dict()


@router.post("/music/concept", response_model=ExplanationOut, tags=["music"], responses=_ERRORS)
def explain_concept(body: ConceptExplainRequest, request: Request) -> dict[str, Any]:
    """Explain a concept ("plagal cadence") with examples realized in ``key``; no model."""
    music = state_of(request).music
    return music.concept(body.concept, key=body.key, level=body.level).to_dict()


@router.get("/theory/chord", tags=["theory"], responses=_ERRORS)
def chord_facts(
    chord: Annotated[
        str, Query(min_length=1, max_length=64, description="G7, C/E, or notes 'C E G'.")
    ],
) -> dict[str, Any]:
    """A chord's facts: notes, intervals, quality, inversion."""
    info = parse_chord(chord)
    data: dict[str, Any] = info.to_dict()
    return data


@router.get("/theory/scale", tags=["theory"], responses=_ERRORS)
def scale_facts(
    root: Annotated[str, Query(min_length=1, max_length=8)],
    type: Annotated[str, Query(min_length=1, max_length=64)] = "major",
) -> dict[str, Any]:
    """A scale's notes, intervals and formula."""
    data: dict[str, Any] = get_scale(root, type).to_dict()
    return data


@router.get("/theory/progression", tags=["theory"], responses=_ERRORS)
def progression_facts(
    chords: Annotated[str, Query(min_length=1, max_length=512, description="'Dm7 G7 Cmaj7'.")],
    key: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """A progression's key, numerals, functions, cadences and patterns."""
    data: dict[str, Any] = analyze_progression(split_chords(chords), key=key).to_dict()
    return data


@router.get("/theory/concepts", tags=["theory"])
def list_concepts() -> dict[str, list[str]]:
    """The ids of every concept ``/v1/music/concept`` explains."""
    return {"concepts": list(concept_ids())}
