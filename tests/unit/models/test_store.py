"""The store against a real loopback HTTP server: pull, verify, remove, default."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from music_reasoning.config import load_settings
from music_reasoning.errors import CorruptedModelError, DownloadError, ModelUnavailableError
from music_reasoning.models import store
from music_reasoning.models.registry import add_user_model
from tests.support.http_server import FileServer

DATA = b"GGUF" + os.urandom(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


def test_pull_verify_list_use_and_remove(serve: Callable[..., FileServer]) -> None:
    srv = serve(DATA)
    add_user_model("tiny", urls=[srv.url], sha256=SHA, size=len(DATA), prompt_format="base")
    with pytest.raises(ModelUnavailableError) as exc:
        store.resolve("tiny")
    assert "models pull tiny:Q4_K_M" in exc.value.suggestion
    path = store.pull("tiny", progress=False)
    assert path.read_bytes() == DATA and store.resolve("tiny") == path
    row = next(r for r in store.list_models() if r.name == "tiny")
    assert (row.installed, row.verified, row.size, row.default) == (True, True, len(DATA), False)
    assert store.verify("tiny")["ok"] is True
    assert store.use("tiny") == "tiny" and load_settings().default_model == "tiny"
    assert next(r for r in store.list_models() if r.name == "tiny").default
    done = store.remove("tiny")
    assert any("deleted" in d for d in done) and not path.exists()


def test_mirror_is_used_when_the_primary_fails(serve: Callable[..., FileServer]) -> None:
    dead, good = serve(DATA, status=503), serve(DATA)
    add_user_model("tiny", urls=[dead.url, good.url], sha256=SHA)
    assert store.pull("tiny", progress=False).read_bytes() == DATA
    assert good.gets


def test_wrong_checksum_leaves_no_model(serve: Callable[..., FileServer]) -> None:
    srv = serve(DATA, corrupt_at=1000)
    add_user_model("tiny", urls=[srv.url], sha256=SHA)
    with pytest.raises(CorruptedModelError) as exc:
        store.pull("tiny", progress=False)
    assert SHA in exc.value.message
    target = Path(next(r.path for r in store.list_models() if r.name == "tiny"))
    assert not target.exists()  # no half-file posing as a model
    with pytest.raises(ModelUnavailableError):
        store.resolve("tiny")


def test_verify_catches_a_file_changed_on_disk(serve: Callable[..., FileServer]) -> None:
    add_user_model("tiny", urls=[serve(DATA).url], sha256=SHA)
    path = store.pull("tiny", progress=False)
    with path.open("r+b") as fh:
        fh.seek(5000)
        fh.write(b"\xff\xff")
    with pytest.raises(CorruptedModelError) as exc:
        store.verify("tiny")
    assert SHA in exc.value.message and exc.value.details["actual_sha256"] != SHA
    assert not next(r for r in store.list_models() if r.name == "tiny").verified


def test_a_variant_without_url_says_how_to_configure_it() -> None:
    with pytest.raises(ModelUnavailableError) as exc:
        store.pull("core3b:v4.8:Q8_0")
    assert "models add core3b:v4.8:Q8_0 --url" in exc.value.suggestion


def test_path_entries_are_used_in_place_and_only_forgotten(tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(DATA)
    add_user_model("mine", path=gguf)
    assert store.resolve("mine") == gguf.resolve()
    assert store.verify("mine")["sha256"] == SHA
    assert store.remove("mine") == ["forgot mine:Q4_K_M"] and gguf.exists()


def test_gguf_fields_are_read_once_per_file_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []

    def read(path: Path) -> dict[str, object]:
        reads.append(path)
        return {"architecture": "gemma3", "size": path.stat().st_size}

    monkeypatch.setattr(store, "_read_gguf_fields", read)
    model = tmp_path / "m.gguf"
    model.write_bytes(DATA)
    assert store.gguf_metadata(model) == {"architecture": "gemma3", "size": len(DATA)}
    assert store.gguf_metadata(model) == {"architecture": "gemma3", "size": len(DATA)}
    assert len(reads) == 1
    model.write_bytes(DATA + b"more")  # another file under the same name: read again
    assert store.gguf_metadata(model)["size"] == len(DATA) + 4 and len(reads) == 2


def test_remove_refuses_while_a_pull_holds_the_lock(serve: Callable[..., FileServer]) -> None:
    server = serve(DATA)
    add_user_model("tiny", urls=[server.url], sha256=SHA)
    path = store.pull("tiny")
    with FileLock(str(path) + ".lock"), pytest.raises(ModelUnavailableError) as exc:
        store.remove("tiny")  # flock: a second descriptor is a second holder
    assert "another process" in exc.value.message and path.is_file()
    assert any("deleted" in line for line in store.remove("tiny"))
    assert not path.exists()


def test_a_file_that_no_longer_matches_its_checksum_is_not_used(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(DATA)
    add_user_model("tiny", path=gguf, sha256=SHA)
    assert store.resolve("tiny") == gguf  # hashed once, then marked
    gguf.write_bytes(DATA[:-1] + b"!")
    with pytest.raises(CorruptedModelError) as exc:
        store.resolve("tiny")
    assert SHA in exc.value.message


def _write_gguf(path: Path, *, vocab: int) -> None:
    """A real GGUF (the gguf package's writer): gemma3 keys, a vocabulary, one tensor."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "gemma3")
    writer.add_name("tiny test model")
    writer.add_context_length(32768)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_file_type(15)
    writer.add_token_list([f"tok{i}" for i in range(vocab)])
    writer.add_token_scores([0.5] * vocab)
    writer.add_string("tokenizer.chat_template", "{{ messages }}")
    writer.add_tensor("w", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_header_fields_match_the_gguf_package_without_reading_the_vocabulary(
    tmp_path: Path,
) -> None:
    from gguf import GGUFReader

    model = tmp_path / "m.gguf"
    _write_gguf(model, vocab=50_000)
    fields = store._read_gguf_fields(model)
    reader = GGUFReader(str(model))
    assert fields == {
        "tensors": len(reader.tensors),
        "architecture": "gemma3",
        "name": "tiny test model",
        "file_type": 15,
        "context_length": 32768,
        "embedding_length": 64,
        "block_count": 2,
        "chat_template": "(present)",
    }
    for label, key in (("context_length", "gemma3.context_length"), ("name", "general.name")):
        assert fields[label] == reader.fields[key].contents()


def test_a_truncated_gguf_header_is_corrupted_not_a_crash(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    _write_gguf(model, vocab=1000)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(model.read_bytes()[:5000])  # ends inside the vocabulary
    with pytest.raises(CorruptedModelError) as exc:
        store._read_gguf_fields(cut)
    assert str(cut) in exc.value.message and exc.value.suggestion


def test_a_second_pull_says_whose_download_it_waits_for(
    serve: Callable[..., FileServer], caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    add_user_model("tiny", urls=[serve(DATA).url], sha256=SHA)
    target = Path(next(r.path for r in store.list_models() if r.name == "tiny"))
    holder = FileLock(str(target) + ".lock")  # another descriptor: another holder
    holder.acquire()
    result: list[Path] = []
    pulling = threading.Thread(target=lambda: result.append(store.pull("tiny", progress=False)))
    with caplog.at_level("WARNING", logger="music_reasoning"):
        pulling.start()
        pulling.join(timeout=1.0)
        assert pulling.is_alive() and not result  # waiting, not downloading alongside
        holder.release()
        pulling.join(timeout=30)
    assert result and result[0].read_bytes() == DATA
    waits = [r.getMessage() for r in caplog.records if "waiting for" in r.getMessage()]
    assert waits == [f"waiting for another download of tiny:Q4_K_M (pid {os.getpid()}) …"]


def test_pull_and_rm_forget_leave_no_lock_files_or_empty_folders(
    serve: Callable[..., FileServer],
) -> None:
    add_user_model("tiny", urls=[serve(DATA).url], sha256=SHA)
    path = store.pull("tiny", progress=False)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".sha256"]
    model_folder = path.parent.parent
    assert model_folder.parent == store.models_dir()
    done = store.remove("tiny", forget=True)
    assert "forgot tiny:Q4_K_M" in done and not model_folder.exists()
    assert store.models_dir().is_dir()  # the store itself stays


@pytest.mark.parametrize(
    ("behavior", "error"),
    [({"status": 404}, DownloadError), ({"corrupt_at": 10}, CorruptedModelError)],
)
def test_a_failed_pull_leaves_no_lock_file(
    serve: Callable[..., FileServer], behavior: dict[str, int], error: type[Exception]
) -> None:
    add_user_model("tiny", urls=[serve(DATA, **behavior).url], sha256=SHA)
    with pytest.raises(error):
        store.pull("tiny", progress=False, retries=0)
    target = Path(next(r.path for r in store.list_models() if r.name == "tiny"))
    assert not Path(str(target) + ".lock").exists()


def test_rm_keeps_a_folder_another_variant_still_uses(serve: Callable[..., FileServer]) -> None:
    server = serve(DATA)
    add_user_model("tiny", urls=[server.url], sha256=SHA)
    add_user_model("tiny:Q8_0", urls=[server.url], sha256=SHA)
    a, b = store.pull("tiny", progress=False), store.pull("tiny:Q8_0", progress=False)
    store.remove("tiny:Q8_0", forget=True)
    assert not b.parent.exists() and a.is_file() and store.resolve("tiny") == a


def test_lock_files_are_deleted_only_by_their_outermost_holder(tmp_path: Path) -> None:
    from music_reasoning.models.files import model_lock, release_removing

    lock = model_lock(tmp_path / "m.gguf")
    lock.acquire()
    lock.acquire()  # re-entered
    release_removing(lock)
    assert Path(lock.lock_file).exists() and lock.is_locked
    release_removing(lock)
    assert not Path(lock.lock_file).exists() and not lock.is_locked
