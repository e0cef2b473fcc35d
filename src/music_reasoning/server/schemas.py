"""Request and response models of the HTTP API (pydantic: they are the OpenAPI schema).

Requests refuse unknown fields and wrong types (``extra="forbid"``, strict), so a
misspelt option is an ``INVALID_INPUT`` error rather than silently ignored.  The OpenAI
models carry the fields the official client sends; sampling fields map onto
:class:`~music_reasoning.params.GenerationParams` (see ``translate.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from music_reasoning.sdk.teacher import Level

__all__ = [
    "ChatCompletionOut",
    "ChatCompletionRequest",
    "ChatMessage",
    "ChordExplainRequest",
    "CompletionRequest",
    "ConceptExplainRequest",
    "ExplainFields",
    "ExplanationOut",
    "ModelCard",
    "ModelList",
    "ProgressionExplainRequest",
    "QuestionRequest",
    "SamplingFields",
    "ScaleExplainRequest",
    "StreamOptions",
    "TextCompletionOut",
    "TextPart",
    "Usage",
]

MAX_STOP = 4
MAX_STOP_CHARS = 64
MAX_MESSAGES = 256
SdkMode = Literal["auto", "local-only", "cloud-only", "deterministic"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# -- OpenAI-compatible ------------------------------------------------------------------
class TextPart(_Request):
    """A text part of a message's content (other part types are refused)."""

    type: Literal["text"]
    text: str


class ChatMessage(_Request):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = Field(default=None, max_length=64)

    def text(self) -> str:
        """The content as one string (text parts joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(_Request):
    include_usage: bool = False


class SamplingFields(_Request):
    """The fields chat and text completions share."""

    model: str = Field(min_length=1, max_length=256, description="See GET /v1/models.")
    temperature: float | None = Field(
        default=None, ge=0.0, le=1.0, description="0 is greedy; default 0.5."
    )
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, description="Capped by the server.")
    stop: str | list[str] | None = Field(
        default=None, description=f"Up to {MAX_STOP} strings that end the answer."
    )
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    n: int = Field(default=1, ge=1, le=1, description="Only 1 is supported.")
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, max_length=256, description="Ignored.")

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop strings")
        if any(not s or len(s) > MAX_STOP_CHARS for s in stops):
            raise ValueError(f"each stop string must have 1 to {MAX_STOP_CHARS} characters")
        if not all(_is_utf8(s) for s in stops):  # a "\ud800" escape in the JSON
            raise ValueError("each stop string must be text (no lone surrogates)")
        return value


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ChatCompletionRequest(SamplingFields):
    """``POST /v1/chat/completions``: the last message must be the user's."""

    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_completion_tokens: int | None = Field(
        default=None, ge=1, description="The newer name of max_tokens; wins when both are set."
    )


class CompletionRequest(SamplingFields):
    """``POST /v1/completions``: the prompt is continued as plain text."""

    prompt: str | list[str] = Field(description="One prompt, or a list answered together.")

    @field_validator("prompt")
    @classmethod
    def _check_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not 1 <= len(value) <= 64:
            raise ValueError("a list of 1 to 64 prompts")
        return value


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class ChatCompletionOut(BaseModel):
    """A whole chat answer (a stream sends ``chat.completion.chunk`` objects instead)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: None = None


class TextChoice(BaseModel):
    index: int
    text: str
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class TextCompletionOut(BaseModel):
    """A whole text completion (a stream sends ``text_completion`` chunks)."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[TextChoice]
    usage: Usage
    system_fingerprint: None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "music-reasoning"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# -- music ------------------------------------------------------------------------------
class ExplainFields(_Request):
    """The options every explain request takes."""

    level: Level = Field(default="intermediate", description="How much the lesson teaches.")
    mode: SdkMode | None = Field(
        default=None,
        description="SDK mode; deterministic: the lesson alone, no model. Default: settings.",
    )
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    use_cache: bool = True


class ChordExplainRequest(ExplainFields):
    chord: str | list[str] = Field(
        min_length=1, description="A symbol (G7, C/E), notes ('C E G') or a list of notes."
    )


class ScaleExplainRequest(ExplainFields):
    root: str = Field(min_length=1, max_length=8)
    type: str = Field(default="major", min_length=1, max_length=64)


class ProgressionExplainRequest(ExplainFields):
    chords: str | list[str] = Field(
        min_length=1, description="'Dm7 G7 Cmaj7' or a list of chord symbols."
    )
    key: str | None = Field(default=None, max_length=32, description="Analyse in this key.")


class QuestionRequest(ExplainFields):
    question: str = Field(min_length=1, max_length=1000)


class ConceptExplainRequest(_Request):
    concept: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, max_length=32, description="Examples in this key.")
    level: Level = "intermediate"


class ErrorInfoOut(BaseModel):
    code: str
    message: str
    suggestion: str


class ExplanationOut(BaseModel):
    """The SDK's ``ExplanationResult.to_dict()``."""

    model_config = ConfigDict(extra="allow")

    data: dict[str, Any]
    explanation: str | None
    source: Literal["local", "cloud", "cache", "deterministic"]
    verified: bool
    error: ErrorInfoOut | None = None
    corrections: list[str] = []
    metrics: dict[str, Any] | None = None
    lesson: dict[str, Any] | None = None
