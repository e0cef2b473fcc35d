"""The curated instruct models: valid data, `models list --available`, `models recommend`."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from music_reasoning.cli.main import cli
from music_reasoning.models.recommend import (
    HEADROOM,
    Machine,
    available_models,
    curated_models,
    recommend,
)

GiB = 2**30
EXPECTED = {
    "qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct", "qwen2.5-3b-instruct",
    "llama3.2-1b-instruct", "llama3.2-3b-instruct", "gemma3-1b-it", "gemma3-4b-it",
    "phi3.5-mini-instruct", "smollm2-1.7b-instruct",
}  # fmt: skip
QUANT_IN_FILE = re.compile(r"[-_.](q4_k_m|q8_0)\.gguf$", re.IGNORECASE)


def test_every_curated_entry_is_complete() -> None:
    entries = {e.name: e for e in curated_models()}
    assert set(entries) == EXPECTED
    for name, e in entries.items():
        assert re.fullmatch(r"hf\.co/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+-GGUF", e.upstream or ""), name
        assert e.license and e.license != "unknown", name
        assert e.context_length >= 4096, name
        assert e.prompt_format == "chat" and e.chat_template in {
            "chatml",
            "llama3",
            "gemma",
            "phi3",
        }
        assert e.parameters and 1e8 < e.parameters < 1e10, name
        assert e.default_variant == "Q4_K_M" and set(e.variants) == {"Q4_K_M", "Q8_0"}, name
        assert e.description, name
        for q, v in e.variants.items():
            assert v.filename.endswith(".gguf") and "/" not in v.filename, (name, q)
            found = QUANT_IN_FILE.search(v.filename)
            assert found and found.group(1).upper() == q, (name, q, v.filename)
            assert v.approx_size and v.approx_size > 10**8, (name, q)
            assert v.ram and v.ram > v.approx_size, (name, q)  # the file plus a KV cache
            # exact size, checksum and URL are pinned from the Hub at the first pull
            assert v.size is None and v.sha256 is None and not v.urls, (name, q)
        q4, q8 = e.variants["Q4_K_M"], e.variants["Q8_0"]
        assert (q8.approx_size or 0) > (q4.approx_size or 0), name


def test_list_available_shows_curated_models_offline() -> None:
    result = CliRunner().invoke(cli, ["models", "list", "--available", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["name"] for r in rows} == EXPECTED and len(rows) == 2 * len(EXPECTED)
    assert all(r["source"].startswith("hf.co/") and not r["installed"] for r in rows)
    text = CliRunner().invoke(cli, ["models", "list", "--available"]).stdout
    assert "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF" in text
    plain = CliRunner().invoke(cli, ["models", "list", "--json"]).stdout
    assert not {r["name"] for r in json.loads(plain)} & EXPECTED  # only when installed
    assert available_models() == rows


def machine(free_gib: float, *, gpu: bool = False) -> Machine:
    return Machine(int(free_gib * GiB), 16 * GiB, gpu, "cuda" if gpu else "cpu")


@pytest.mark.parametrize(
    ("free_gib", "expected"),
    [
        (64, "gemma3-4b-it:Q8_0"),  # the largest model, and Q8_0 fits
        (5, "gemma3-4b-it:Q4_K_M"),  # 3.3 GB <= 80% of 5 GiB; Q8_0 (5 GB) does not
        (2, "qwen2.5-1.5b-instruct:Q4_K_M"),  # 1.5 GB; the 3B models need 2.5+
        (1.0, "qwen2.5-0.5b-instruct:Q8_0"),
    ],
)
def test_recommend_picks_the_largest_model_that_fits(free_gib: float, expected: str) -> None:
    r = recommend(machine(free_gib))
    assert (r.model, r.fits) == (expected, True)
    assert r.ram is not None and r.ram <= free_gib * GiB * HEADROOM
    assert "CPU-only" in r.reasons[2] and r.license
    assert r.pull == expected and (r.upstream or "").startswith("hf.co/")


def test_recommend_says_when_nothing_fits_and_names_the_gpu() -> None:
    r = recommend(machine(0.5))
    assert (r.model, r.fits) == ("qwen2.5-0.5b-instruct:Q4_K_M", False)
    assert "gemma3-270m" in r.reasons[0]
    assert "GPU build (cuda)" in recommend(machine(8, gpu=True)).reasons[2]


def test_recommend_cli_json() -> None:
    result = CliRunner().invoke(cli, ["models", "recommend", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["machine"]["available_memory"] > 0 and data["reasons"]
    assert data["model"] is None or data["model"].split(":")[0] in EXPECTED
    text = CliRunner().invoke(cli, ["models", "recommend"]).stdout
    assert f"models pull {data['model']}" in text or data["model"] is None
