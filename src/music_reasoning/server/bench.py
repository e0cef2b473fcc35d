"""``bench --server``: concurrent streaming clients against our server and two anchors.

Three OpenAI-compatible servers run the same GGUF file with the same threads, the same
context per sequence and the same number of parallel sequences, one after another in
one run, each in its own process on a loopback port:

* ``ours`` -- ``music-reasoning serve --parallel N`` (continuous batching);
* ``llama-server`` -- llama.cpp's native server, ``-np N`` slots (built from the sources
  inside the llama-cpp-python sdist by ``shared/anchors/build-llama-server.sh``; its path
  comes from ``--llama-server`` or ``MUSIC_REASONING_LLAMA_SERVER``);
* ``llama-cpp-python`` -- ``python -m llama_cpp.server`` (it serialises requests).

For each number of clients, every client sends one streaming ``POST /v1/completions``
(greedy, ``max_tokens``, a prompt of its own) at the same moment; completion tokens are
the streamed chunks that carry text (one token each on all three servers).  Each level
runs ``rounds`` times (a 2-vCPU VM is noisy); reported is the median round by aggregate
completion tokens/s (all tokens over the wall time of the round), with its time to
first token p50/p95 over the clients, and every round's tokens/s.  Ratios are ours
over each anchor, same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from music_reasoning.errors import InvalidInputError, MusicReasoningError

__all__ = ["LLAMA_SERVER_ENV", "format_server_report", "run_server_benchmark"]

LLAMA_SERVER_ENV = "MUSIC_REASONING_LLAMA_SERVER"
_SUBJECTS = (
    "the dominant seventh chord",
    "the Dorian mode",
    "a plagal cadence",
    "the circle of fifths",
    "a secondary dominant",
    "the tritone substitution",
    "modal interchange",
    "the harmonic minor scale",
    "voice leading",
    "a deceptive cadence",
    "the blues scale",
    "an augmented sixth chord",
    "the Neapolitan chord",
    "counterpoint",
    "the Lydian mode",
    "a suspended chord",
)


@dataclass(frozen=True)
class _Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready_path: str


def wait_policy() -> str:
    """OpenMP's wait policy the servers run with: the environment's, else ours (PASSIVE,
    see ``engine/_llama.py``)."""
    return os.environ.get("OMP_WAIT_POLICY", "PASSIVE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prompt(i: int) -> str:
    """A prompt of its own for client ``i``, one that runs on past ``max_tokens`` (so the
    servers, whose greedy answers may differ, all stream about as many tokens)."""
    subject = _SUBJECTS[i % len(_SUBJECTS)]
    return f"Lesson notes on {subject}, a long numbered list with one fact per line:\n1."


def _servers(
    model: Path, *, parallel: int, threads: int, n_ctx: int, llama_server: Path | None
) -> list[_Server]:
    """The three servers' commands, each on a free loopback port of its own."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSIC_REASONING_")}
    env["OMP_WAIT_POLICY"] = wait_policy()  # the same for all three (ours sets PASSIVE)
    ours = _Server(
        "ours",
        [
            sys.executable,
            "-m",
            "music_reasoning.cli.main",
            "serve",
            "--port",
            str(port),
            "--parallel",
            str(parallel),
            "--max-queue",
            "256",
            "--model",
            str(model),
        ],
        {
            **env,
            "MUSIC_REASONING_HOME": os.environ.get("MUSIC_REASONING_HOME", ""),
            "MUSIC_REASONING_N_THREADS": str(threads),
            "MUSIC_REASONING_N_CTX": str(n_ctx),
        },
        "/health",
    )
    if not ours.env["MUSIC_REASONING_HOME"]:
        del ours.env["MUSIC_REASONING_HOME"]
    out = [ours]
    if llama_server is not None:
        port = _free_port()
        out.append(
            _Server(
                "llama-server",
                [
                    str(llama_server),
                    "-m",
                    str(model),
                    "--port",
                    str(port),
                    "--host",
                    "127.0.0.1",
                    "-np",
                    str(parallel),
                    "-c",
                    str(n_ctx * parallel),
                    "-t",
                    str(threads),
                    "-tb",
                    str(threads),
                    "--no-webui",
                ],
                env,
                "/health",
            )
        )
    port = _free_port()
    out.append(
        _Server(
            "llama-cpp-python",
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--port",
                str(port),
                "--n_ctx",
                str(n_ctx),
                "--n_threads",
                str(threads),
                "--n_threads_batch",
                str(threads),
                "--interrupt_requests",  # by default a new request cancels the one running
                "False",
            ],
            env,
            "/v1/models",
        )
    )
    return out


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise MusicReasoningError(f"The server exited with status {proc.returncode}.")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise MusicReasoningError(f"The server at {url} was not ready within {timeout:.0f} s.")


async def _client(
    http: httpx.AsyncClient, url: str, model: str, prompt: str, max_tokens: int
) -> tuple[float | None, int]:
    """One streaming completion: (seconds to the first token, tokens streamed)."""
    body = {
        "model": model,
        "prompt": prompt,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
    }
    start = time.perf_counter()
    first: float | None = None
    tokens = 0
    async with http.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            choices = event.get("choices") or []
            if choices and choices[0].get("text"):
                tokens += 1
                if first is None:
                    first = time.perf_counter() - start
    return first, tokens


