"""The one adapter over ``llama_cpp`` (llama-cpp-python); nothing else imports it.

It owns a model, one context sized for ``n_seq_max`` parallel sequences over a
unified KV cache (so a shared prompt prefix can be copied between sequences), and a
reusable token batch.  It knows nothing about prompts or sampling policy beyond
building llama.cpp's native sampler chains.  llama.cpp's log output is routed into
the ``music_reasoning.llama_cpp`` logger at DEBUG level (or stderr when verbose).

Errors from llama.cpp are converted into the package's hierarchy here.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# llama.cpp's CPU build uses OpenMP, whose threads spin at every barrier by default.
# On a busy machine one of them is often descheduled and the others spin waiting for
# it: 2 threads fell to 3 tokens/s where passive waiting keeps 9 (docs/PERFORMANCE.md).
# OpenMP reads this once, when llama.cpp's library loads, so it is set before the
# import below; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import llama_cpp
import numpy as np
from llama_cpp import _internals

from music_reasoning.errors import (
    CorruptedModelError,
    InferenceError,
    InvalidInputError,
)
from music_reasoning.params import GenerationParams

__all__ = [
    "BackendInfo",
    "LlamaBackend",
    "backend_info",
    "file_type_name",
    "quantize",
    "read_metadata",
]

logger = logging.getLogger(__name__)
_native_logger = logging.getLogger("music_reasoning.llama_cpp")

# ggml's levels: 1 debug, 2 info, 3 warn, 4 error, 5 continuation.  Only errors rise
# above DEBUG (to WARNING): llama.cpp's "warnings" are chatter about the model file.
_GGML_LOG_ERROR = 4
_GGML_LEVELS = {_GGML_LOG_ERROR: logging.WARNING}
_log_lock = threading.Lock()
_log_state: dict[str, Any] = {"callback": None, "verbose": False, "last_error": None}
_PENALTY_LAST_N = 64
#: What may follow a word inside one token and still leave the word whole ("#," "#m7").
_WORD_ENDS = (*" ,.;:!?)]}'\"-/\n", *"0123456789", "m", "M", "maj", "dim", "aug", "sus", "\u00b0")
_BANS_CACHE_SIZE = 64  # token rules of recent banned-word sets (a regeneration reuses them)
# llama.cpp's model loader is not safe to run twice at once in one process (a vocab-only
# read beside a full load has ended the process without a word), so every open of a
# model file -- load, metadata read, quantization -- takes this lock.
_open_lock = threading.Lock()


def _route_native_logs(verbose: bool) -> None:
    """Send llama.cpp's log lines to logging (DEBUG), or to stderr when verbose."""
    with _log_lock:
        _log_state["verbose"] = verbose
        if _log_state["callback"] is not None:
            return

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def _callback(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
            message = text.decode("utf-8", errors="replace")
            if level == _GGML_LOG_ERROR and message.strip():
                _log_state["last_error"] = message.strip()
            if _log_state["verbose"]:
                sys.stderr.write(message)
            elif message.strip():
                _native_logger.log(_GGML_LEVELS.get(level, logging.DEBUG), "%s", message.rstrip())

        _log_state["callback"] = _callback  # keep a reference: C holds only a pointer
        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


@dataclass(frozen=True)
class BackendInfo:
    """What the installed llama.cpp build can do."""

    backend: str
    gpu_offload: bool
    system_info: str


def backend_info() -> BackendInfo:
    """Ask the installed llama.cpp build which accelerator it was compiled for."""
    _route_native_logs(False)
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    gpu = bool(llama_cpp.llama_supports_gpu_offload())
    name = "cpu"
    for candidate in ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL"):
        if candidate.lower() in info.lower():
            name = candidate.lower()
            break
    if gpu and name == "cpu":
        name = "gpu"
    return BackendInfo(backend=name, gpu_offload=gpu, system_info=info.strip())


def read_metadata(path: Path) -> dict[str, str]:
    """GGUF metadata via llama.cpp's own reader (vocabulary only, no weights).

    Raises:
        CorruptedModelError: llama.cpp cannot parse the file.
    """
    _route_native_logs(False)
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    try:
        with _open_lock:
            model = _internals.LlamaModel(path_model=str(path), params=params, verbose=False)
    except ValueError as exc:
        raise CorruptedModelError(
            f"llama.cpp could not read {path}: truncated, or not a valid GGUF model.",
            details={"path": str(path)},
        ) from exc
    try:
        return dict(model.metadata())
    finally:
        model.close()


@dataclass(frozen=True)
class _Bans:
    """Banned words as token rules (see :meth:`LlamaBackend.bans`).

    ``always``: tokens that are a whole banned word by themselves (`` F``, ``vi``).
    ``after``: (tokens just sampled) -> tokens that would complete a banned word there
    (after `` F``, ``#`` completes `` F#``: this vocabulary has no ``F#`` token).
    ``only``: (tokens just sampled, which spell a banned word that begins an allowed
    one) -> the only tokens that may follow (after `` F`` in D major, ``#``).
    ``lengths``: the tail lengths to look up in ``after`` and ``only``.
    """

    always: tuple[int, ...] = ()
    after: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)
    only: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)
    lengths: tuple[int, ...] = ()

    def ids(self, recent: Sequence[int]) -> tuple[list[int], tuple[int, ...] | None]:
        """(tokens banned now, the only tokens allowed now or None) after ``recent``."""
        banned = list(self.always)
        only: tuple[int, ...] | None = None
        n = len(recent)
        for k in self.lengths:
            if k > n:
                break
            tail = tuple(recent[n - k + i] for i in range(k))
            banned += self.after.get(tail, ())
            only = self.only.get(tail, only)
        return banned, only


