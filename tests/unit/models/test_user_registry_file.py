"""The user's ``models.toml`` on disk: mode 0600, comments kept, bad bytes reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from music_reasoning.errors import InvalidInputError, StorageError
from music_reasoning.models.registry import (
    add_user_model,
    forget_user_model,
    load_registry,
    user_registry_path,
)
from tests.support.mounts import read_only

SHA = "ab" * 32
USER_FILE = f"""\
# models I added by hand
[models.mine]
# downloaded from the lab's server
license = "mit"  # checked 2024-05

[models.mine.variants.Q4_0]
urls = ["http://user:pw@127.0.0.1:1/mine.gguf"]  # mirror with a password
sha256 = "{SHA}"
"""


def _write_user_file(text: str = USER_FILE, mode: int = 0o600) -> Path:
    path = user_registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_adding_a_model_keeps_comments_and_mode_0600() -> None:
    path = _write_user_file()
    add_user_model("other", urls=["http://127.0.0.1:1/o.gguf"], sha256=SHA)
    text = path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    for kept in (
        "# models I added by hand",
        "# downloaded from the lab's server",
        'license = "mit"  # checked 2024-05',
        "# mirror with a password",
    ):
        assert kept in text
    registry = load_registry()
    assert registry["mine"].variant("Q4_0").urls == ("http://user:pw@127.0.0.1:1/mine.gguf",)
    assert registry["other"].variant().sha256 == SHA
    assert forget_user_model("other") and "other" not in load_registry()
    assert "# downloaded from the lab's server" in path.read_text()


def test_a_new_or_world_readable_user_registry_gets_mode_0600() -> None:
    add_user_model("other", urls=["http://127.0.0.1:1/o.gguf"], sha256=SHA)
    path = user_registry_path()
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    forget_user_model("other")
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("content", [b"\x00\x01\xff\xfe\x80 binary", b"[models]\n\xe9t\xe9\n"])
def test_a_binary_user_registry_is_invalid_input_naming_the_file(content: bytes) -> None:
    path = user_registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    for call in (load_registry, lambda: forget_user_model("mine")):
        with pytest.raises(InvalidInputError) as info:
            call()
        err = info.value
        assert err.code == "INVALID_INPUT" and str(path) in err.message
        assert "model registry" in err.message and "UTF-8" in err.message
        assert "delete" in err.suggestion.lower()
    assert path.read_bytes() == content


def test_a_read_only_config_folder_reads_the_registry_and_refuses_to_write_it() -> None:
    path = _write_user_file()
    with read_only(path.parent):
        assert "mine" in load_registry()
        with pytest.raises(StorageError) as info:
            add_user_model("other", urls=["http://127.0.0.1:1/o.gguf"], sha256=SHA)
        assert info.value.code == "STORAGE_UNAVAILABLE"
        assert info.value.details["errno"] == "EROFS"
    assert path.read_text() == USER_FILE


def test_forgetting_a_built_in_models_last_user_variant_leaves_no_empty_table() -> None:
    """``models rm gemma3-270m:Q8_0 --forget`` once left ``[models.gemma3-270m.variants]``."""
    path = _write_user_file()
    add_user_model("gemma3-270m:Q8_0", urls=["http://127.0.0.1:1/g.gguf"], sha256=SHA)
    assert forget_user_model("gemma3-270m:Q8_0")
    text = path.read_text()
    assert "gemma3-270m" not in text
    assert text.rstrip() == USER_FILE.rstrip()  # the user's own entry and comments, untouched
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_registry()["gemma3-270m"].embedded


def test_forgetting_the_last_entry_leaves_no_empty_models_table() -> None:
    path = _write_user_file()
    assert forget_user_model("mine:Q4_0")
    assert "[models" not in path.read_text()
    assert "# models I added by hand" in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    add_user_model("gemma3-270m:Q8_0", urls=["http://127.0.0.1:1/g.gguf"], sha256=SHA)
    assert forget_user_model("gemma3-270m")
    assert "[models" not in path.read_text()