async def _round(
    url: str, model: str, clients: int, max_tokens: int, offset: int
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(timeout=600.0, limits=limits) as http:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(_client(http, url, model, _prompt(offset + i), max_tokens) for i in range(clients))
        )
        wall = time.perf_counter() - start
    ttfts = sorted(t for t, _ in results if t is not None)
    tokens = sum(n for _, n in results)
    return {
        "clients": clients,
        "tokens": tokens,
        "seconds": wall,
        "tokens_per_second": tokens / wall if wall > 0 else 0.0,
        "ttft_p50_s": statistics.median(ttfts) if ttfts else None,
        "ttft_p95_s": ttfts[min(len(ttfts) - 1, round(0.95 * (len(ttfts) - 1)))] if ttfts else None,
    }


def _measure(
    server: _Server,
    port: int,
    levels: Sequence[int],
    max_tokens: int,
    rounds: int,
    progress: Callable[[str], None],
) -> list[dict[str, Any]]:
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(server.argv, env=server.env, stdout=log, stderr=log)
        try:
            _wait_ready(proc, f"http://127.0.0.1:{port}{server.ready_path}")
            base = f"http://127.0.0.1:{port}/v1"
            model = httpx.get(f"{base}/models", timeout=10.0).json()["data"][0]["id"]
            url = f"{base}/completions"
            asyncio.run(_round(url, model, 1, 8, 100))  # warm: loaded and has run once
            rows = []
            for n in levels:
                progress(f"{server.name}: {n} concurrent streaming client(s), {rounds} rounds")
                runs = [asyncio.run(_round(url, model, n, max_tokens, n)) for _ in range(rounds)]
                runs.sort(key=lambda r: r["tokens_per_second"])
                median = dict(runs[len(runs) // 2])  # the median round, by tokens/s
                median["rounds_tokens_per_second"] = [r["tokens_per_second"] for r in runs]
                rows.append(median)
            return rows
        except BaseException:
            log.seek(0)
            tail = log.read()[-2000:].decode("utf-8", "replace")
            progress(f"{server.name} failed; its last output:\n{tail}")
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def find_llama_server(given: str | None) -> Path | None:
    """The native llama-server binary: ``given``, ``$MUSIC_REASONING_LLAMA_SERVER``, or
    ``llama-server`` on PATH; None when there is none."""
    text = given or os.environ.get(LLAMA_SERVER_ENV) or shutil.which("llama-server")
    if not text:
        return None
    path = Path(text)
    try:
        usable = path.is_file() and os.access(path, os.X_OK)
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        usable = False
    if not usable:
        raise InvalidInputError(
            f"{path} is not an executable llama-server.",
            suggestion="Build it with shared/anchors/build-llama-server.sh and pass its path.",
        )
    return path


def run_server_benchmark(
    *,
    model: Path,
    levels: Sequence[int] = (1, 4, 8, 16),
    parallel: int = 8,
    threads: int = 2,
    n_ctx: int = 2048,
    max_tokens: int = 96,
    rounds: int = 3,
    llama_server: Path | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Run every server in turn with the same clients; a JSON-ready report."""
    if not levels or min(levels) < 1 or max(levels) > 256:
        raise InvalidInputError("Client counts must be between 1 and 256.")
    report: dict[str, Any] = {
        "model": str(model),
        "parallel": parallel,
        "threads": threads,
        "n_ctx_per_sequence": n_ctx,
        "max_tokens": max_tokens,
        "rounds": rounds,
        "omp_wait_policy": wait_policy(),
        "servers": {},
    }
    for server in _servers(
        model, parallel=parallel, threads=threads, n_ctx=n_ctx, llama_server=llama_server
    ):
        port = int(server.argv[server.argv.index("--port") + 1])
        report["servers"][server.name] = _measure(
            server, port, levels, max_tokens, rounds, progress
        )
    ours = report["servers"]["ours"]
    ratios: dict[str, list[dict[str, Any]]] = {}
    for name, rows in report["servers"].items():
        if name == "ours":
            continue
        ratios[name] = [
            {
                "clients": a["clients"],
                "tokens_per_second": a["tokens_per_second"] / b["tokens_per_second"]
                if b["tokens_per_second"]
                else None,
            }
            for a, b in zip(ours, rows, strict=True)
        ]
    report["ours_over"] = ratios
    return report


def format_server_report(report: dict[str, Any]) -> str:
    """The report as a table: tokens/s and TTFT per server and client count, ratios."""
    lines = [
        f"model {Path(report['model']).name}, {report['parallel']} parallel sequences, "
        f"{report['threads']} threads (OMP_WAIT_POLICY={report['omp_wait_policy']}), "
        f"{report['max_tokens']} tokens per client",
        f"{'server':18} {'clients':>7} {'tok/s':>8} {'TTFT p50':>9} {'TTFT p95':>9}",
    ]
    for name, rows in report["servers"].items():
        for r in rows:
            p50 = f"{r['ttft_p50_s']:.2f} s" if r["ttft_p50_s"] is not None else "-"
            p95 = f"{r['ttft_p95_s']:.2f} s" if r["ttft_p95_s"] is not None else "-"
            lines.append(
                f"{name:18} {r['clients']:>7} {r['tokens_per_second']:>8.1f} {p50:>9} {p95:>9}"
            )
    for name, rows in report["ours_over"].items():
        parts = ", ".join(
            f"{r['clients']}: {r['tokens_per_second']:.2f}x"
            for r in rows
            if r["tokens_per_second"] is not None
        )
        lines.append(f"ours / {name}: {parts}")
    return "\n".join(lines)