_NO_BANS = _Bans()

# Tokens that are never text, whatever a prompt asks: llama.cpp's control tokens
# (<bos>, <pad>, <start_of_turn>, ...), unknown and unused ones (<unused0>..).  They
# render to nothing, so sampling one wastes a step or (<start_of_turn>) derails the
# answer; end-of-generation tokens are kept, they end the answer.
_NEVER_ATTRS = (
    llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
    | llama_cpp.LLAMA_TOKEN_ATTR_UNKNOWN
    | llama_cpp.LLAMA_TOKEN_ATTR_UNUSED
)
# A "user-defined" token renders as its text, which is right for Gemma's runs of
# spaces and newlines and its HTML tags, but some of them are model markers a tokenizer
# config calls special and GGUF does not: <start_of_image>, <end_of_image>,
# [multimodal] ("Look at this image: " made the embedded model write <start_of_image>
# over and over).  A marker is a bracketed name with an underscore or pipes, or in
# square brackets; <table>, <b>, <bbox> stay text.
_MARKER_RE = re.compile(
    rb"<\|[^\s<>]*\|>|</?[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+>|\[/?[A-Za-z][A-Za-z0-9_]*\]"
)
_TEXT_CONTROL_BYTES = frozenset(b"\t\n\r")


def never_sampled(
    attrs: Sequence[int], piece: Callable[[int], bytes], is_eog: Callable[[int], bool]
) -> np.ndarray:
    """The ids of tokens that may never be sampled: they are no text to show.

    ``attrs`` holds each token's llama.cpp attribute bits (``llama_vocab_get_attr``).
    Banned: control, unknown and unused tokens; user-defined tokens whose text is a
    model marker (:data:`_MARKER_RE`); byte tokens of an ASCII control character
    other than tab, newline and return (a NUL in an answer).  End-of-generation tokens
    are never banned.  The array is computed once per model and applied per step with
    one fancy-indexed assignment (:meth:`LlamaBackend.sample`).
    """
    user, byte = llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED, llama_cpp.LLAMA_TOKEN_ATTR_BYTE
    ids: list[int] = []
    for token, attr in enumerate(attrs):
        if attr & _NEVER_ATTRS:
            pass
        elif attr & user:
            if not _MARKER_RE.fullmatch(piece(token)):
                continue
        elif attr & byte:
            text = piece(token)
            if len(text) != 1 or not (text[0] < 0x20 or text[0] == 0x7F):
                continue
            if text[0] in _TEXT_CONTROL_BYTES:
                continue
        else:
            continue
        if not is_eog(token):
            ids.append(token)
    return np.array(ids, dtype=np.intp)


