from __future__ import annotations

from pathlib import Path

import pytest

from music_reasoning.errors import InvalidInputError, ModelUnavailableError
from music_reasoning.models.registry import (
    add_user_model,
    forget_user_model,
    get_model,
    load_registry,
    parse_spec,
    user_registry_path,
)

SHA = "ab" * 32


def test_builtin_entries_ship_as_data() -> None:
    registry = load_registry()
    assert {"gemma3-270m", "core3b:v4.5", "core3b:v4.8"} <= set(registry)
    gemma = registry["gemma3-270m"]
    assert gemma.embedded and gemma.prompt_format == "base"
    assert gemma.variant().sha256 and gemma.variant().quantization == "Q4_K_M"
    assert set(registry["core3b:v4.8"].variants) == {"Q4_K_M", "Q8_0", "F16"}


def test_weaknesses_route_around_only_where_they_apply() -> None:
    v45, v48 = get_model("core3b:v4.5"), get_model("core3b:v4.8")
    assert "backdoor_progression" in v45.route_around()
    assert v45.weaknesses[0].fixed_in == "core3b:v4.8"
    assert v48.route_around() == {}


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("gemma3-270m", ("gemma3-270m", None)),
        ("gemma3-270m:q8_0", ("gemma3-270m", "Q8_0")),
        ("core3b:v4.8", ("core3b:v4.8", None)),
        ("core3b:v4.8:F16", ("core3b:v4.8", "F16")),
    ],
)
def test_parse_spec(spec: str, parsed: tuple[str, str | None]) -> None:
    assert parse_spec(spec) == parsed


def test_unknown_model_and_variant_name_the_known_ones() -> None:
    with pytest.raises(ModelUnavailableError) as exc:
        get_model("nope")
    assert "gemma3-270m" in exc.value.suggestion
    with pytest.raises(ModelUnavailableError) as exc:
        get_model("core3b:v4.8").variant("Q2_K")
    assert "core3b:v4.8:Q8_0" in exc.value.suggestion


def test_user_entries_are_stored_merged_and_forgotten(tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 2048)
    entry = add_user_model("mine", path=gguf, prompt_format="base")
    assert entry.source == "user" and entry.variant().path == str(gguf.resolve())
    # URLs and checksums of a built-in variant are configuration, merged over it.
    merged = add_user_model(
        "core3b:v4.8:Q8_0", urls=["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"], sha256=SHA
    )
    assert merged.source == "builtin+user" and merged.default_variant == "Q4_K_M"
    assert merged.variant("Q8_0").urls == ("http://127.0.0.1:1/a", "http://127.0.0.1:1/b")
    assert merged.license == "see the model card"  # the rest still comes from the package
    assert user_registry_path().is_file()
    assert forget_user_model("mine") and "mine" not in load_registry()
    assert not forget_user_model("mine")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({}, "--path"),
        ({"urls": ["http://x/y"]}, "sha256"),
        ({"urls": ["http://x/y"], "sha256": "abc"}, "64 hex"),
        ({"urls": ["http://x/y"], "sha256": SHA, "quantization": "best"}, "quantization"),
    ],
)
def test_bad_user_entries_are_invalid_input(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        add_user_model("mine", **kwargs)  # type: ignore[arg-type]
    assert needle in exc.value.message


def test_a_broken_user_registry_is_a_clear_error() -> None:
    user_registry_path().parent.mkdir(parents=True, exist_ok=True)
    user_registry_path().write_text("[models\nbroken")
    with pytest.raises(InvalidInputError) as exc:
        load_registry()
    assert str(user_registry_path()) in exc.value.message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[models]\n"mine" = 3\n', "expected a table"),
        ('[models.mine]\nvariants = "Q4_0"\n', "'variants' must be a table"),
        ("[models.mine.variants]\nQ4_0 = 1\n", "variant 'Q4_0'"),
        ('[models.mine.variants.Q4_0]\nfilename = "../../etc/x.gguf"\n', "plain name"),
        ('[models.mine.variants.Q4_0]\nfilename = "sub/x.gguf"\n', "plain name"),
        ("[models.mine]\nweaknesses = [1]\n", "malformed"),
        ('[models."../../mine".variants.Q4_0]\nurls = []\n', "model name"),
        ('[models.mine.variants."../../../tmp"]\nurls = []\n', "not a quantization"),
        ("[models.mine.variants.q4_0]\n[models.mine.variants.Q4_0]\n", "repeated"),
    ],
)
def test_malformed_user_tables_are_invalid_input(text: str, needle: str) -> None:
    user_registry_path().parent.mkdir(parents=True, exist_ok=True)
    user_registry_path().write_text(text)
    with pytest.raises(InvalidInputError) as exc:
        load_registry()
    assert needle in exc.value.message and "mine" in exc.value.message


def test_a_user_table_cannot_mark_a_file_embedded_or_shadow_a_variant_by_case() -> None:
    user_registry_path().parent.mkdir(parents=True, exist_ok=True)
    user_registry_path().write_text(
        '[models."gemma3-270m".variants.q4_k_m]\nembedded = false\nurls = ["http://127.0.0.1:1/g"]\n'
        '[models.mine.variants.q4_0]\nembedded = true\nurls = ["http://127.0.0.1:1/m"]\n'
    )
    registry = load_registry()
    gemma = registry["gemma3-270m"]
    assert list(gemma.variants) == ["Q4_K_M"] and gemma.variant().embedded
    assert gemma.variant().urls == ("http://127.0.0.1:1/g",)
    assert not registry["mine"].embedded and list(registry["mine"].variants) == ["Q4_0"]
    assert forget_user_model("mine:Q4_0") and "mine" not in load_registry()  # nothing left


def test_forgetting_the_default_variant_moves_the_default(tmp_path: Path) -> None:
    a, b = tmp_path / "a.gguf", tmp_path / "b.gguf"
    for f in (a, b):
        f.write_bytes(b"GGUF" + b"\0" * 2048)
    add_user_model("mine:Q4_K_M", path=a)
    add_user_model("mine:Q8_0", path=b)
    assert get_model("mine").default_variant == "Q4_K_M"
    assert forget_user_model("mine:Q4_K_M")
    assert get_model("mine").default_variant == "Q8_0" and get_model("mine").variant().path
