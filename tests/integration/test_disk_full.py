"""A full disk and a read-only state folder, for real (tmpfs and read-only bind mounts).

Each failure is ``INSUFFICIENT_DISK`` or ``STORAGE_UNAVAILABLE`` with a suggestion, the
CLI shows it without a traceback, and nothing half-written stays behind: no ``.partial``
of the embedded model, no temporary files, and a download's ``.partial`` only with a
sidecar that makes resuming it valid.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from music_reasoning.cli.main import main
from music_reasoning.errors import InsufficientDiskError, StorageError
from music_reasoning.models import files, store
from music_reasoning.models._partial import load_sidecar
from music_reasoning.models.files import embedded_model_path
from music_reasoning.models.registry import add_user_model
from tests.support.http_server import Behavior, FileServer
from tests.support.mounts import read_only, small_disk


@pytest.fixture
def models(isolated_home: Path) -> Path:
    return isolated_home / "cache" / "models"


def _everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_assembling_the_embedded_model_on_a_small_disk_is_insufficient_disk(
    models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with small_disk(models, "64m"):
        with pytest.raises(InsufficientDiskError) as exc:
            embedded_model_path()
        assert "MiB" in exc.value.message and "models rm" in exc.value.suggestion
        assert _everything(models) == []  # no .partial, no lock file
        assert main(["models", "info", "gemma3-270m"]) == 9
        err = capsys.readouterr().err
        assert "error [INSUFFICIENT_DISK]" in err and "Traceback" not in err
        assert _everything(models) == []


def test_a_disk_that_fills_up_while_assembling_leaves_no_partial(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The free-space check is told there is room, so the kernel's ENOSPC is what stops it.
    plenty = shutil._ntuple_diskusage(1 << 40, 0, 1 << 40)  # type: ignore[attr-defined]
    monkeypatch.setattr(files.shutil, "disk_usage", lambda _path: plenty)
    with small_disk(models, "32m"):
        with pytest.raises(InsufficientDiskError) as exc:
            embedded_model_path()
        assert exc.value.details["errno"] == "ENOSPC"
        assert "the disk is full" in exc.value.message and "models rm" in exc.value.suggestion
        assert _everything(models) == []


@pytest.fixture
def server() -> Iterator[FileServer]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(var, None)
    data = b"GGUF" + os.urandom(700_000)
    with FileServer(data, Behavior()) as srv:
        yield srv


def test_a_pull_onto_a_full_disk_stops_cleanly_and_resumes_once_there_is_room(
    models: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    data = server.content
    add_user_model("tiny", urls=[server.url], sha256=hashlib.sha256(data).hexdigest())
    with small_disk(models, "1m"):
        filler = models / "filler"
        filler.write_bytes(b"x" * (1024 * 1024 - len(data) - 8192))  # room for the file only
        assert main(["models", "pull", "tiny", "--quiet"]) == 9
        err = capsys.readouterr().err
        assert "error [INSUFFICIENT_DISK]" in err and "Traceback" not in err
        left = [p for p in _everything(models) if p != "filler"]
        assert not [p for p in left if p.endswith(".tmp")], left
        assert not [p for p in left if p.endswith(".lock")], left
        partials = list(models.rglob("*.partial"))
        for partial in partials:  # only a partial that can be resumed may stay
            state = load_sidecar(partial.with_name(partial.name + ".json"))
            assert state is not None and state.parts[0].done <= partial.stat().st_size
        assert not list(models.rglob("*.gguf"))  # no model posing as complete
        filler.unlink()
        path = store.pull("tiny", progress=False)
        assert path.read_bytes() == data
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".sha256"]


def test_an_assembled_embedded_model_is_used_from_a_read_only_folder(
    models: Path, model_path: Path
) -> None:
    models.mkdir(parents=True)
    copy = models / model_path.name
    shutil.copy(model_path, copy)  # assembled, but never marked as verified here
    with read_only(models):
        assert embedded_model_path() == copy  # hashed; the marker cannot be written
        assert store.info("gemma3-270m")["installed"]
    assert _everything(models) == [copy.name]


def test_assembling_into_a_read_only_folder_is_storage_unavailable(
    models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models.mkdir(parents=True)
    with read_only(models):
        with pytest.raises(StorageError) as exc:
            embedded_model_path()
        assert exc.value.code == "STORAGE_UNAVAILABLE"
        assert (
            "read-only" in exc.value.suggestion and "MUSIC_REASONING_HOME" in exc.value.suggestion
        )
        assert main(["models", "info", "gemma3-270m"]) == 12
        err = capsys.readouterr().err
        assert "error [STORAGE_UNAVAILABLE]" in err and "Traceback" not in err
    assert _everything(models) == []


def test_a_read_only_home_without_a_model_folder_is_storage_unavailable(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with read_only(isolated_home):
        assert main(["models", "info", "gemma3-270m"]) == 12
        err = capsys.readouterr().err
        assert "error [STORAGE_UNAVAILABLE]" in err and "Traceback" not in err
        assert "suggestion: The file system is read-only" in err
