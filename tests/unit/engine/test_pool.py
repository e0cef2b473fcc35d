"""EnginePool bookkeeping with stand-in engines (real models: tests/integration)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from music_reasoning.config import load_settings
from music_reasoning.engine.pool import EnginePool


class StandIn:
    """Just what the pool looks at: loaded or not, in use or not, when last used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loaded = False  # the pool hands engines out; calls load them
        self.in_use = False
        self.last_used = time.monotonic()

    def is_loaded(self) -> bool:
        return self.loaded

    def unload(self) -> None:
        self.loaded = False

    def status(self) -> SimpleNamespace:
        return SimpleNamespace(path=self.path)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    out = []
    for name in ("a.gguf", "b.gguf", "c.gguf"):
        (tmp_path / name).write_bytes(b"GGUF" + b"\0" * 2048)
        out.append(tmp_path / name)
    return out


def pool(**kw: object) -> EnginePool:
    return EnginePool(factory=StandIn, **kw)  # type: ignore[arg-type]


def test_choice_follows_the_documented_precedence(files: list[Path]) -> None:
    a, b, c = (str(f) for f in files)
    p = EnginePool(settings=load_settings(model_path=c, default_model="core3b:v4.8"))
    assert p.choice(a) == a
    assert p.choice(None) == c
    p.default_model = b  # use_model()
    assert p.choice(None) == b and p.resolve(None) == Path(b)
    assert EnginePool(settings=load_settings(default_model="core3b:v4.8")).choice(None) == (
        "core3b:v4.8"
    )
    assert EnginePool(settings=load_settings()).choice(None) == "gemma3-270m"


def unloaded_soon(engine: StandIn, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while engine.is_loaded() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not engine.is_loaded()


def test_idle_engines_unload_and_close_lets_the_reaper_restart(files: list[Path]) -> None:
    p = pool(keep_alive=0.2, budget_bytes=1 << 40)
    first = p.get(str(files[0]))
    first.loaded, first.last_used = True, 0.0
    assert unloaded_soon(first)
    p.close()
    second = p.get(str(files[1]))  # a pool used after close() keeps unloading idle engines
    second.loaded, second.last_used = True, 0.0
    assert unloaded_soon(second)
    p.close()


def test_room_is_made_least_recently_used_first_and_never_from_a_busy_engine(
    files: list[Path],
) -> None:
    one = files[0].stat().st_size + (96 << 20)  # the estimate of these tiny files
    p = pool(keep_alive=0, budget_bytes=int(one * 2.5))
    a = p.get(str(files[0]))
    a.loaded = True
    b = p.get(str(files[1]))
    b.loaded = True
    c = p.get(str(files[2]))  # three do not fit: a, the least recently used, goes
    assert (a.is_loaded(), b.is_loaded()) == (False, True)
    c.loaded, b.in_use = True, True
    assert p.get(str(files[0])) is a
    assert b.is_loaded() and not c.is_loaded()  # b is busy, so c made the room
