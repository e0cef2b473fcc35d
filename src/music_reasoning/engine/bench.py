"""``music-reasoning bench``: this package against raw llama-cpp-python, in one run.

Both sides load the same GGUF with the same context size and threads, and decode the
same prompts with the same sampling (greedy, repeat penalty 1.1), so ratios compare
the wrappers, not the models.  Measured:

* cold start: process start to first streamed token, in a fresh subprocess per side;
* warm latency p50/p95 and decode tokens/s for answers of up to ``max_tokens`` tokens;
* time to first token with and without prefix reuse;
* aggregate tokens/s of a batch of 8 parallel sequences against 8 sequential calls,
  and llama.cpp's own multi-sequence decode scaling (raw low-level calls) as the ceiling.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from music_reasoning.config import load_settings
from music_reasoning.engine.hardware import default_threads
from music_reasoning.engine.local import LocalEngine
from music_reasoning.params import GenerationParams

__all__ = [
    "busy_load",
    "format_busy_report",
    "format_report",
    "measure_model",
    "run_benchmark",
    "run_busy_benchmark",
    "run_variant_benchmark",
]

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default progress callback: say nothing."""


LONG_PROMPT = (
    "The following is a long, detailed lecture on harmony in Western music, covering "
    "triads, seventh chords, cadences, modulation and voice leading.\n\nLecture:\n"
)
QUESTIONS = (
    "What notes are in a G7 chord?",
    "What is a ii-V-I progression?",
    "What is the relative minor of E flat major?",
    "How is a half-diminished seventh chord built?",
    "What is a plagal cadence?",
    "Which notes are in the D dorian mode?",
    "What is a tritone substitution?",
    "What is a secondary dominant?",
)

_CHILD_OURS = """
import sys, time
from music_reasoning import LocalEngine, GenerationParams
engine = LocalEngine(sys.argv[1])
stream = engine.stream(sys.argv[2], GenerationParams(temperature=0.0, max_tokens=8))
next(iter(stream)); print(time.time(), flush=True); stream.close()
"""

