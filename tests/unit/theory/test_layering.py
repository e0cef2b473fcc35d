"""The theory layer's boundaries: music21 stays inside it, exports change on purpose."""

from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import music_reasoning
import music_reasoning.theory as theory

PACKAGE_ROOT = Path(music_reasoning.__file__).parent
BACKEND = PACKAGE_ROOT / "theory" / "_backend.py"


def _imports_music21(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name == "music21" or name.startswith("music21.") for name in names):
            return True
    return False


def test_only_the_theory_backend_imports_music21() -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE_ROOT))
        for path in PACKAGE_ROOT.rglob("*.py")
        if _imports_music21(path)
    )
    assert importers == [str(BACKEND.relative_to(PACKAGE_ROOT))]


def test_importing_theory_does_not_load_music21() -> None:
    code = "import sys, music_reasoning.theory; print('music21' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


def test_public_api_is_pinned() -> None:
    assert sorted(theory.__all__) == [
        "AnalyzedChord",
        "CHORD_QUALITIES",
        "Cadence",
        "ChordInfo",
        "ChordSubstitute",
        "DiatonicChord",
        "KeyPlacement",
        "Pattern",
        "ProgressionInfo",
        "RealizedChord",
        "Resolution",
        "SCALE_TYPES",
        "ScaleDegree",
        "ScaleInfo",
        "ToneMotion",
        "VoiceLeading",
        "analyze_progression",
        "build_chord",
        "chords_on_tonic",
        "common_tones",
        "diatonic_chords",
        "get_scale",
        "identify_chord",
        "interval_between",
        "keys_containing",
        "realize_numeral",
        "realize_progression",
        "resolution",
        "substitutes",
        "voice_leading",
    ]


@pytest.mark.parametrize(
    "module",
    [
        "music_reasoning.theory",
        "music_reasoning.theory.chords",
        "music_reasoning.theory.scales",
        "music_reasoning.theory.progressions",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
    assert result.attempted > 0