def special_texts(attrs: Sequence[int], text: Callable[[int], bytes]) -> frozenset[str]:
    """The texts the tokenizer turns into one control token wherever a prompt holds them
    (``<start_of_turn>``, ``<end_of_turn>``): those of control and user-defined tokens
    that look like markers.  A question that writes one could end its turn early and
    speak for the model; :meth:`LlamaBackend.control_text_in` finds them."""
    control, user = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL, llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    out = set()
    for token, attr in enumerate(attrs):
        if attr & (control | user):
            raw = text(token)
            if _MARKER_RE.fullmatch(raw) or (attr & control and raw.startswith((b"<", b"["))):
                out.add(raw.decode("utf-8", errors="replace"))
    return frozenset(out)


class _Sampler:
    """One sequence's sampler: llama.cpp's native chain, the repeat penalty and bans.

    The penalty is llama.cpp's own rule (a logit > 0 is divided by it, otherwise
    multiplied) over the last ``_PENALTY_LAST_N`` sampled tokens, but applied to those
    few logits in place: llama.cpp's penalties sampler visits every candidate of the
    262k-token vocabulary, which cost 0.7 ms per token here (most of the sampling time).
    Banned tokens get -inf the same way, before the chain or the arg-max sees them.
    Greedy decoding (temperature 0) takes the arg-max of the logits directly.
    """

    def __init__(self, chain: Any | None, penalty: float, bans: _Bans = _NO_BANS) -> None:
        self.chain = chain
        self.penalty = penalty
        self.bans = bans
        self.recent: deque[int] = deque(maxlen=_PENALTY_LAST_N)

    def close(self) -> None:
        if self.chain is not None:
            self.chain.close()


