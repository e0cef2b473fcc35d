"""Real small file systems for tests of a full disk and a read-only folder.

A tmpfs mounted with a size limit fills up for real (``ENOSPC`` from the kernel), and
one remounted read-only refuses writes for real (``EROFS``), even for root, which a
``chmod`` does not.  Mounting needs root (CI and the development machines run as
root); elsewhere the fixture fails with the reason rather than passing silently.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["read_only", "small_disk"]


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()} (needs root)")


@contextmanager
def small_disk(path: Path, size: str = "1m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``path`` (created) for the block; unmount after."""
    path.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """Make the folder ``path`` (existing content kept) read-only for the block.

    A bind mount of the folder onto itself, remounted read-only; unmounted after.
    """
    path.mkdir(parents=True, exist_ok=True)
    _run("mount", "--bind", str(path), str(path))
    try:
        _run("mount", "-o", "remount,bind,ro", str(path))
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
