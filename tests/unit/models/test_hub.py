"""Hub specs and file picking: pure functions, no network."""

from __future__ import annotations

import pytest

from music_reasoning.errors import InvalidInputError, ModelUnavailableError
from music_reasoning.models.hub import (
    HubSpec,
    RepoFile,
    auth_headers,
    hub_repo_of,
    is_hub_spec,
    parse_hub_spec,
    pick_file,
    quantizations,
)
from music_reasoning.models.registry import parse_spec

BARTOWSKI = [
    RepoFile("README.md"),
    RepoFile("Qwen2.5-1.5B-Instruct-Q4_K_M.gguf", 986_048_000, "a" * 64),
    RepoFile("Qwen2.5-1.5B-Instruct-Q4_K.gguf", 1, "b" * 64),
    RepoFile("Qwen2.5-1.5B-Instruct-Q4_K_L.gguf", 1, "c" * 64),
    RepoFile("Qwen2.5-1.5B-Instruct-q8_0.gguf", 1, "d" * 64),
    RepoFile("Qwen2.5-1.5B-Instruct-IQ3_XXS.gguf", 1, "e" * 64),
    RepoFile("Qwen2.5-1.5B-Instruct-f16.gguf", 1, "f" * 64),
    RepoFile("mmproj-Qwen2.5-Q4_K_M.gguf", 1, "0" * 64),
    RepoFile("big/Qwen2.5-1.5B-Instruct-Q6_K-00002-of-00002.gguf", 1, "1" * 64),
    RepoFile("big/Qwen2.5-1.5B-Instruct-Q6_K-00001-of-00002.gguf", 1, "2" * 64),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("hf.co/bartowski/Qwen2.5-1.5B-GGUF", HubSpec("bartowski/Qwen2.5-1.5B-GGUF")),
        ("hf.co/a/b:q4_k_m", HubSpec("a/b", "Q4_K_M")),
        ("HF.CO/a/b:IQ3_XXS", HubSpec("a/b", "IQ3_XXS")),
        ("huggingface.co/unsloth/x_y.z:UD-Q4_K_XL", HubSpec("unsloth/x_y.z", "UD-Q4_K_XL")),
    ],
)  # fmt: skip
def test_hub_specs_parse(spec: str, expected: HubSpec) -> None:
    assert is_hub_spec(spec)
    assert parse_hub_spec(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "hf.co/", "hf.co/a", "hf.co/a/b/c", "hf.co/a/b:", "hf.co/a/b:Q4 K", "hf.co/-a/b",
        "hf.co/a/b-", "hf.co/a--b/c", "hf.co/a/..", "hf.co/../b", "hf.co/a/b:c:d",
        "hf.co/a/b\x00", "hf.co/a/" + "b" * 100, "hf.co/ä/b", "gemma3-270m",
    ],
)  # fmt: skip
def test_bad_hub_specs_are_invalid_input(spec: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_hub_spec(spec)
    assert "hf.co/OWNER/REPO" in caught.value.suggestion


def test_the_default_quantization_is_q4_k_m() -> None:
    assert parse_hub_spec("hf.co/a/b").wanted == "Q4_K_M"
    assert HubSpec("a/b").name == "hf.co/a/b"


@pytest.mark.parametrize(
    ("quant", "path"),
    [
        ("Q4_K_M", "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf"),
        ("Q4_K", "Qwen2.5-1.5B-Instruct-Q4_K.gguf"),  # a whole word, not a prefix of Q4_K_M
        ("Q8_0", "Qwen2.5-1.5B-Instruct-q8_0.gguf"),  # case-insensitive
        ("F16", "Qwen2.5-1.5B-Instruct-f16.gguf"),
        ("IQ3_XXS", "Qwen2.5-1.5B-Instruct-IQ3_XXS.gguf"),
    ],
)
def test_the_file_naming_the_quantization_is_picked(quant: str, path: str) -> None:
    assert pick_file(BARTOWSKI, quant).path == path


def test_projectors_and_later_shards_are_not_models() -> None:
    assert quantizations(BARTOWSKI) == [
        "F16",
        "IQ3_XXS",
        "Q4_K",
        "Q4_K_L",
        "Q4_K_M",
        "Q6_K",
        "Q8_0",
    ]


def test_a_root_file_wins_over_one_in_a_folder() -> None:
    files = [RepoFile("old/m-Q4_K_M.gguf"), RepoFile("m-Q4_K_M.gguf")]
    assert pick_file(files, "Q4_K_M").path == "m-Q4_K_M.gguf"


def test_a_missing_quantization_lists_those_that_exist() -> None:
    with pytest.raises(InvalidInputError) as caught:
        pick_file(BARTOWSKI, "Q5_K_M", repo_id="bartowski/Qwen")
    assert "Q4_K_M, Q6_K, Q8_0" in caught.value.message
    assert "hf.co/bartowski/Qwen:Q8_0" in caught.value.suggestion
    assert caught.value.details["available"][0] == "F16"


def test_a_split_file_is_refused_with_a_way_out() -> None:
    with pytest.raises(InvalidInputError, match="split"):
        pick_file(BARTOWSKI, "Q6_K")


def test_a_repository_without_gguf_is_unavailable() -> None:
    with pytest.raises(ModelUnavailableError, match="no GGUF"):
        pick_file([RepoFile("model.safetensors"), RepoFile("config.json")], "Q4_K_M")


def test_registry_specs_split_hub_tags() -> None:
    assert parse_spec("hf.co/a/b:ud-q4_k_xl") == ("hf.co/a/b", "UD-Q4_K_XL")
    assert parse_spec("hf.co/a/b") == ("hf.co/a/b", None)
    assert parse_spec("core3b:v4.8:Q8_0") == ("core3b:v4.8", "Q8_0")


def test_the_token_goes_to_the_hub_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    hub = "http://127.0.0.1:9/a/b/resolve/main/m.gguf"
    assert auth_headers([hub]) == {"authorization": "Bearer hf_secret"}
    assert auth_headers([hub, "http://mirror.example/m.gguf"]) == {}
    assert auth_headers(["http://127.0.0.1:10/m.gguf"]) == {}


def test_the_repository_of_a_pinned_hub_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert hub_repo_of(["http://127.0.0.1:9/a/b/resolve/0123/m.gguf"]) == "a/b"
    assert hub_repo_of(["http://mirror.example/a/b/resolve/0123/m.gguf"]) is None
    assert hub_repo_of(["http://127.0.0.1:9/m.gguf"]) is None
    assert hub_repo_of([]) is None