class LlamaBackend:
    """An owned llama.cpp model + multi-sequence context.

    Not thread-safe: only the engine's decode-loop thread (``scheduler.py``) decodes with it.
    """

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_seq_max: int,
        n_threads: int,
        n_gpu_layers: int,
        n_batch: int = 512,
        verbose: bool = False,
    ) -> None:
        _route_native_logs(verbose)
        model_params = llama_cpp.llama_model_default_params()
        model_params.n_gpu_layers = n_gpu_layers
        try:
            with _open_lock:
                self._model = _internals.LlamaModel(
                    path_model=str(path), params=model_params, verbose=verbose
                )
        except ValueError as exc:
            raise CorruptedModelError(
                f"llama.cpp could not load {path}: truncated, or not a valid GGUF model.",
                details={"path": str(path)},
            ) from exc
        ctx_params = llama_cpp.llama_context_default_params()
        ctx_params.n_ctx = n_ctx
        ctx_params.n_batch = n_batch
        ctx_params.n_ubatch = n_batch
        ctx_params.n_seq_max = n_seq_max
        ctx_params.n_threads = n_threads
        ctx_params.n_threads_batch = n_threads
        ctx_params.kv_unified = True  # sequences share the few-shot prefix: copy, not recompute
        ctx_params.swa_full = True  # keep sliding-window layers whole so prefixes can be reused
        ctx_params.no_perf = True
        try:
            self._ctx = _internals.LlamaContext(
                model=self._model, params=ctx_params, verbose=verbose
            )
        except ValueError as exc:
            self._model.close()
            raise InferenceError(
                f"llama.cpp could not create a context of {n_ctx} tokens for {path}.",
                suggestion="Lower MUSIC_REASONING_N_CTX or MUSIC_REASONING_N_PARALLEL.",
                details={"n_ctx": n_ctx, "n_seq_max": n_seq_max},
            ) from exc
        self._batch = _internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=verbose)
        self.n_batch = n_batch
        self.n_seq_max = n_seq_max
        self.n_ctx = n_ctx
        self._vocab = self._model.vocab
        self._n_vocab = int(self._model.n_vocab())
        self.bos_token = int(llama_cpp.llama_vocab_bos(self._vocab))
        self.metadata: dict[str, str] = self._model.metadata()
        self._piece = ctypes.create_string_buffer(256)
        get_attr = llama_cpp.llama_vocab_get_attr
        attrs = [get_attr(self._vocab, t) for t in range(self._n_vocab)]
        self._never = never_sampled(attrs, self.piece, self.is_eog)
        self._special = tuple(
            sorted(special_texts(attrs, lambda t: llama_cpp.llama_vocab_get_text(self._vocab, t)))
        )
        self._bans_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], _Bans] = {}
        self._forms_cache: dict[str, tuple[tuple[int, ...], ...]] = {}  # a word's tokens
        self._extended_cache: dict[int, tuple[int, ...]] = {}

    # -- model facts ---------------------------------------------------------------
    @property
    def chat_template(self) -> str | None:
        raw = llama_cpp.llama_model_chat_template(self._model.model, None)
        return raw.decode("utf-8", errors="replace") if raw else None

    @property
    def n_ctx_train(self) -> int:
        return int(self._model.n_ctx_train())

    @property
    def description(self) -> str:
        return str(self._model.desc())

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        """Tokenize text; special tokens written in the text (``<start_of_turn>``) are parsed."""
        data = text.encode("utf-8")
        cap = len(data) + 16
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(self._vocab, data, len(data), buf, cap, add_special, True)
        if n < 0:
            cap = -n
            buf = (llama_cpp.llama_token * cap)()
            n = llama_cpp.llama_tokenize(self._vocab, data, len(data), buf, cap, add_special, True)
        if n < 0:
            raise InferenceError(f"Tokenizer failed on a text of {len(data)} bytes.")
        return list(buf[:n])

    def control_text_in(self, text: str) -> str | None:
        """The first control-token text (``<end_of_turn>``) written in ``text``, or None."""
        if "<" not in text and "[" not in text:
            return None
        return next((t for t in self._special if t in text), None)

    def piece(self, token: int) -> bytes:
        """The bytes a token renders to (control tokens render to nothing)."""
        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece, 256, 0, False)
        if n < 0:  # longer than the buffer: llama.cpp says how long
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, -n, 0, False)
            return buf.raw[: max(n, 0)]
        return self._piece.raw[:n]

    def is_eog(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def apply_chat_template(self, messages: Sequence[tuple[str, str]]) -> str:
        """Render (role, content) messages with the model's own chat template."""
        template = llama_cpp.llama_model_chat_template(self._model.model, None)
        arr = (llama_cpp.llama_chat_message * len(messages))()
        keep: list[bytes] = []
        for i, (role, content) in enumerate(messages):
            r, c = role.encode(), content.encode()
            keep += [r, c]
            arr[i].role, arr[i].content = r, c
        size = 4096 + sum(len(k) for k in keep) * 2
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_chat_apply_template(template, arr, len(messages), True, buf, size)
        if n > size:
            buf = ctypes.create_string_buffer(n + 1)
            n = llama_cpp.llama_chat_apply_template(template, arr, len(messages), True, buf, n + 1)
        if n < 0:
            raise InferenceError("The model's chat template is not supported by llama.cpp.")
        return buf.raw[:n].decode("utf-8", errors="replace")

    # -- KV cache ------------------------------------------------------------------
    def seq_rm(self, seq: int, p0: int, p1: int = -1) -> bool:
        return bool(llama_cpp.llama_memory_seq_rm(self._ctx.memory, seq, p0, p1))

    def seq_pos_min(self, seq: int) -> int:
        """Smallest position held for ``seq`` (-1 when empty)."""
        return int(llama_cpp.llama_memory_seq_pos_min(self._ctx.memory, seq))

    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None:
        llama_cpp.llama_memory_seq_cp(self._ctx.memory, src, dst, p0, p1)

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self._ctx.memory, True)

    # -- decoding ------------------------------------------------------------------
    def set_threads(self, n_threads: int) -> None:
        """Use ``n_threads`` for the next decodes (generation and prompt alike)."""
        llama_cpp.llama_set_n_threads(self._ctx.ctx, n_threads, n_threads)

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """Evaluate (token, position, sequence, want_logits) entries in one llama_decode.

        Raises:
            InferenceError: llama.cpp returned an error; ``transient`` when the KV
                cache had no room (clearing it and retrying can succeed).
        """
        batch = self._batch.batch
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        batch.n_tokens = len(entries)
        _log_state["last_error"] = None
        rc = llama_cpp.llama_decode(self._ctx.ctx, batch)
        if rc != 0:
            native = _log_state["last_error"]
            raise InferenceError(
                f"llama_decode failed with code {rc}" + (f": {native}" if native else "."),
                details={"return_code": rc, "n_tokens": len(entries), "llama_cpp": native},
                transient=rc == 1,
            )

    def new_sampler(self, params: GenerationParams, seed: int) -> _Sampler:
        """Build a native sampler chain for one sequence (see :class:`_Sampler`)."""
        bans = self.bans(params.banned_words, params.allowed_words)
        if params.temperature <= 0.0:
            return _Sampler(None, params.repeat_penalty, bans)
        chain = _internals.LlamaSampler()
        chain.add_top_k(params.top_k)
        chain.add_top_p(params.top_p, 1)
        chain.add_temp(params.temperature)
        chain.add_dist(seed)
        return _Sampler(chain, params.repeat_penalty, bans)

    def _forms(self, words: Iterable[str]) -> set[tuple[int, ...]]:
        """Each word's tokens, written with and without a leading space."""
        out: set[tuple[int, ...]] = set()
        for word in words:
            forms = self._forms_cache.get(word)
            if forms is None:
                forms = tuple(
                    tokens
                    for form in (word, " " + word)
                    if (tokens := tuple(self.tokenize(form, add_special=False)))
                )
                self._forms_cache[word] = forms
            out.update(forms)
        return out

    def _extended(self, token: int) -> tuple[int, ...]:
        """``token`` and the tokens that are its text plus a word's end (``#,`` for ``#``).

        This vocabulary has tokens such as ``#,`` and `` B.``: a word completed by one of
        them must be banned (or allowed) with its plain token.
        """
        found = self._extended_cache.get(token)
        if found is None:
            text = self.piece(token).decode("utf-8", errors="replace")
            ids = [token]
            for tail in _WORD_ENDS:
                ext = self.tokenize(text + tail, add_special=False)
                if len(ext) == 1 and ext[0] != token:
                    ids.append(ext[0])
            found = self._extended_cache[token] = tuple(ids)
        return found

    def bans(self, banned: Sequence[str], allowed: Sequence[str] = ()) -> _Bans:
        """Token rules that keep every ``banned`` word out of the text (cached per pair).

        A word's tokens are its tokenization with and without a leading space; a token
        is banned only where it completes a banned word, so ordinary words that share a
        token's letters are untouched.  Where a banned word's tokens begin an
        ``allowed`` word's (`` F`` of `` F#``), they are not banned; instead only the
        continuations towards the allowed words may follow them.
        """
        if not banned:
            return _NO_BANS
        key = (tuple(banned), tuple(allowed))
        cached = self._bans_cache.get(key)
        if cached is not None:
            return cached
        keep = self._forms(allowed)
        always: set[int] = set()
        after: dict[tuple[int, ...], set[int]] = {}
        only: dict[tuple[int, ...], set[int]] = {}
        for tokens in self._forms(banned):
            n = len(tokens)
            leads = {a[n] for a in keep if len(a) > n and a[:n] == tokens}
            if leads:
                only.setdefault(tokens, set()).update(*(self._extended(t) for t in leads))
            elif n == 1:
                always.update(self._extended(tokens[0]))
            else:
                after.setdefault(tokens[:-1], set()).update(self._extended(tokens[-1]))
        bans = _Bans(
            always=tuple(sorted(always)),
            after={k: tuple(sorted(v)) for k, v in after.items()},
            only={k: tuple(sorted(v)) for k, v in only.items()},
            lengths=tuple(sorted({len(k) for k in (*after, *only)})),
        )
        if len(self._bans_cache) >= _BANS_CACHE_SIZE:
            self._bans_cache.pop(next(iter(self._bans_cache)))
        self._bans_cache[key] = bans
        return bans

    def sample(self, sampler: _Sampler, index: int) -> int:
        """Sample a token from the logits at batch ``index`` and record it in the chain."""
        logits = llama_cpp.llama_get_logits_ith(self._ctx.ctx, index)
        array = np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
        array[self._never] = -math.inf  # control tokens and markers: never text
        if sampler.penalty != 1.0:
            for token in set(sampler.recent):
                value = logits[token]
                logits[token] = value * sampler.penalty if value <= 0 else value / sampler.penalty
        only: tuple[int, ...] | None = None
        if sampler.bans is not _NO_BANS:
            banned, only = sampler.bans.ids(sampler.recent)
            for token in banned:
                logits[token] = -math.inf
            if only is not None:  # a banned word that may go on only into an allowed one
                kept = array[list(only)].copy()
                if np.isfinite(kept).any():  # else nothing may follow: leave it to the verifier
                    array[:] = -math.inf
                    array[list(only)] = kept
        if sampler.chain is None:  # greedy: the arg-max, without copying 262k candidates
            token = int(array.argmax())
        else:
            token = int(llama_cpp.llama_sampler_sample(sampler.chain.sampler, self._ctx.ctx, index))
        sampler.recent.append(token)
        return token

    def close(self) -> None:
        self._batch.close()
        self._ctx.close()
        self._model.close()