_CHILD_RAW = """
import sys, time
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=2048, n_threads=int(sys.argv[3]), verbose=False)
for _ in llm.create_completion(sys.argv[2], max_tokens=8, temperature=0.0, stream=True):
    print(time.time(), flush=True); break
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def _cold_start(code: str, args: list[str]) -> float:
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return (float(out.stdout.strip().splitlines()[-1]) - start) * 1000


def _raw_decode_scaling(path: str, threads: int, *, steps: int = 24) -> dict[str, float]:
    """llama.cpp's own multi-sequence decoding, no wrapper: 1 vs 8 tokens per step.

    Raw llama-cpp-python low-level calls: 8 sequences hold the same prompt, then each
    step decodes one token for 1 sequence or for all 8.  The ratio is the most a batch
    of 8 can gain over sequential calls on this machine, before sampling and before
    sequences finish at different times.
    """
    import llama_cpp

    mparams = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(path.encode(), mparams)
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx, cparams.n_batch, cparams.n_seq_max = 8 * 512, 512, 8
    cparams.n_threads = cparams.n_threads_batch = threads
    cparams.kv_unified = True
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    vocab = llama_cpp.llama_model_get_vocab(model)
    text = LONG_PROMPT.encode()
    buf = (llama_cpp.llama_token * 512)()
    n = llama_cpp.llama_tokenize(vocab, text, len(text), buf, 512, True, True)
    batch = llama_cpp.llama_batch_init(512, 0, 1)

    def decode(entries: list[tuple[int, int, int]]) -> None:
        for i, (tok, pos, seq) in enumerate(entries):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, pos, 1
            batch.seq_id[i][0], batch.logits[i] = seq, True
        batch.n_tokens = len(entries)
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

    result: dict[str, float] = {}
    try:
        for seq in range(8):
            decode([(buf[i], i, seq) for i in range(n)])
        for width in (1, 8):
            t0 = time.perf_counter()
            for step in range(steps):
                decode([(buf[step % n], n + step, seq) for seq in range(width)])
            result[f"tokens_per_second_{width}"] = width * steps / (time.perf_counter() - t0)
            for seq in range(8):
                llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), seq, n, -1)
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
        llama_cpp.llama_model_free(model)
    result["speedup_8_vs_1"] = result["tokens_per_second_8"] / result["tokens_per_second_1"]
    return result


def run_benchmark(
    *, model: str | None = None, runs: int = 5, max_tokens: int = 150, progress: Progress = _quiet
) -> dict[str, Any]:
    """Run every measurement and return the report as a dict (see the module notes).

    ``progress`` is called with one line as each measurement starts.
    """
    from llama_cpp import Llama

    progress("loading the model on both sides")
    settings = load_settings()
    engine = LocalEngine(model, settings=settings)
    status = engine.load()
    path = str(status.path)
    threads = status.n_threads or default_threads()
    raw = Llama(
        model_path=path, n_ctx=settings.n_ctx, n_threads=threads, n_batch=512, verbose=False
    )
    greedy = GenerationParams(temperature=0.0, max_tokens=max_tokens, timeout=300.0)
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "threads": threads,
            "backend": status.backend,
            "gpu_layers": status.gpu_layers,
        },
        "model": os.path.basename(path),
        "runs": runs,
        "max_tokens": max_tokens,
    }

    # Cold start, each side in a fresh process.
    progress("cold start: a fresh process per side")
    question = QUESTIONS[0]
    ours_cold = _cold_start(_CHILD_OURS, [path, question])
    raw_cold = _cold_start(_CHILD_RAW, [path, LONG_PROMPT, str(threads)])
    report["cold_start_ms"] = {"ours": ours_cold, "raw": raw_cold, "ratio": ours_cold / raw_cold}

    # Warm latency and decode speed on the same raw prompt, no stop strings.
    progress(f"warm latency and decode speed: {runs} runs per side")
    engine.complete(LONG_PROMPT, greedy, raw=True)
    raw.create_completion(LONG_PROMPT, max_tokens=max_tokens, temperature=0.0)
    ours_lat, raw_lat, ours_tps, raw_tps, ours_tok, raw_tok = [], [], [], [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        c = engine.complete(LONG_PROMPT, greedy, raw=True)
        ours_lat.append((time.perf_counter() - t0) * 1000)
        ours_tok.append(c.metrics.completion_tokens)
        ours_tps.append(c.metrics.tokens_per_second or 0.0)
        n, t0, tps, end = _raw_stream(raw, max_tokens, repeat_penalty=1.1)
        raw_lat.append((end - t0) * 1000)
        raw_tok.append(n)
        raw_tps.append(tps)
    report["warm_latency_ms"] = {
        "ours_p50": _pct(ours_lat, 0.5),
        "ours_p95": _pct(ours_lat, 0.95),
        "raw_p50": _pct(raw_lat, 0.5),
        "raw_p95": _pct(raw_lat, 0.95),
        "ours_tokens": statistics.mean(ours_tok),
        "raw_tokens": statistics.mean(raw_tok),
    }
    report["decode_tokens_per_second"] = {
        "ours": statistics.median(ours_tps),
        "raw": statistics.median(raw_tps),
        "ratio": statistics.median(ours_tps) / statistics.median(raw_tps),
    }

    # Time to first token on questions, with and without the cached prompt prefix.
    progress("time to first token with and without prefix reuse")
    q_params = GenerationParams(temperature=0.0, max_tokens=4, timeout=300.0)
    with_reuse, without = [], []
    for q in QUESTIONS[:runs]:
        c = engine.complete(q, q_params)
        with_reuse.append(c.metrics.time_to_first_token_ms or 0.0)
        c = engine.complete(q, q_params, reuse_prefix=False)
        without.append(c.metrics.time_to_first_token_ms or 0.0)
    report["time_to_first_token_ms"] = {
        "with_prefix_reuse": statistics.median(with_reuse),
        "without_prefix_reuse": statistics.median(without),
        "speedup": statistics.median(without) / max(statistics.median(with_reuse), 1e-9),
    }

    # Batch of 8 parallel sequences against 8 sequential calls, same prompts.
    progress("a batch of 8 against 8 sequential calls")
    prompts = [f"{LONG_PROMPT}Part {i + 1}: {q}\n" for i, q in enumerate(QUESTIONS)]
    batch_params = GenerationParams(temperature=0.0, max_tokens=max_tokens, timeout=600.0)
    t0 = time.perf_counter()
    items = engine.batch(prompts, batch_params, raw=True)
    batch_s = time.perf_counter() - t0
    batch_tokens = sum(i.metrics.completion_tokens for i in items if i.metrics)
    t0 = time.perf_counter()
    seq_tokens = sum(
        engine.complete(p, batch_params, raw=True).metrics.completion_tokens for p in prompts
    )
    seq_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw_seq_tokens = 0
    for p in prompts:
        out: Any = raw.create_completion(
            p, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.1
        )
        raw_seq_tokens += out["usage"]["completion_tokens"]
    raw_seq_s = time.perf_counter() - t0
    report["batch_of_8"] = {
        "batch_tokens_per_second": batch_tokens / batch_s,
        "sequential_tokens_per_second": seq_tokens / seq_s,
        "raw_sequential_tokens_per_second": raw_seq_tokens / raw_seq_s,
        "speedup_vs_sequential": (batch_tokens / batch_s) / (seq_tokens / seq_s),
        "speedup_vs_raw_sequential": (batch_tokens / batch_s) / (raw_seq_tokens / raw_seq_s),
        "batch_tokens": batch_tokens,
        "sequential_tokens": seq_tokens,
    }
    report["decode_without_penalty"] = _decode_without_penalty(engine, raw, max_tokens, runs)
    progress("8 threads calling at once against the same 8 calls in sequence")
    report["concurrent_callers"] = _concurrent_callers(engine, prompts, batch_params)
    progress("llama.cpp's own decode scaling, 1 vs 8 tokens per step")
    scaling = _raw_decode_scaling(path, threads)
    report["batch_of_8"]["raw_llama_decode_speedup_8_vs_1"] = scaling["speedup_8_vs_1"]
    report["raw_llama_decode_scaling"] = scaling
    raw.close()
    engine.unload()
    return report


def _decode_without_penalty(
    engine: LocalEngine, raw: Any, max_tokens: int, runs: int
) -> dict[str, float]:
    """Decode tokens/s on both sides with no repeat penalty (greedy, same prompt), runs
    alternating: the single-stream ratio with the least work outside llama.cpp."""
    plain = GenerationParams(
        temperature=0.0, max_tokens=max_tokens, timeout=300.0, repeat_penalty=1.0
    )
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(engine.complete(LONG_PROMPT, plain, raw=True).metrics.tokens_per_second or 0.0)
        theirs.append(_raw_stream(raw, max_tokens, repeat_penalty=1.0)[2])
    return {
        "ours": statistics.median(ours),
        "raw": statistics.median(theirs),
        "ratio": statistics.median(ours) / max(statistics.median(theirs), 1e-9),
    }


def _raw_stream(
    raw: Any, max_tokens: int, *, repeat_penalty: float
) -> tuple[int, float, float, float]:
    """Stream raw llama-cpp-python's greedy continuation of the long prompt: (tokens, start,
    decode tokens/s after the first token, end), times from ``time.perf_counter``."""
    t0 = time.perf_counter()
    first: float | None = None
    n = 0
    for _chunk in raw.create_completion(
        LONG_PROMPT,
        max_tokens=max_tokens,
        temperature=0.0,
        repeat_penalty=repeat_penalty,
        stream=True,
    ):
        n += 1
        first = first or time.perf_counter()
    end = time.perf_counter()
    return n, t0, (n - 1) / (end - first) if first and n > 1 else 0.0, end


def _concurrent_callers(
    engine: LocalEngine, prompts: list[str], params: GenerationParams
) -> dict[str, float]:
    """The same calls from one thread each at once, against one after another: they
    share the decode loop (continuous batching) with no batching code of the caller's."""
    import threading

    t0 = time.perf_counter()
    for p in prompts:
        engine.complete(p, params, raw=True)
    sequential_s = time.perf_counter() - t0
    threads = [
        threading.Thread(target=engine.complete, args=(p, params), kwargs={"raw": True})
        for p in prompts
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent_s = time.perf_counter() - t0
    return {
        "callers": float(len(prompts)),
        "sequential_s": sequential_s,
        "concurrent_s": concurrent_s,
        "speedup": sequential_s / max(concurrent_s, 1e-9),
    }


def format_report(report: dict[str, Any]) -> str:
    """Render the report as aligned text (the JSON form is ``--json``)."""
    lines = [f"model {report['model']} on {json.dumps(report['machine'])}"]
    for section in (
        "cold_start_ms",
        "warm_latency_ms",
        "decode_tokens_per_second",
        "time_to_first_token_ms",
        "batch_of_8",
        "decode_without_penalty",
        "concurrent_callers",
        "raw_llama_decode_scaling",
        "sdk_cache_hit_ms",
    ):
        if section not in report:
            continue
        lines.append(f"{section}:")
        for key, value in report[section].items():
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            lines.append(f"  {key:34} {shown}")
    return "\n".join(lines)


def measure_model(
    path: str | os.PathLike[str], *, runs: int = 3, max_tokens: int = 64
) -> dict[str, float]:
    """Size, load time and median decode tokens/s of one GGUF file (greedy, raw prompt).

    The file is read once first, so every model's load time is measured with it in the
    page cache; then a fresh engine loads it (timed), answers once to warm up, then
    ``runs`` times, and is unloaded before returning.
    """
    with open(path, "rb") as f:  # into the page cache
        while f.read(1 << 24):
            pass
    greedy = GenerationParams(temperature=0.0, max_tokens=max_tokens, timeout=300.0)
    engine = LocalEngine(path)
    t0 = time.perf_counter()
    engine.load()
    load_ms = (time.perf_counter() - t0) * 1000
    try:
        engine.complete(LONG_PROMPT, greedy, raw=True)  # warm
        done = [engine.complete(LONG_PROMPT, greedy, raw=True).metrics for _ in range(runs)]
    finally:
        engine.unload()
    return {
        "size_mib": os.path.getsize(path) / 2**20,
        "load_ms": load_ms,
        "decode_tokens_per_second": statistics.median(m.tokens_per_second or 0.0 for m in done),
        "completion_tokens": statistics.mean(m.completion_tokens for m in done),
    }


def run_variant_benchmark(
    model: str = "gemma3-270m", *, runs: int = 3, max_tokens: int = 64
) -> list[dict[str, Any]]:
    """Size, load time and decode tokens/s of every installed variant of a registry model."""
    from music_reasoning.models.registry import parse_spec
    from music_reasoning.models.store import list_models

    name, _ = parse_spec(model)
    rows = [r for r in list_models() if r.name == name and r.installed]
    return [
        {
            "model": f"{row.name}:{row.variant}",
            **measure_model(row.path, runs=runs, max_tokens=max_tokens),
        }
        for row in rows
    ]


# -- a busy machine ------------------------------------------------------------------

_SPIN = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


@contextmanager
def busy_load(processes: int, *, max_seconds: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Keep ``processes`` CPU-bound processes running for the block (a synthetic load).

    Each stops by itself after ``max_seconds`` even if this process dies; all are
    stopped when the block ends.
    """
    procs = [
        subprocess.Popen([sys.executable, "-c", _SPIN, str(max_seconds)]) for _ in range(processes)
    ]
    try:
        time.sleep(0.5 if procs else 0)  # let the scheduler see them
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def run_busy_benchmark(
    *,
    model: str | None = None,
    loads: tuple[int, ...] | None = None,
    rounds: int = 5,
    max_tokens: int = 48,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Tokens/s with the default threads against every fixed thread count, under load.

    For each load (a number of busy processes started and stopped here; by default
    none, one per core and two per core), one engine per setting answers the same
    prompt greedily, in interleaved rounds so that every setting sees the same load.
    The default setting is the package's own (free cores, the thread tuner, passive
    waiting); a fixed setting is ``n_threads=N`` with the tuner off.  The ratio is the
    default's aggregate tokens/s over the best fixed setting's.
    """
    physical = default_threads()
    loads = loads if loads is not None else (0, physical, 2 * physical)
    settings = load_settings()
    path = str(LocalEngine(model, settings=settings).load().path)
    configs: dict[str, LocalEngine] = {"default": LocalEngine(path, settings=settings)}
    for n in range(1, physical + 1):
        configs[f"{n} thread{'s' if n > 1 else ''}"] = LocalEngine(
            path, settings=load_settings(n_threads=n)
        )
    greedy = GenerationParams(temperature=0.0, max_tokens=max_tokens, timeout=600.0)
    progress(f"loading {len(configs)} engines ({', '.join(configs)})")
    for engine in configs.values():
        engine.complete(LONG_PROMPT, greedy, raw=True)  # load and cache the prompt
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "physical_cores": physical,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        },
        "model": os.path.basename(path),
        "rounds": rounds,
        "max_tokens": max_tokens,
        "loads": [],
    }
    for load in loads:
        progress(f"load of {load} busy process(es): {rounds} rounds of {len(configs)} settings")
        tokens = dict.fromkeys(configs, 0)
        seconds = dict.fromkeys(configs, 0.0)
        per_run: dict[str, list[float]] = {name: [] for name in configs}
        with busy_load(load, max_seconds=1200.0):
            for r in range(rounds):
                for name, engine in configs.items():
                    t0 = time.perf_counter()
                    done = engine.complete(LONG_PROMPT, greedy, raw=True)
                    took = time.perf_counter() - t0
                    tokens[name] += done.metrics.completion_tokens
                    seconds[name] += took
                    per_run[name].append(done.metrics.completion_tokens / took)
                progress(
                    f"  round {r + 1}/{rounds}: "
                    + ", ".join(f"{n} {per_run[n][-1]:.1f}" for n in configs)
                    + " tok/s"
                )
        rate = {name: tokens[name] / seconds[name] for name in configs}
        fixed = {name: v for name, v in rate.items() if name != "default"}
        best = max(fixed, key=lambda n: fixed[n])
        report["loads"].append(
            {
                "busy_processes": load,
                "tokens_per_second": rate,
                "median_run_tokens_per_second": {
                    n: statistics.median(v) for n, v in per_run.items()
                },
                "best_fixed": best,
                "default_vs_best_fixed": rate["default"] / fixed[best],
                "default_threads_now": configs["default"].status().n_threads,
            }
        )
    for engine in configs.values():
        engine.unload()
    return report


def format_busy_report(report: dict[str, Any]) -> str:
    """Render the busy-machine report as aligned text."""
    lines = [f"model {report['model']} on {json.dumps(report['machine'])}"]
    for row in report["loads"]:
        rates = "  ".join(f"{n} {v:5.1f}" for n, v in row["tokens_per_second"].items())
        lines.append(
            f"{row['busy_processes']:2d} busy: {rates} tok/s; default/best fixed "
            f"({row['best_fixed']}) {row['default_vs_best_fixed']:.2f}"
        )
    return "\n".join(lines)
