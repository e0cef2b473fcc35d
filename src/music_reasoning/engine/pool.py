"""Several models in one process: engines by model file, within a memory budget.

* ``get(model)`` returns the engine for a model file (a path, a registry name
  ``NAME[:VARIANT]``, or None for the default), creating it once; it loads lazily.
* Before an unloaded engine is handed out, the pool makes room for it: loaded engines
  that no call is using are unloaded, least recently used first, until the estimate
  (file size + KV cache for ``n_ctx x n_parallel`` + overhead) fits the budget.  An
  engine in use is never evicted; if nothing can go, the new one still loads and the
  engine's own memory check (``INSUFFICIENT_RAM``) has the last word.
* Idle engines unload after ``keep_alive`` seconds (a daemon thread checks).

The budget is ``memory_budget_mb`` or, unset, three quarters of the machine's memory.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import psutil

from music_reasoning.config import Settings, load_settings
from music_reasoning.engine.hardware import kv_bytes_per_token
from music_reasoning.engine.local import LocalEngine
from music_reasoning.models.files import EMBEDDED_MODEL_NAME, resolve_model_path

__all__ = ["EnginePool", "ModelArg"]

logger = logging.getLogger(__name__)

ModelArg = str | os.PathLike[str] | None
_OVERHEAD = 96 << 20


class EnginePool:
    """LRU engines by model file (see the module notes).  Thread-safe."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        budget_bytes: int | None = None,
        keep_alive: float | None = None,
        factory: Callable[[Path], LocalEngine] | None = None,
    ) -> None:
        self._settings = settings
        s = self.settings
        if budget_bytes is None:
            budget_bytes = (
                s.memory_budget_mb << 20
                if s.memory_budget_mb
                else int(psutil.virtual_memory().total * 0.75)
            )
        self.budget = budget_bytes
        self.keep_alive = s.keep_alive if keep_alive is None else keep_alive
        self._factory = factory or (lambda path: LocalEngine(path, settings=self._settings))
        self._engines: OrderedDict[str, LocalEngine] = OrderedDict()
        self._used: dict[str, float] = {}
        self._estimates: dict[str, int] = {}
        self._lock = threading.Lock()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()
        self.default_model: str | None = None

    @property
    def settings(self) -> Settings:
        return self._settings or load_settings()

    def resolve(self, model: ModelArg) -> Path:
        """The file ``model`` names (None: this pool's default, then the settings')."""
        s = self.settings
        chosen = model if model is not None else self.default_model
        return resolve_model_path(chosen, configured=s.model_path, default=s.default_model)

    def choice(self, model: ModelArg) -> str:
        """What ``model`` stands for before it is resolved to a file: the argument, this
        pool's default (``use_model``), ``model_path``, ``default_model``, the embedded one."""
        s = self.settings
        for candidate in (model, self.default_model, s.model_path, s.default_model):
            if candidate is not None:
                return os.fspath(candidate)
        return EMBEDDED_MODEL_NAME

    def get(self, model: ModelArg = None) -> LocalEngine:
        """The engine for ``model``, with room made for it if it is not loaded yet."""
        path = self.resolve(model)
        key = str(path)
        # The estimate reads the file once; not under the pool's lock.  Every other
        # engine was estimated by its own first ``get``.
        self._estimate(key)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                engine = self._engines[key] = self._factory(path)
            self._engines.move_to_end(key)
            self._used[key] = time.monotonic()
            victims = [] if engine.is_loaded() else self._victims(key)
        for victim in victims:
            logger.info("unloading %s to make room (memory budget)", victim.status().path)
            victim.unload()
        self._start_reaper()
        return engine

    def engines(self) -> dict[str, LocalEngine]:
        """The engines the pool holds, least recently used first."""
        with self._lock:
            return dict(self._engines)

    def _estimate(self, key: str) -> int:
        """Bytes a model needs: file + KV cache + overhead (metadata read once)."""
        if key not in self._estimates:
            from music_reasoning.engine._llama import read_metadata

            s = self.settings
            path = Path(key)
            try:
                per_token = kv_bytes_per_token(read_metadata(path))
            except Exception:
                per_token = 0
            n_ctx_total = s.n_ctx * max(1, s.n_parallel)
            self._estimates[key] = path.stat().st_size + n_ctx_total * per_token + _OVERHEAD
        return self._estimates[key]

    def _victims(self, key: str) -> list[LocalEngine]:
        """Idle loaded engines to unload (LRU first) so ``key`` fits; under the lock."""
        need = self._estimate(key)
        loaded = [(k, e) for k, e in self._engines.items() if k != key and e.is_loaded()]
        total = need + sum(self._estimate(k) for k, _ in loaded)
        victims = []
        for k, e in loaded:  # OrderedDict order: least recently used first
            if total <= self.budget:
                break
            if e.in_use:
                continue
            victims.append(e)
            total -= self._estimate(k)
        return victims

    # -- keep-alive ------------------------------------------------------------------
    def _start_reaper(self) -> None:
        if self.keep_alive <= 0 or self._reaper is not None:
            return
        with self._lock:
            if self._reaper is None and not self._stop.is_set():
                self._reaper = threading.Thread(
                    target=self._reap, name="music-reasoning-keep-alive", daemon=True
                )
                self._reaper.start()

    def _reap(self) -> None:
        interval = max(0.05, min(self.keep_alive / 4, 5.0))
        while not self._stop.wait(interval):
            self.unload_idle()

    def unload_idle(self) -> list[str]:
        """Unload engines idle for longer than ``keep_alive``; returns their files."""
        now = time.monotonic()
        with self._lock:
            idle = [
                (k, e)
                for k, e in self._engines.items()
                if e.is_loaded()
                and not e.in_use
                and now - max(self._used.get(k, now), e.last_used) > self.keep_alive
            ]
        for key, engine in idle:
            logger.info("unloading %s after %.0f s idle", key, self.keep_alive)
            engine.unload()
        return [k for k, _ in idle]

    def close(self) -> None:
        """Stop the keep-alive thread and unload everything (a later ``get`` restarts it)."""
        with self._lock:
            self._stop.set()  # no new reaper starts until this one is gone
            reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.join()
        with self._lock:
            self._stop.clear()
        for engine in self.engines().values():
            engine.unload()
