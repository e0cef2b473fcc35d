"""A user registry cannot redefine what a built-in entry ships (its checksum, file, license)."""

from __future__ import annotations

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.models.registry import (
    add_user_model,
    get_model,
    load_registry,
    user_registry_path,
)

ZERO = "0" * 64
EMBEDDED_SHA = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def test_adding_the_embedded_model_with_another_checksum_is_refused() -> None:
    with pytest.raises(InvalidInputError) as exc:
        add_user_model("gemma3-270m", urls=["http://127.0.0.1:1/g.gguf"], sha256=ZERO)
    assert "built-in" in exc.value.message and "variants.Q4_K_M.sha256" in exc.value.message
    assert "another name" in exc.value.suggestion and "my-gemma3-270m" in exc.value.suggestion
    assert not user_registry_path().exists()  # nothing written
    assert get_model("gemma3-270m").variant().sha256 == EMBEDDED_SHA


@pytest.mark.parametrize(
    ("spec", "options"),
    [
        ("gemma3-270m", {"license": "mine"}),
        ("core3b:v4.8", {"urls": ["http://127.0.0.1:1/c"], "sha256": "ab" * 32, "license": "x"}),
        ("core3b:v4.8", {"urls": ["http://127.0.0.1:1/c"], "sha256": "ab" * 32, "size": 1,
                         "context_length": 99}),
    ],
)  # fmt: skip
def test_built_in_values_cannot_be_changed(spec: str, options: dict[str, object]) -> None:
    options.setdefault("urls", ["http://127.0.0.1:1/g"])
    options.setdefault("sha256", EMBEDDED_SHA)
    with pytest.raises(InvalidInputError) as exc:
        add_user_model(spec, **options)  # type: ignore[arg-type]
    assert exc.value.details["model"] == spec


def test_a_built_in_model_still_takes_urls_it_lacks_and_new_variants() -> None:
    add_user_model("core3b:v4.8:Q8_0", urls=["http://127.0.0.1:1/q8"], sha256="ab" * 32)
    add_user_model("gemma3-270m:Q8_0", urls=["http://127.0.0.1:1/g8"], sha256="cd" * 32)
    registry = load_registry()
    assert registry["core3b:v4.8"].variant("Q8_0").sha256 == "ab" * 32
    assert registry["gemma3-270m"].variant("Q8_0").urls == ("http://127.0.0.1:1/g8",)
    assert registry["gemma3-270m"].variant().sha256 == EMBEDDED_SHA


def test_a_registry_file_that_redefines_a_built_in_is_reported_and_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    user_registry_path().parent.mkdir(parents=True, exist_ok=True)
    user_registry_path().write_text(
        '[models."gemma3-270m"]\nlicense = "mine"\n'
        f'[models."gemma3-270m".variants.Q4_K_M]\nsha256 = "{ZERO}"\nsize = 5\n'
        '[models."core3b:v4.8".variants.Q8_0]\nurls = ["http://127.0.0.1:1/q8"]\n'
        f'sha256 = "{"ab" * 32}"\n'
    )
    with caplog.at_level("WARNING", logger="music_reasoning"):
        registry = load_registry()
    gemma = registry["gemma3-270m"]
    assert (gemma.variant().sha256, gemma.variant().size, gemma.license) == (
        EMBEDDED_SHA,
        253113024,
        "gemma",
    )
    assert registry["core3b:v4.8"].variant("Q8_0").sha256 == "ab" * 32  # filled in: kept
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "gemma3-270m" in warned[0]
    for key in ("license", "variants.Q4_K_M.sha256", "variants.Q4_K_M.size"):
        assert key in warned[0]
