"""Property tests: any string input either succeeds or raises InvalidInputError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from music_reasoning.errors import InvalidInputError
from music_reasoning.theory import (
    SCALE_TYPES,
    analyze_progression,
    build_chord,
    get_scale,
    identify_chord,
)
from music_reasoning.theory._chord_table import ALTERATIONS, SUFFIX_ALIASES
from music_reasoning.theory.notes import pitch_class

PROPS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_LETTERS = st.sampled_from("ABCDEFG")
ROOTS = st.builds(str.__add__, _LETTERS, st.sampled_from(["", "#", "b"]))
NOTES = st.builds(str.__add__, _LETTERS, st.sampled_from(["", "#", "b", "##", "bb", "x"]))
SUFFIXES = st.sampled_from(sorted(SUFFIX_ALIASES))
MUSICAL_TEXT = st.text(alphabet="ABCDEFGHabcdefgx#b-♯♭/()+mjaiosud0123456789 ,|°øΔM", max_size=10)
ANY_TEXT = st.one_of(st.text(max_size=12), MUSICAL_TEXT)
SYMBOLS = st.builds(
    lambda root, suffix, alterations: root + suffix + "".join(alterations),
    ROOTS,
    SUFFIXES,
    st.lists(st.sampled_from(sorted(ALTERATIONS)), max_size=2),
)
TOKENS = st.one_of(ANY_TEXT, NOTES, SYMBOLS)


def _ok_or_invalid(func: Callable[..., Any], *args: Any) -> Any:
    try:
        return func(*args)
    except InvalidInputError as exc:
        assert exc.code == "INVALID_INPUT"
        assert "token" in exc.details or "count" in exc.details
        return None


@PROPS
@given(ANY_TEXT, ANY_TEXT)
def test_random_text_only_raises_invalid_input(a: str, b: str) -> None:
    _ok_or_invalid(build_chord, a)
    _ok_or_invalid(identify_chord, a)
    _ok_or_invalid(get_scale, a, b)
    _ok_or_invalid(analyze_progression, a)


@PROPS
@given(st.lists(TOKENS, max_size=8))
def test_random_token_lists_only_raise_invalid_input(tokens: list[str]) -> None:
    chord = _ok_or_invalid(identify_chord, tokens)
    if chord is not None:
        given_pcs = {pitch_class(t) for t in tokens}
        assert {pitch_class(n) for n in chord.notes} == given_pcs
    info = _ok_or_invalid(analyze_progression, tokens)
    if info is not None:
        assert len(info.analysis) == len(tokens)
        assert all(0 <= p < len(tokens) for c in info.cadences for p in c.positions)


@PROPS
@given(st.lists(NOTES, min_size=1, max_size=8))
def test_identify_keeps_exactly_the_given_pitch_classes(notes: list[str]) -> None:
    chord = _ok_or_invalid(identify_chord, notes)
    if chord is not None:
        assert {pitch_class(n) for n in chord.notes} == {pitch_class(n) for n in notes}
        assert pitch_class(chord.bass) == pitch_class(notes[0])
        assert 0.0 < chord.confidence <= 1.0


@PROPS
@given(ROOTS, st.sampled_from(SCALE_TYPES))
def test_scales_start_on_the_root_with_the_right_size(root: str, scale_type: str) -> None:
    scale = get_scale(root, scale_type)
    sizes = {"major_pentatonic": 5, "minor_pentatonic": 5, "blues": 6, "whole_tone": 6}
    sizes |= {"diminished": 8, "diminished_half_whole": 8, "chromatic": 12}
    assert scale.notes[0] == root
    assert len(scale.notes) == sizes.get(scale_type, 7)
    assert len({pitch_class(n) for n in scale.notes}) == len(scale.notes)
    assert len(scale.formula.split("-")) == len(scale.notes)
    assert [d.number for d in scale.degrees] == list(range(1, len(scale.notes) + 1))


@PROPS
@given(ROOTS, SUFFIXES)
def test_build_then_identify_gives_the_same_root(root: str, suffix: str) -> None:
    built = build_chord(root + suffix)
    identified = identify_chord(list(built.notes))
    assert pitch_class(identified.root) == pitch_class(built.root)
    assert identified.quality == built.quality


@PROPS
@given(SYMBOLS, st.one_of(st.none(), NOTES))
def test_canonical_symbols_parse_back_to_the_same_chord(symbol: str, bass: str | None) -> None:
    text = symbol if bass is None else f"{symbol}/{bass}"
    built = _ok_or_invalid(build_chord, text)
    if built is not None:
        again = build_chord(built.symbol)
        assert again.symbol == built.symbol
        assert [pitch_class(n) for n in again.notes] == [pitch_class(n) for n in built.notes]
        assert pitch_class(again.bass) == pitch_class(built.bass)
