"""`models import`: Ollama's store and folders of GGUF files, registered in place."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from music_reasoning.cli.main import cli
from music_reasoning.errors import CorruptedModelError, InvalidInputError, ModelUnavailableError
from music_reasoning.models import store
from music_reasoning.models.files import models_dir
from music_reasoning.models.imports import import_folder, import_ollama
from music_reasoning.models.registry import get_model, load_registry
from tests.support.ollama_store import ollama_store, tiny_gguf


@pytest.fixture
def ollama(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ollama-models"
    monkeypatch.setenv("OLLAMA_MODELS", str(root))
    return root


def test_an_ollama_model_is_registered_in_place_and_verifies(tmp_path: Path, ollama: Path) -> None:
    blob = ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf", "Q8_0"), name="tiny", tag="1b")
    imported = import_ollama("tiny:1b", progress=False)
    assert imported.model == "ollama/tiny:1b:Q8_0"
    assert imported.sha256 == blob.name.removeprefix("sha256-")
    entry = get_model("ollama/tiny:1b")
    variant = entry.variant()
    assert (variant.path, variant.sha256, variant.size) == (
        str(blob.resolve()),
        imported.sha256,
        blob.stat().st_size,
    )
    assert store.resolve("ollama/tiny:1b") == blob.resolve()  # used where Ollama keeps it
    assert not any(p.suffix == ".gguf" for p in models_dir().rglob("*"))  # nothing copied
    assert store.verify("ollama/tiny:1b")["ok"] is True
    assert store.remove("ollama/tiny:1b") == ["forgot ollama/tiny:1b:Q8_0"] and blob.exists()


def test_the_tag_defaults_to_latest_and_full_names_work(tmp_path: Path, ollama: Path) -> None:
    ollama_store(ollama, tiny_gguf(tmp_path / "a.gguf"), name="tiny")
    ollama_store(
        ollama, tiny_gguf(tmp_path / "b.gguf", "F16"), host="hf.co", namespace="me", name="x"
    )
    assert import_ollama("tiny", progress=False).model == "ollama/tiny:latest:Q4_K_M"
    assert import_ollama("hf.co/me/x:latest").model == "ollama/hf.co-me-x:latest:F16"


def test_a_tampered_blob_is_refused_and_nothing_is_registered(tmp_path: Path, ollama: Path) -> None:
    blob = ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf"))
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.unlink()  # a hard link: write a new file, leave the original alone
    blob.write_bytes(bytes(data))
    with pytest.raises(CorruptedModelError) as exc:
        import_ollama("tiny")
    assert exc.value.code == "CORRUPTED_MODEL" and "ollama pull tiny" in exc.value.suggestion
    assert exc.value.details["actual_sha256"] == hashlib.sha256(data).hexdigest()
    assert not any(name.startswith("ollama/") for name in load_registry())


def test_a_missing_tag_lists_the_tags_found(tmp_path: Path, ollama: Path) -> None:
    ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf"), tag="1b")
    ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf"), tag="3b")
    with pytest.raises(ModelUnavailableError) as exc:
        import_ollama("tiny:7b")
    assert exc.value.code == "MODEL_UNAVAILABLE" and exc.value.details["tags"] == ["1b", "3b"]
    assert "1b, 3b" in exc.value.message and "tiny:1b" in exc.value.suggestion
    with pytest.raises(ModelUnavailableError, match=r"no registry\.ollama\.ai/library/other"):
        import_ollama("other")


def test_no_ollama_store_says_where_it_looked(tmp_path: Path, ollama: Path) -> None:
    with pytest.raises(ModelUnavailableError) as exc:
        import_ollama("tiny")
    assert str(ollama) in exc.value.message and "OLLAMA_MODELS" in exc.value.suggestion


@pytest.mark.parametrize("ref", ["", "a/b/c/d", "../x", "x:a/b", "X Y", "tiny:\x00"])
def test_names_ollama_would_not_accept_are_refused(ollama: Path, ref: str) -> None:
    with pytest.raises(InvalidInputError):
        import_ollama(ref)


def test_a_manifest_without_weights_or_blob_is_unavailable(tmp_path: Path, ollama: Path) -> None:
    blob = ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf"))
    blob.unlink()
    with pytest.raises(ModelUnavailableError, match="missing"):
        import_ollama("tiny")
    manifest = ollama / "manifests/registry.ollama.ai/library/tiny/latest"
    manifest.write_text(json.dumps({"layers": [{"mediaType": "x", "digest": "sha256:00"}]}))
    with pytest.raises(ModelUnavailableError, match="model layer"):
        import_ollama("tiny")


def test_a_folder_import_registers_ggufs_and_skips_the_rest(tmp_path: Path) -> None:
    tree = tmp_path / "lmstudio" / "models"
    q4 = tiny_gguf(
        tree / "bartowski" / "Qwen2.5-0.5B-Instruct-GGUF" / "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"
    )
    q8 = tiny_gguf(
        tree / "bartowski" / "Qwen2.5-0.5B-Instruct-GGUF" / "Qwen2.5-0.5B-Instruct-Q8_0.gguf",
        "Q8_0",
    )
    by_name = tiny_gguf(tree / "other" / "My-Model.Q5_K_M.gguf", None)  # no file_type: the name
    (tree / "README.md").write_text("models")
    (tree / "other" / "fake.gguf").write_bytes(b"not a model" * 200)
    report = import_folder(tmp_path / "lmstudio", progress=False)
    models = {i.model: i.path for i in report.imported}
    # the curated qwen2.5-0.5b-instruct is taken: the import gets its own name
    assert models == {
        "qwen2.5-0.5b-instruct-2:Q4_K_M": str(q4),
        "qwen2.5-0.5b-instruct-2:Q8_0": str(q8),
        "my-model:Q5_K_M": str(by_name),
    }
    assert {Path(s.path).name: s.reason for s in report.skipped} == {
        "README.md": "not a GGUF file",
        "fake.gguf": "not a GGUF file",
    }
    entry = get_model("qwen2.5-0.5b-instruct-2")
    assert set(entry.variants) == {"Q4_K_M", "Q8_0"} and entry.variant("Q8_0").path == str(q8)
    assert not any(p.suffix == ".gguf" for p in models_dir().rglob("*"))  # nothing copied
    again = import_folder(tmp_path / "lmstudio", progress=False)  # idempotent: same names
    assert {i.model for i in again.imported} == set(models)


def test_a_missing_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError):
        import_folder(tmp_path / "nope")


def test_the_cli_imports_with_json(tmp_path: Path, ollama: Path) -> None:
    ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf"), name="tiny")
    tiny_gguf(tmp_path / "dir" / "a-Q4_0.gguf", "Q4_0")
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "import", "ollama", "tiny", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"][0]["model"] == "ollama/tiny:latest:Q4_K_M"
    result = runner.invoke(cli, ["models", "import", str(tmp_path / "dir")])
    assert result.exit_code == 0 and "registered a:Q4_0" in result.stdout
    result = runner.invoke(cli, ["models", "import", "x", "y"])
    assert result.exit_code == 2


def test_an_ollama_tag_that_looks_like_a_quantization_stays_the_tag(
    tmp_path: Path, ollama: Path
) -> None:
    ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf"), host="hf.co", namespace="me", name="X")
    ollama_store(ollama, tiny_gguf(tmp_path / "m.gguf"), host="hf.co", namespace="me", name="X",
                 tag="Q4_K_M")  # fmt: skip
    imported = import_ollama("hf.co/me/X:Q4_K_M", progress=False)
    assert imported.model == "ollama/hf.co-me-x:q4_k_m:Q4_K_M"
    assert store.resolve("ollama/hf.co-me-x:q4_k_m").name.startswith("sha256-")
    assert store.resolve("ollama/hf.co-me-x:q4_k_m:Q4_K_M").name.startswith("sha256-")


def test_a_folder_name_too_long_for_the_file_system_is_nothing_to_import(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):  # was an OSError
        import_folder(tmp_path / ("a" * 3000))
