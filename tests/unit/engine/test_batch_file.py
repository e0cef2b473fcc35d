"""Batch files: what input is refused (naming the line), unique ids, and answers files
that cannot be written (a folder, a special file, a full disk) on real files and mounts.

The model is the scripted backend: these tests are about the files, not the answers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from music_reasoning.config import load_settings
from music_reasoning.engine.batch_file import BatchFile, read_prompts, run_batch_file
from music_reasoning.engine.local import LocalEngine
from music_reasoning.errors import InvalidInputError, MusicReasoningError
from music_reasoning.params import GenerationParams
from tests.support.mounts import read_only, small_disk

from .fake_backend import FakeBackend

PARAMS = GenerationParams(temperature=0.0, max_tokens=4)


@pytest.fixture
def engine(tmp_path: Path) -> LocalEngine:
    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 4096)
    backend = FakeBackend({n: "answer" for n in range(4)}, n_batch=64)
    settings = load_settings(n_ctx=2048, n_parallel=backend.n_seq_max)
    return LocalEngine(gguf, settings=settings, backend_factory=lambda path, **kw: backend)


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- input ------------------------------------------------------------------------------
def test_a_json_id_equal_to_a_plain_lines_number_is_refused_naming_both_lines(
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path / "q.jsonl", '{"id": "2", "prompt": "What is a tritone?"}\nWhat is a cadence?\n'
    )
    with pytest.raises(InvalidInputError) as info:
        read_prompts(source)
    assert info.value.details["lines"] == [1, 2] and info.value.details["id"] == "2"
    assert "line 1" in info.value.message and f"{source}:2" in info.value.message


def test_two_json_lines_with_one_id_are_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "q.jsonl", '{"id": 7, "prompt": "a"}\n\n{"id": "7", "prompt": "b"}\n')
    with pytest.raises(InvalidInputError, match="like line 1") as info:
        read_prompts(source)
    assert info.value.details["lines"] == [1, 3]


def test_unique_ids_keep_the_file_order(tmp_path: Path) -> None:
    source = write(
        tmp_path / "q.jsonl",
        '\ufeff{"id": "a", "prompt": "What is a tritone?"}\n\nWhat is a cadence?\r\n'
        '{"prompt": "no id: its line number"}\n',
    )
    assert read_prompts(source) == [
        ("a", "What is a tritone?"),  # the byte-order mark does not hide the JSON
        ("3", "What is a cadence?"),
        ("4", "no id: its line number"),
    ]


@pytest.mark.parametrize("value", ["null", "123", '["a", "b"]', '{"x": 1}', "true", '"\\ud800"'])
def test_a_json_prompt_that_is_not_text_is_refused_naming_the_line(
    tmp_path: Path, value: str
) -> None:
    source = write(tmp_path / "q.jsonl", 'plain question\n{"prompt": ' + value + "}\n")
    with pytest.raises(InvalidInputError, match="'prompt' must be text") as info:
        read_prompts(source)
    assert info.value.details["line"] == 2 and f"{source}:2" in info.value.message


@pytest.mark.parametrize("value", ["null", "1.5", "true", "[1]"])
def test_an_id_must_be_a_string_or_an_integer(tmp_path: Path, value: str) -> None:
    source = write(tmp_path / "q.jsonl", '{"id": ' + value + ', "prompt": "a"}\n')
    with pytest.raises(InvalidInputError, match="'id' must be"):
        read_prompts(source)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"What is a chord?\nWhat is \xff a scale?\n", "byte 0xFF at column 9"),
        (b"ok\n\x89PNG\r\n\x1a\n\x00\x00", "byte 0x89"),
        ("What?\n".encode("utf-16-le"), "NUL byte"),
    ],
)
def test_a_file_that_is_not_utf8_text_is_refused_naming_the_line(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    source = write(tmp_path / "q.txt", data)
    with pytest.raises(InvalidInputError, match="is not UTF-8 text") as info:
        read_prompts(source)
    assert reason in info.value.message
    assert info.value.details["line"] == (1 if reason == "NUL byte" else 2)


def test_a_missing_source_or_a_folder_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not there"):
        read_prompts(tmp_path / "nope.txt")
    with pytest.raises(InvalidInputError, match="a folder"):
        read_prompts(tmp_path)
    with pytest.raises(InvalidInputError, match="not there"):  # was an OSError traceback
        read_prompts(tmp_path / ("a" * 3000))  # longer than a file name may be


def test_a_source_that_is_a_device_or_a_pipe_is_not_a_regular_file(tmp_path: Path) -> None:
    # `batch /dev/zero` said "it is not there"
    fifo = tmp_path / "prompts.fifo"
    os.mkfifo(fifo)
    for source in (Path("/dev/zero"), fifo):
        with pytest.raises(InvalidInputError, match="it is not a regular file") as info:
            read_prompts(source)
        assert info.value.details["path"] == str(source)


def test_the_answers_file_cannot_be_the_batch_file(tmp_path: Path) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\n")
    with pytest.raises(InvalidInputError, match="batch file itself"):
        BatchFile(source, source)
    assert source.read_text() == "What is a triad?\n"


# -- output -----------------------------------------------------------------------------
def test_an_answers_folder_is_storage_unavailable_before_the_model_loads(
    tmp_path: Path, engine: LocalEngine
) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\n")
    (tmp_path / "out").mkdir()
    with pytest.raises(MusicReasoningError) as info:
        run_batch_file(engine, source, tmp_path / "out", PARAMS)
    assert info.value.code == "STORAGE_UNAVAILABLE" and info.value.details["errno"] == "EISDIR"
    assert not engine.is_loaded()


def test_a_special_file_that_refuses_writes_is_storage_unavailable(
    tmp_path: Path, engine: LocalEngine
) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\n")
    with pytest.raises(MusicReasoningError) as info:
        run_batch_file(engine, source, Path("/proc/version"), PARAMS)
    assert info.value.code == "STORAGE_UNAVAILABLE"
    assert not engine.is_loaded()


def test_an_answers_file_in_a_read_only_folder_suggests_another_output(
    tmp_path: Path, engine: LocalEngine
) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\n")
    with read_only(tmp_path / "ro") as folder:
        for output in (folder / "answers.jsonl", folder / "new" / "answers.jsonl"):
            with pytest.raises(MusicReasoningError) as info:
                run_batch_file(engine, source, output, PARAMS)
            err = info.value
            assert (err.code, err.details["errno"]) == ("STORAGE_UNAVAILABLE", "EROFS")
            # the -o file is the user's, not the package's state: HOME would not move it
            assert "give -o a path in a writable folder" in err.suggestion
            assert "MUSIC_REASONING_HOME" not in err.suggestion
    assert not engine.is_loaded()


def test_dev_full_is_insufficient_disk(tmp_path: Path, engine: LocalEngine) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\n")
    with pytest.raises(MusicReasoningError) as info:
        run_batch_file(engine, source, Path("/dev/full"), PARAMS)
    assert info.value.code == "INSUFFICIENT_DISK" and info.value.details["errno"] == "ENOSPC"


def test_a_full_disk_stops_the_run_with_only_whole_lines_and_a_rerun_resumes(
    tmp_path: Path, engine: LocalEngine
) -> None:
    long = "What is a chord? " * 50  # about 850 bytes of prompt in every record
    source = write(tmp_path / "q.txt", "".join(f"{n} {long}\n" for n in range(12)))
    disk = tmp_path / "disk"
    with small_disk(disk, "8k"):
        output = disk / "answers.jsonl"
        with pytest.raises(MusicReasoningError) as info:
            run_batch_file(engine, source, output, PARAMS)
        assert info.value.code == "INSUFFICIENT_DISK"
        data = output.read_bytes()
        assert data.endswith(b"\n")  # the record that did not fit was cut back whole
        kept = records(output)
        assert 0 < len(kept) < 12
        saved = data
    # The same answers on a disk with room: the run answers only the rest.
    roomy = tmp_path / "roomy.jsonl"
    roomy.write_bytes(saved)
    summary = run_batch_file(engine, source, roomy, PARAMS)
    assert (summary.skipped, summary.answered, summary.failed) == (len(kept), 12 - len(kept), 0)
    assert sorted(int(r["index"]) for r in records(roomy)) == list(range(12))  # type: ignore[call-overload]


def test_unreadable_answer_lines_are_asked_again_and_a_torn_utf8_tail_recovers(
    tmp_path: Path, engine: LocalEngine
) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\nWhat is a fifth?\nWhat is a sixth?\n")
    output = tmp_path / "answers.jsonl"
    first = run_batch_file(engine, source, output, PARAMS)
    assert (first.answered, first.failed) == (3, 0)
    lines = output.read_bytes().splitlines(keepends=True)
    # line 2's record is garbled into invalid UTF-8; line 3's is torn inside a character.
    garbled = b'{"id": "2", \xff\xfe}\n'
    torn = lines[2][: lines[2].index(b"sixth")] + "é".encode()[:1]
    write(output, lines[0] + garbled + torn)
    again = run_batch_file(engine, source, output, PARAMS)
    assert (again.skipped, again.answered, again.failed) == (1, 2, 0)
    answered = {r["id"] for r in records_lenient(output) if r.get("error") is None}
    assert answered == {"1", "2", "3"}
    third = run_batch_file(engine, source, output, PARAMS)  # the damaged lines stay harmless
    assert (third.skipped, third.answered) == (3, 0)


def records_lenient(path: Path) -> list[dict[str, object]]:
    out = []
    for raw in path.read_bytes().splitlines():
        try:
            out.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
    return out


def test_failed_prompts_are_named_in_the_summary(tmp_path: Path, engine: LocalEngine) -> None:
    source = write(tmp_path / "q.jsonl", 'What is a triad?\n\x01\x02\n{"id": "x", "prompt": ""}\n')
    output = tmp_path / "answers.jsonl"
    summary = run_batch_file(engine, source, output, PARAMS)
    assert (summary.total, summary.answered, summary.failed) == (3, 1, 2)
    assert summary.failed_ids == ["2", "x"] and summary.errors == {"INVALID_INPUT": 2}
    assert [r["id"] for r in records(output)] == ["2", "x", "1"]  # refusals are written first


def test_progress_counts_every_item_and_its_failures(tmp_path: Path, engine: LocalEngine) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\n\x01\nWhat is a fifth?\n")
    seen: list[tuple[int, int]] = []
    run_batch_file(
        engine, source, tmp_path / "a.jsonl", PARAMS, on_progress=lambda n, f: seen.append((n, f))
    )
    assert sorted(seen) == [(1, 0), (1, 0), (1, 1)]


def test_an_answers_file_made_for_a_run_that_failed_to_start_is_removed(
    tmp_path: Path,
) -> None:
    source = write(tmp_path / "q.txt", "What is a triad?\n")
    output = tmp_path / "sub" / "answers.jsonl"
    with BatchFile(source, output) as job:
        assert output.exists() and len(job.todo) == 1
    assert not output.exists()  # nothing was written: no empty file left behind
    write(output, "")
    with BatchFile(source, output):
        pass
    assert output.exists()  # the user's own file stays
    assert os.path.getsize(output) == 0
