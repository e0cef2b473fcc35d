from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from music_reasoning import errors
from music_reasoning.errors import EXIT_CODES, MusicReasoningError

ALL = [
    (errors.InvalidInputError, "INVALID_INPUT", ValueError),
    (errors.ModelUnavailableError, "MODEL_UNAVAILABLE", FileNotFoundError),
    (errors.CorruptedModelError, "CORRUPTED_MODEL", MusicReasoningError),
    (errors.InsufficientRAMError, "INSUFFICIENT_RAM", MemoryError),
    (errors.InferenceTimeoutError, "TIMEOUT", TimeoutError),
    (errors.InferenceError, "INFERENCE_FAILED", RuntimeError),
    (errors.DownloadError, "DOWNLOAD_FAILED", ConnectionError),
    (errors.InsufficientDiskError, "INSUFFICIENT_DISK", OSError),
    (errors.TierLimitError, "TIER_LIMIT", PermissionError),
    (errors.CloudError, "CLOUD_UNAVAILABLE", ConnectionError),
    (errors.StorageError, "STORAGE_UNAVAILABLE", OSError),
    (errors.AuthenticationError, "UNAUTHORIZED", PermissionError),
    (errors.ServerBusyError, "SERVER_BUSY", MusicReasoningError),
]


@pytest.mark.parametrize(("cls", "code", "builtin"), ALL)
def test_each_error_has_code_message_suggestion(cls: type, code: str, builtin: type) -> None:
    err = cls("boom", details={"k": 1})
    assert err.code == code
    assert isinstance(err, builtin)
    assert isinstance(err, MusicReasoningError)
    data = err.to_dict()
    assert (data["code"], data["message"], data["suggestion"]) == (code, "boom", err.suggestion)
    assert data["details"]["k"] == 1
    assert err.suggestion  # a default suggestion always exists
    assert code in str(err)


def test_exit_codes_are_distinct_and_cover_every_code() -> None:
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    for cls, code, _ in ALL:
        assert EXIT_CODES[cls.code] == EXIT_CODES[code] > 1


def test_explicit_suggestion_wins_and_cause_is_chained() -> None:
    try:
        try:
            raise KeyError("x")
        except KeyError as exc:
            raise errors.InferenceError("failed", suggestion="do y", transient=True) from exc
    except errors.InferenceError as err:
        assert err.suggestion == "do y"
        assert err.transient is True
        assert isinstance(err.__cause__, KeyError)


@pytest.mark.parametrize(
    ("number", "cls"),
    [
        (errno.ENOSPC, errors.InsufficientDiskError),
        (errno.EDQUOT, errors.InsufficientDiskError),
        (errno.EROFS, errors.StorageError),
        (errno.EACCES, errors.StorageError),
        (errno.EISDIR, errors.StorageError),
    ],
)
def test_storage_error_maps_errno_to_a_coded_error(number: int, cls: type) -> None:
    err = errors.storage_error(OSError(number, "boom"), "/x/answers.jsonl", "write")
    assert type(err) is cls
    assert "/x/answers.jsonl" in err.message
    assert err.details["errno"] == errno.errorcode[number]
    assert err.suggestion and err.suggestion != errors.MusicReasoningError.default_suggestion


@pytest.mark.parametrize("number", [errno.EROFS, errno.ENOSPC, errno.ELOOP])
def test_storage_error_for_a_path_the_user_chose_suggests_another_one(number: int) -> None:
    err = errors.storage_error(OSError(number, "boom"), "/ro/out.jsonl", "write", option="-o")
    assert "give -o a path" in err.suggestion
    assert "MUSIC_REASONING_HOME" not in err.suggestion
    home = errors.storage_error(OSError(number, "boom"), "/ro/config.toml", "write")
    assert "MUSIC_REASONING_HOME" in home.suggestion  # the package's own state folder


def test_not_a_file_says_what_is_there(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert errors.not_a_file(tmp_path / "nope") == "not there"
    assert errors.not_a_file(tmp_path) == "a folder, not a file"
    assert errors.not_a_file(fifo).startswith("not a regular file")
    assert errors.not_a_file("/dev/zero").startswith("not a regular file")
