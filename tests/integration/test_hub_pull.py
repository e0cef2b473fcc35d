"""``models pull hf.co/OWNER/REPO:QUANT`` against a loopback Hugging Face Hub.

The Hub (:mod:`tests.support.hub_server`) speaks what ``huggingface_hub`` asks for;
``HF_ENDPOINT`` points at it, ``HF_HOME`` is a temporary folder and no token is set unless
a test sets one.  The first test serves the real embedded model as a repository's Q4_K_M
file and drives the CLI as a user would (real processes): pull, list, ask with
``--model hf.co/...``.  The others use a small GGUF-looking file and the library call
where a fault must land mid-transfer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from music_reasoning.errors import CorruptedModelError, DownloadError
from music_reasoning.models import store
from music_reasoning.models.registry import get_model, load_registry, user_registry_path
from tests.support.hub_server import COMMIT, TOKEN, HubRepo, HubServer

ROOT = Path(__file__).resolve().parents[2]
SMALL = b"GGUF" + bytes(range(256)) * 64  # 16 KiB that starts like a model file
SPEC = "hf.co/acme/Tiny-GGUF"
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """HF_* variables for a loopback Hub: online, no telemetry, no token, a private HF_HOME."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", *_PROXY_VARS):
        monkeypatch.delenv(var, raising=False)
    yield


def small_hub(monkeypatch: pytest.MonkeyPatch, **repo: object) -> HubServer:
    files = {
        "tiny-Q4_K_M.gguf": SMALL,
        "tiny-Q8_0.gguf": SMALL + b"8",
        "sub/tiny-IQ3_XXS.gguf": SMALL + b"3",
        "README.md": b"# tiny\n",
    }
    server = HubServer([HubRepo("acme/Tiny-GGUF", files, **repo)])  # type: ignore[arg-type]
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    return server


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "music_reasoning.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MUSIC_REASONING_TIMEOUT": "120"},
        cwd=ROOT,
    )


