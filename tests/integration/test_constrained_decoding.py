"""Banned words on the real embedded model: the token rules, and greedy output without them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from music_reasoning.engine._llama import LlamaBackend
from music_reasoning.engine.local import LocalEngine
from music_reasoning.params import GenerationParams
from music_reasoning.sdk.constrain import word_constraint
from music_reasoning.sdk.facts import chord_facts
from music_reasoning.sdk.verify import extract_claims
from music_reasoning.theory import build_chord

GREEDY = GenerationParams(temperature=0.0, max_tokens=16, seed=7)


@pytest.fixture(scope="module")
def backend(model_path: Path) -> Iterator[LlamaBackend]:
    b = LlamaBackend(model_path, n_ctx=256, n_seq_max=1, n_threads=1, n_gpu_layers=0)
    yield b
    b.close()


def pieces(backend: LlamaBackend, ids: tuple[int, ...]) -> set[bytes]:
    return {backend.piece(i) for i in ids}


def test_single_token_words_are_banned_with_and_without_a_space(backend: LlamaBackend) -> None:
    bans = backend.bans(("vi", "IV", "Bb"))
    assert {b" vi", b"vi", b" IV", b"IV", b" Bb", b"Bb"} <= pieces(backend, bans.always)
    assert b" V" not in pieces(backend, bans.always) and b" B" not in pieces(backend, bans.always)


def test_f_sharp_is_two_tokens_so_the_sharp_is_banned_after_the_f(backend: LlamaBackend) -> None:
    # This vocabulary has no " F#" token: " F" then "#" (or "#," "#m" ...).
    assert [backend.piece(t) for t in backend.tokenize(" F#", add_special=False)] == [b" F", b"#"]
    bans = backend.bans(("F#",), ("F",))
    f = tuple(backend.tokenize(" F", add_special=False))
    assert b"#" in pieces(backend, bans.after[f]) and b"#," in pieces(backend, bans.after[f])
    assert bans.always == () and bans.ids(list(f))[0]
    assert bans.ids(backend.tokenize(" E", add_special=False))[0] == []  # other letters go on


def test_a_banned_word_that_begins_an_allowed_one_must_go_on_into_it(
    backend: LlamaBackend,
) -> None:
    bans = backend.bans(("F",), ("F#",))
    f = tuple(backend.tokenize(" F", add_special=False))
    assert f[0] not in bans.always
    assert b"#" in pieces(backend, bans.only[f])


@pytest.mark.parametrize(
    ("prompt", "banned", "allowed", "word"),
    [
        ("The C major scale: C, D, E, F, G, A,", ("B",), (), "B"),
        (
            "The D major scale: D, E, F#, G, A, B, C#, D. The D major chord: D,",
            ("F#",),
            ("F",),
            "F#",
        ),
        ("Notes: F, F, F, F, F, F,", ("F",), ("F#",), "F"),
    ],
)
def test_greedy_output_never_writes_a_banned_word(
    engine: LocalEngine, prompt: str, banned: tuple[str, ...], allowed: tuple[str, ...], word: str
) -> None:
    free = engine.complete(prompt, GREEDY, raw=True).text
    assert word in extract_claims(free).notes  # the prompt makes the model write it
    params = replace(GREEDY, banned_words=banned, allowed_words=allowed)
    constrained = engine.complete(prompt, params, raw=True).text
    assert constrained.strip()
    assert word not in extract_claims(constrained).notes


def test_a_grounded_answer_names_no_note_outside_the_chord(engine: LocalEngine) -> None:
    facts = chord_facts(build_chord("D"))
    words = word_constraint(facts)
    params = replace(
        GREEDY, max_tokens=40, stop=("\n",), banned_words=words.banned, allowed_words=words.allowed
    )
    text = engine.complete("The notes of the D major chord are D,", params, raw=True).text
    names = {n for n in extract_claims(text).notes}
    assert names <= {"D", "F#", "Gb", "A", "Bbb"}


def _writable(backend: LlamaBackend, bans: object, text: str) -> bool:
    """Whether every token of ``text`` may follow the ones before it under ``bans``."""
    tokens = backend.tokenize(text, add_special=False)
    for i, token in enumerate(tokens):
        banned, only = bans.ids(tokens[:i])  # type: ignore[attr-defined]
        if token in banned or (only is not None and token not in only):
            return False
    return True


def test_a_seventh_interval_stays_writable_where_its_chord_type_is_banned(
    backend: LlamaBackend,
) -> None:
    words = word_constraint(chord_facts(build_chord("C7")))
    bans = backend.bans(words.banned, words.allowed)
    assert _writable(backend, bans, " It has a minor seventh above the root.")
    assert not _writable(backend, bans, " It is a minor seventh chord.")
    assert not _writable(backend, bans, " It is a minor chord.")