# general.file_type values of unquantized GGUFs (llama.cpp's llama_ftype)
UNQUANTIZED_FILE_TYPES = {0: "F32", 1: "F16", 32: "BF16"}


def file_type_name(value: int) -> str:
    """The name of a GGUF ``general.file_type`` (``15`` -> ``Q4_K_M``)."""
    for name in dir(llama_cpp):
        if name.startswith("LLAMA_FTYPE_MOSTLY_") and getattr(llama_cpp, name) == value:
            return name.removeprefix("LLAMA_FTYPE_MOSTLY_")
    return UNQUANTIZED_FILE_TYPES.get(value, str(value))


def quantize(
    src: Path, dst: Path, quantization: str, *, allow_requantize: bool, threads: int
) -> None:
    """Write ``src`` re-encoded as ``quantization`` to ``dst`` with llama.cpp's quantizer.

    Raises:
        InvalidInputError: llama.cpp has no such quantization type.
        InferenceError: llama.cpp failed (its last error line is in the message).
    """
    ftype = check_quantization(quantization)
    _route_native_logs(False)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    params.allow_requantize = allow_requantize
    with _open_lock:
        _log_state["last_error"] = None
        rc = llama_cpp.llama_model_quantize(
            str(src).encode(), str(dst).encode(), ctypes.byref(params)
        )
        native = _log_state["last_error"]
    if rc != 0:
        raise InferenceError(
            f"llama.cpp could not quantize {src.name} to {quantization}"
            + (f": {native}" if native else "."),
            details={"return_code": rc, "source": str(src)},
        )


def check_quantization(quantization: str) -> int:
    """llama.cpp's file type for a quantization name (``Q4_K_M``).

    Raises:
        InvalidInputError: llama.cpp has no such quantization type.
    """
    name = quantization.upper()
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{name}", None) if name.isidentifier() else None
    if ftype is None:
        known = sorted(
            n.removeprefix("LLAMA_FTYPE_MOSTLY_")
            for n in dir(llama_cpp)
            if n.startswith("LLAMA_FTYPE_MOSTLY_")
        )
        raise InvalidInputError(
            f"llama.cpp has no quantization {quantization!r}.",
            suggestion=f"Use one of: {', '.join(known)}.",
        )
    return int(ftype)