def test_pull_verifies_pins_lists_and_answers_with_the_hub_model(
    hub_env: None, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = model_path.read_bytes()
    repo = HubRepo(
        "acme/Gemma-GGUF",
        {"gemma-3-270m-Q4_K_M.gguf": data, "gemma-3-270m-Q8_0.gguf": SMALL},
        license="gemma",
    )
    with HubServer([repo]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        pulled = cli("models", "pull", "hf.co/acme/Gemma-GGUF", "--quiet")
        assert pulled.returncode == 0, pulled.stderr
        path = Path(pulled.stdout.strip().splitlines()[-1])
        assert path.name == "gemma-3-270m-Q4_K_M.gguf" and path.stat().st_size == len(data)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        assert not list(path.parent.glob("*.partial*"))
        pinned = user_registry_path().read_text()
        assert '[models."hf.co/acme/Gemma-GGUF".variants.Q4_K_M]' in pinned
        assert hashlib.sha256(data).hexdigest() in pinned and f"/resolve/{COMMIT}/" in pinned

    # the Hub is gone: everything below runs from the pinned entry and the store
    listed = cli("models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "hf.co/acme/Gemma-GGUF")
    assert row["variant"] == "Q4_K_M" and row["installed"] and row["verified"]
    again = cli("models", "pull", "hf.co/acme/Gemma-GGUF:Q4_K_M", "--quiet", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["model"] == "hf.co/acme/Gemma-GGUF:Q4_K_M" and Path(report["path"]) == path
    assert report["sha256"] == hashlib.sha256(data).hexdigest()
    asked = cli(
        "ask", "--model", "hf.co/acme/gemma-gguf:q4_k_m", "--max-tokens", "8", "--json",
        "What is a cadence?",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    assert isinstance(json.loads(asked.stdout)["answer"], str)


def test_bytes_that_do_not_match_the_published_hash_leave_no_model(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_hub(monkeypatch) as hub:
        hub.behave("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", corrupt_at=100)
        with pytest.raises(CorruptedModelError) as caught:
            store.pull(SPEC, progress=False)
        assert caught.value.suggestion
        folder = store.models_dir() / "hf.co" / "acme" / "Tiny-GGUF" / "Q4_K_M"
        assert not [p for p in folder.iterdir() if not p.name.endswith(".lock")]
        assert not user_registry_path().exists()  # nothing pinned
        out = cli("models", "pull", SPEC, "--quiet")  # the CLI says the same, coded
        assert out.returncode == 4 and "error [CORRUPTED_MODEL]" in out.stderr, out.stderr
        assert "suggestion:" in out.stderr


def test_a_connection_dropped_mid_file_resumes_on_the_next_pull(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_hub(monkeypatch) as hub:
        hub.behave("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", drop_after=5000, drop_times=1)
        with pytest.raises(DownloadError):
            store.pull(SPEC, progress=False, retries=0)
        folder = store.models_dir() / "hf.co" / "acme" / "Tiny-GGUF" / "Q4_K_M"
        partial = folder / "tiny-Q4_K_M.gguf.partial"
        assert partial.stat().st_size == 5000 and not (folder / "tiny-Q4_K_M.gguf").exists()
        out = cli("models", "pull", SPEC, "--quiet")
        assert out.returncode == 0, out.stderr
        gets = hub.cdn("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf").gets
        assert gets[-1].range_start == 5000 and gets[-1].status == 206
        assert (folder / "tiny-Q4_K_M.gguf").read_bytes() == SMALL
        assert sum(g.sent for g in gets) == len(SMALL)  # nothing fetched twice


def test_a_gated_repository_asks_for_hf_token_and_the_token_stays_on_the_hub(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_hub(monkeypatch, gated=True) as hub:
        out = cli("models", "pull", SPEC, "--quiet")
        assert out.returncode == 8 and "error [DOWNLOAD_FAILED]" in out.stderr, out.stderr
        assert "HF_TOKEN" in out.stderr and "401" in out.stderr
        monkeypatch.setenv("HF_TOKEN", "hf_not_granted")
        with pytest.raises(DownloadError) as caught:
            store.pull(SPEC, progress=False)
        assert caught.value.status_code == 403 and "HF_TOKEN" in caught.value.suggestion
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        assert store.pull(SPEC, progress=False).read_bytes() == SMALL
        assert any(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)
        cdn = hub.cdn("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf").requests
        assert cdn and not any("authorization" in r.headers for r in cdn)
        assert TOKEN not in user_registry_path().read_text()
        store.remove(SPEC)  # the file goes, the pin stays: a pull without a token is refused
        monkeypatch.delenv("HF_TOKEN")
        with pytest.raises(DownloadError) as caught:
            store.pull(SPEC, progress=False)
        assert caught.value.status_code == 401 and "HF_TOKEN" in caught.value.suggestion


def test_a_missing_quantization_lists_the_ones_that_exist(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_hub(monkeypatch):
        out = cli("models", "pull", f"{SPEC}:Q5_K_M", "--quiet")
        assert out.returncode == 2 and "error [INVALID_INPUT]" in out.stderr, out.stderr
        assert "IQ3_XXS, Q4_K_M, Q8_0" in out.stderr
        assert f"{SPEC}:Q8_0" in out.stderr  # the suggestion names pullable specs
        path = store.pull(f"{SPEC}:iq3_xxs", progress=False)  # in a folder, any case
        assert path.read_bytes() == SMALL + b"3" and path.parent.name == "IQ3_XXS"
        # load_model(quantization=...) resolves with pull_missing: another file, pulled
        assert store.resolve(f"{SPEC}:Q8_0", pull_missing=True).read_bytes() == SMALL + b"8"


def test_unknown_repositories_bad_specs_and_no_network_are_coded(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_hub(monkeypatch, private=True):
        for spec, code in (
            ("hf.co/acme/Nope-GGUF", "MODEL_UNAVAILABLE"),
            (SPEC, "MODEL_UNAVAILABLE"),  # private, no token: 401 as "not found", says HF_TOKEN
            ("hf.co/acme", "INVALID_INPUT"),
            ("hf.co/acme/x:Q4 K", "INVALID_INPUT"),
        ):
            out = cli("models", "pull", spec, "--quiet")
            assert f"error [{code}]" in out.stderr and "suggestion:" in out.stderr, out.stderr
        assert "HF_TOKEN" in cli("models", "pull", SPEC).stderr
    out = cli("models", "pull", SPEC, "--quiet")  # the Hub is closed now
    assert out.returncode == 8 and "error [DOWNLOAD_FAILED]" in out.stderr, out.stderr
    out = cli("ask", "--model", SPEC, "What is a triad?")  # never pulled: says how
    assert "error [MODEL_UNAVAILABLE]" in out.stderr and "models pull" in out.stderr


def test_a_curated_entry_is_pulled_from_its_hub_source_and_then_pinned(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = next(e for e in load_registry().values() if e.curated)
    variant = entry.variant()
    repo_id = str(entry.upstream).removeprefix("hf.co/")
    files = {variant.filename: SMALL, f"other-{variant.filename}": SMALL + b"x"}
    with HubServer([HubRepo(repo_id, files)]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        path = store.pull(entry.name, progress=False)
        assert path.read_bytes() == SMALL and path.name == variant.filename
    pinned = get_model(entry.name).variant()
    assert pinned.sha256 == hashlib.sha256(SMALL).hexdigest() and pinned.urls
    assert store.pull(entry.name, progress=False) == path  # offline now: the pinned file
    row = next(r for r in store.list_models() if r.name == entry.name and r.installed)
    assert row.verified and row.variant == variant.quantization
