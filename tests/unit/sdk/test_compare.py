"""The comparison report: parsing --models, merging, the Markdown table and the charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from music_reasoning.errors import InvalidInputError
from music_reasoning.sdk.compare import (
    MAX_MODELS,
    METRICS,
    merge_report,
    parse_models,
    render_charts,
    render_markdown,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _eval(accuracy: float) -> dict[str, Any]:
    mode = {"accuracy": accuracy, "contradicted": 0.1, "coverage": 0.5, "questions": 8}
    return {
        "set": "diagnostic",
        "limit": None,
        "raw": dict(mode, accuracy=accuracy / 10),
        "hybrid": dict(mode, own_words=0.4, own_words_first_try=0.3),
    }


def _bench(tps: float) -> dict[str, Any]:
    return {"decode_tokens_per_second": tps, "load_ms": 900.0, "size_mib": 241.0}


def _report(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "model-comparison", "version": 1, "models": list(entries)}


def _entry(model: str, quantization: str | None = "Q4_K_M", **sections: Any) -> dict[str, Any]:
    return {
        "model": model,
        "file": "x.gguf",
        "quantization": quantization,
        "size_mib": 241.4,
        **sections,
    }


FULL = _report(
    _entry("gemma3-270m", eval=_eval(0.9), bench=_bench(50.0)),
    _entry("gemma3-270m:Q4_0", "Q4_0", eval=_eval(0.8), bench=_bench(70.0)),
    _entry("/tmp/other.gguf", None, eval=_eval(0.7), bench=_bench(20.0)),
)


def _pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gemma3-270m", ["gemma3-270m"]),
        (" a , b:Q4_0 ", ["a", "b:Q4_0"]),
        ("/models/x.gguf,hf.co/o/r:Q8_0", ["/models/x.gguf", "hf.co/o/r:Q8_0"]),
    ],
)
def test_parse_models_splits_and_strips(text: str, expected: list[str]) -> None:
    assert parse_models(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        ",",
        "a,",
        ",a",
        "a,,b",
        "a,a",
        "a, a",
        ",".join(f"m{i}" for i in range(MAX_MODELS + 1)),
    ],
)
def test_parse_models_refuses_malformed_lists(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_models(text)
    assert (
        caught.value.code == "INVALID_INPUT"
        and "--models" in caught.value.suggestion + caught.value.message
    )


def test_markdown_has_a_row_per_model_and_a_column_per_series() -> None:
    text = render_markdown(FULL)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == [
        "`gemma3-270m`",
        "`gemma3-270m:Q4_0`",
        "`/tmp/other.gguf`",
    ]
    header = text.splitlines()[2]
    columns = 2 + sum(len(m.series) for m in METRICS)
    assert header.count("|") == columns + 1
    assert all(r.count("|") == columns + 1 for r in rows)
    assert "90.0%" in rows[0] and "9.0%" in rows[0]  # hybrid and raw accuracy
    assert "50.0" in rows[0] and "70.0" in rows[1]  # tokens/s
    assert "| - |" not in "\n".join(rows[:2])  # every value is known but the quantization of a path
    assert "[tokens/s](tokens_per_second.png)" in text


def test_markdown_shows_missing_numbers_as_dashes() -> None:
    text = render_markdown(_report(_entry("a", eval=_eval(0.5))))
    row = next(line for line in text.splitlines() if line.startswith("| `a`"))
    assert row.count("| - ") == 2  # tokens/s and load time: no bench yet
    assert "tokens_per_second.png" not in text  # no chart without numbers


def test_charts_are_one_valid_png_per_metric(tmp_path: Path) -> None:
    written = render_charts(FULL, tmp_path)
    assert len(written) == len(METRICS) == 7
    assert _pngs(tmp_path) == sorted(written)
    assert {p.stem for p in written} == {m.name for m in METRICS}
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_charts_leave_out_metrics_nobody_has(tmp_path: Path) -> None:
    written = render_charts(_report(_entry("a", bench=_bench(10.0))), tmp_path)
    assert {p.stem for p in written} == {"tokens_per_second", "load_ms", "size_mib"}


def test_merge_keeps_the_other_sections_and_models() -> None:
    old = _report(_entry("a", eval=_eval(0.5)), _entry("b", eval=_eval(0.6)))
    new = _report(_entry("a", bench=_bench(30.0)), _entry("c", bench=_bench(40.0)))
    merged = merge_report(old, new)
    assert [e["model"] for e in merged["models"]] == ["a", "c", "b"]
    assert set(merged["models"][0]) >= {"eval", "bench"}
    assert merge_report({"kind": "something else", "models": [{"model": "x"}]}, new) == new


def test_write_report_merges_with_the_folder_and_lists_its_files(tmp_path: Path) -> None:
    first = write_report(_report(_entry("a", eval=_eval(0.5))), tmp_path)
    assert len(first["files"]) == 2 + 5  # json, md, four eval charts and size
    second = write_report(_report(_entry("a", bench=_bench(30.0))), tmp_path)
    stored = json.loads((tmp_path / "report.json").read_text())
    assert stored["models"][0]["eval"]["hybrid"]["accuracy"] == 0.5
    assert stored["models"][0]["bench"]["decode_tokens_per_second"] == 30.0
    assert len(_pngs(tmp_path)) == len(METRICS)
    assert second["files"][:2] == [str(tmp_path / "report.json"), str(tmp_path / "report.md")]


def test_write_report_replaces_an_unreadable_report(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{not json")
    out = write_report(_report(_entry("a", bench=_bench(30.0))), tmp_path)
    assert [e["model"] for e in out["models"]] == ["a"]
    assert json.loads((tmp_path / "report.json").read_text())["models"][0]["model"] == "a"
