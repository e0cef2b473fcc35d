"""Banned words as token rules: the per-step lookup, and per-prompt params in a batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from music_reasoning.config import load_settings
from music_reasoning.engine._llama import _Bans, never_sampled, special_texts
from music_reasoning.engine.local import LocalEngine
from music_reasoning.params import GenerationParams

from .fake_backend import FakeBackend, FakeSampler

F, SHARP, SPACE_F, A = 10, 11, 12, 13


def test_always_banned_tokens_apply_at_every_step() -> None:
    bans = _Bans(always=(5, 6))
    assert bans.ids([]) == ([5, 6], None)
    assert bans.ids([1, 2, 3]) == ([5, 6], None)


def test_a_token_that_completes_a_banned_word_is_banned_only_after_its_start() -> None:
    bans = _Bans(after={(SPACE_F,): (SHARP,), (A, F): (SHARP,)}, lengths=(1, 2))
    assert bans.ids([1, SPACE_F]) == ([SHARP], None)
    assert bans.ids([A, F]) == ([SHARP], None)
    assert bans.ids([SPACE_F, 1]) == ([], None)
    assert bans.ids([F]) == ([], None)


def test_a_banned_word_that_begins_an_allowed_one_may_only_go_on_into_it() -> None:
    bans = _Bans(only={(SPACE_F,): (SHARP,)}, lengths=(1,))
    assert bans.ids([SPACE_F]) == ([], (SHARP,))
    assert bans.ids([SPACE_F, SHARP]) == ([], None)


# llama.cpp's token attribute bits (llama_token_attr)
UNKNOWN, UNUSED, NORMAL, CONTROL, USER, BYTE = 1, 2, 4, 8, 16, 32
VOCAB: list[tuple[int, bytes, bool]] = [  # (attributes, text, end of generation)
    (CONTROL, b"", False),  # 0 <pad>
    (CONTROL, b"", True),  # 1 <eos>: ends the answer, so never banned
    (CONTROL, b"", False),  # 2 <start_of_turn>
    (UNKNOWN, b"", False),  # 3 <unk>
    (UNUSED | CONTROL, b"", False),  # 4 <unused0>
    (NORMAL, b" chord", False),  # 5
    (USER, b"<start_of_image>", False),  # 6: a marker rendered as text
    (USER, b"[multimodal]", False),  # 7
    (USER, b"<|image|>", False),  # 8
    (USER, b"<table>", False),  # 9: formatting stays text
    (USER, b"</b>", False),  # 10
    (USER, b"\n\n", False),  # 11
    (BYTE, b"\x00", False),  # 12: a NUL is no text
    (BYTE, b"\x1b", False),  # 13
    (BYTE, b"\n", False),  # 14
    (BYTE, b"\xe2", False),  # 15: part of a UTF-8 character
    (CONTROL | USER, b"", True),  # 16 </s>: end of generation
    (NORMAL, b"<start_of_image>", False),  # 17: ordinary text that looks like one
]


def test_tokens_that_are_no_text_are_never_sampled_but_end_of_generation_is() -> None:
    never = never_sampled(
        [attr for attr, _, _ in VOCAB],
        piece=lambda token: VOCAB[token][1],
        is_eog=lambda token: VOCAB[token][2],
    )
    assert never.tolist() == [0, 2, 3, 4, 6, 7, 8, 12, 13]
    assert never.dtype.kind == "i"  # an index array, applied per step in one assignment


def test_the_texts_a_prompt_may_not_write_are_its_control_and_marker_tokens() -> None:
    texts = {
        0: b"<start_of_turn>",
        1: b"<start_of_image>",
        2: b"<b>",
        3: b"hello",
        4: b"[multimodal]",
        5: b"<unused0>",
    }
    attrs = [CONTROL, USER, USER, NORMAL, USER, CONTROL]
    found = special_texts(attrs, lambda token: texts[token])
    assert found == {"<start_of_turn>", "<start_of_image>", "[multimodal]", "<unused0>"}


class RecordingBackend(FakeBackend):
    def __init__(self, scripts: dict[int, str], **kw: Any) -> None:
        super().__init__(scripts, **kw)
        self.params: list[GenerationParams] = []

    def new_sampler(self, params: GenerationParams, seed: int) -> Any:
        self.params.append(params)
        return FakeSampler()


def test_a_batch_takes_one_params_per_prompt(tmp_path: Path) -> None:
    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 4096)
    backend = RecordingBackend({0: "one", 1: "two"}, n_batch=64)
    settings = load_settings(n_ctx=2048, n_parallel=backend.n_seq_max)
    engine = LocalEngine(gguf, settings=settings, backend_factory=lambda path, **kw: backend)
    per = [
        GenerationParams(temperature=0.0, max_tokens=3, banned_words=("F#",)),
        GenerationParams(temperature=0.0, max_tokens=3, banned_words=("vi",)),
    ]
    items = engine.batch(["first", "second"], per, raw=True)
    assert all(item.ok for item in items)
    assert [p.banned_words for p in backend.params] == [("F#",), ("vi",)]
