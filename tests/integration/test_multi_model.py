"""Two real models side by side: the embedded Q4_K_M and a Q4_0 made from it locally
with llama.cpp's quantizer; LRU eviction within a budget, keep-alive, registry names."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from music_reasoning.cli.main import main
from music_reasoning.config import load_settings
from music_reasoning.engine import runtime
from music_reasoning.engine.pool import EnginePool
from music_reasoning.engine.quantize import quantize_model
from music_reasoning.params import GenerationParams

GREEDY = GenerationParams(temperature=0.0, max_tokens=8, timeout=120)
QUESTION = "What notes are in a C major chord?"


@pytest.fixture(scope="module")
def home(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home holding the embedded model and its locally quantized Q4_0 variant."""
    home = tmp_path_factory.mktemp("multi-home")
    models = home / "cache" / "models"
    models.mkdir(parents=True)
    for f in model_path.parent.iterdir():
        if f.name.endswith((".gguf", ".sha256")):
            os.link(f, models / f.name)
    mp = pytest.MonkeyPatch()
    mp.setenv("MUSIC_REASONING_HOME", str(home))
    try:
        result = quantize_model("gemma3-270m", "Q4_0", allow_requantize=True)
        assert result.requantized and Path(result.path).is_file()
    finally:
        mp.undo()
    yield home


@pytest.fixture
def in_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MUSIC_REASONING_HOME", str(home))
    yield home


def small_pool(**kw: object) -> EnginePool:
    return EnginePool(settings=load_settings(n_ctx=512, n_parallel=2), **kw)  # type: ignore[arg-type]


def test_two_models_serve_calls_side_by_side(in_home: Path) -> None:
    pool = small_pool(keep_alive=0)
    names = ["gemma3-270m", "gemma3-270m:Q4_0"]
    answers: dict[int, str] = {}
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            answers[i] = pool.get(names[i % 2]).complete(QUESTION, GREEDY).text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and len(answers) == 6 and all(answers.values())
    engines = pool.engines()
    assert len(engines) == 2 and all(e.is_loaded() for e in engines.values())
    paths = {e.status().path for e in engines.values()}
    assert any(str(p).endswith("q4_0.gguf") for p in paths)
    pool.close()


def test_a_budget_for_one_model_evicts_the_least_recently_used(in_home: Path) -> None:
    probe = small_pool(keep_alive=0)
    one = probe._estimate(str(probe.resolve("gemma3-270m")))
    pool = small_pool(budget_bytes=int(one * 1.5), keep_alive=0)
    a = pool.get("gemma3-270m")
    assert a.complete(QUESTION, GREEDY).text
    b = pool.get("gemma3-270m:Q4_0")
    assert not a.is_loaded()  # made room before b loads
    assert b.complete(QUESTION, GREEDY).text and b.is_loaded()
    assert pool.get("gemma3-270m").complete(QUESTION, GREEDY).text
    assert not b.is_loaded() and a.is_loaded()
    # An engine in use is never evicted: stream on a, then ask b.
    stream = a.stream(QUESTION, GenerationParams(temperature=0.0, max_tokens=40, timeout=120))
    next(iter(stream))
    assert pool.get("gemma3-270m:Q4_0").complete(QUESTION, GREEDY).text
    assert a.is_loaded()
    stream.close()
    pool.close()


def test_idle_models_unload_after_keep_alive(in_home: Path) -> None:
    pool = small_pool(keep_alive=0.5)
    engine = pool.get("gemma3-270m:Q4_0")
    engine.complete(QUESTION, GREEDY)
    deadline = time.monotonic() + 10
    while engine.is_loaded() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not engine.is_loaded()
    assert engine.complete(QUESTION, GREEDY).text  # and it loads again on demand
    pool.close()


def test_load_model_by_quantization_and_use_model(in_home: Path) -> None:
    runtime._pool = None
    try:
        status = runtime.load_model(quantization="Q4_0")
        assert status.loaded and str(status.path).endswith("gemma3-270m-q4_0.gguf")
        assert runtime.use_model("gemma3-270m:Q4_0").endswith("q4_0.gguf")
        assert runtime.generate_explanation(QUESTION, max_tokens=8, temperature=0.0)
        assert str(runtime.get_model_status().path).endswith("q4_0.gguf")
    finally:
        if runtime._pool is not None:
            runtime._pool.close()
        runtime._pool = None


def test_cli_quantize_guard_and_info(in_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "quantize", "gemma3-270m", "--to", "Q8_0"]) == 2
    assert "already quantized" in capsys.readouterr().err
    assert main(["models", "info", "gemma3-270m:Q4_0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^gguf\.architecture +gemma3$", out, re.M) and "installed" in out


def test_bench_reports_every_installed_variant(
    in_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--variants", "--runs", "1", "--max-tokens", "4", "--json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"gemma3-270m:Q4_K_M", "gemma3-270m:Q4_0"}
    assert rows["gemma3-270m:Q4_0"]["size_mib"] < rows["gemma3-270m:Q4_K_M"]["size_mib"]
    assert all(r["load_ms"] > 0 and r["decode_tokens_per_second"] > 0 for r in rows.values())


def test_a_refused_quantization_leaves_no_lock_file_or_folder(
    in_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = in_home / "cache" / "models"
    assert not list(models.rglob("*.lock"))  # the Q4_0 quantization cleaned up after itself
    args = ["models", "quantize", "gemma3-270m", "--to", "BOGUS", "--allow-requantize"]
    assert main(args) == 2  # INVALID_INPUT: llama.cpp has no such type
    assert "no quantization 'BOGUS'" in capsys.readouterr().err
    assert not (models / "gemma3-270m" / "BOGUS").exists()
    assert not list(models.rglob("*.lock")) and not list(models.rglob("*.partial"))


def test_info_shows_the_trained_and_the_configured_context(
    in_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "info", "gemma3-270m:Q4_0", "--json"]) == 0
    context = json.loads(capsys.readouterr().out)["context"]
    assert context == {
        "trained": 32768,  # what the GGUF header says
        "trained_from": "gguf",
        "configured": load_settings().n_ctx,
        "configured_from": "default",
    }
    assert main(["models", "info", "gemma3-270m:Q4_0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^context \(trained\) +32768 tokens \(from the GGUF header\)$", out, re.M)
    assert re.search(r"^context \(configured\) +2048 tokens \(n_ctx, default", out, re.M)
