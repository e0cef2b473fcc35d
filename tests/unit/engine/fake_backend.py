"""A scripted stand-in for the llama.cpp adapter, for unit tests of the pure decoding logic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from music_reasoning.errors import InferenceError
from music_reasoning.params import GenerationParams

EOS = 0


class FakeSampler:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """Tokens are characters (token = ord(ch)); each sequence answers from ``scripts``."""

    chat_template = None
    bos_token = -1

    def __init__(self, scripts: dict[int, str], *, n_batch: int = 16, n_seq_max: int = 4) -> None:
        self.scripts = scripts
        self.n_batch = n_batch
        self.n_seq_max = n_seq_max
        self.decodes: list[list[tuple[int, int, int, bool]]] = []
        self.cps: list[tuple[int, int, int, int]] = []
        self.rms: list[tuple[int, int, int]] = []
        self.pos_min: dict[int, int] = {}  # set to simulate a sliding-window purge
        self.fail_next: list[InferenceError] = []
        self._produced: dict[int, int] = {}
        self._last: list[tuple[int, int, int, bool]] = []
        self.closed = False
        self.thread_changes: list[int] = []

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        return [ord(c) for c in text]

    def apply_chat_template(self, messages: Sequence[tuple[str, str]]) -> str:
        raise AssertionError("base model")

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self._last = list(entries)
        self.decodes.append(list(entries))

    def new_sampler(self, params: GenerationParams, seed: int) -> Any:
        return FakeSampler()

    def sample(self, sampler: Any, index: int) -> int:
        seq = self._last[index][2]
        n = self._produced.get(seq, 0)
        self._produced[seq] = n + 1
        script = self.scripts.get(seq, "")
        return ord(script[n]) if n < len(script) else EOS

    def reset_scripts(self, scripts: dict[int, str]) -> None:
        self.scripts = scripts
        self._produced = {}

    def piece(self, token: int) -> bytes:
        return chr(token).encode()

    def is_eog(self, token: int) -> bool:
        return token == EOS

    def seq_rm(self, seq: int, p0: int, p1: int = -1) -> bool:
        self.rms.append((seq, p0, p1))
        return True

    def seq_pos_min(self, seq: int) -> int:
        return self.pos_min.get(seq, 0)

    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None:
        self.cps.append((src, dst, p0, p1))

    def clear(self) -> None:
        self.rms.append((-1, 0, -1))

    def set_threads(self, n_threads: int) -> None:
        self.thread_changes.append(n_threads)

    def close(self) -> None:
        self.closed = True
