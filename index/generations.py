"""Generation directories: each committed index version lives in its own folder.

The `CURRENT` file names the live generation and is replaced atomically, so a reader
or a crash only ever sees a complete generation.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

CURRENT = "CURRENT"
_GEN = re.compile(r"^g(\d{6,})$")


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when no index was ever committed."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not _GEN.match(name):
        return None
    path = index_dir / name
    return path if path.is_dir() else None


def new_generation(index_dir: Path) -> Path:
    """Create and return an empty folder for the next generation."""
    index_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in index_dir.iterdir() if (m := _GEN.match(p.name))]
    path = index_dir / f"g{max(numbers, default=0) + 1:06d}"
    path.mkdir()
    return path


def publish(index_dir: Path, generation: Path) -> None:
    """Make `generation` the live one: fsync its files, then atomically swap CURRENT."""
    for item in generation.iterdir():
        fsync_file(item)
    fsync_dir(generation)
    tmp = index_dir / f"{CURRENT}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(generation.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT)
    fsync_dir(index_dir)


def collect_garbage(index_dir: Path, keep_previous: Path | None) -> None:
    """Delete generations other than the live one and the one before it.

    The previous one is kept because a reader may have just read CURRENT and be opening it.
    """
    live = current_generation(index_dir)
    keep = {p.name for p in (live, keep_previous) if p is not None}
    for item in index_dir.iterdir():
        if _GEN.match(item.name) and item.name not in keep:
            shutil.rmtree(item, ignore_errors=True)


def discard(generation: Path) -> None:
    """Remove an unpublished generation after a failed write."""
    shutil.rmtree(generation, ignore_errors=True)


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry list to disk (no-op where the OS does not allow it)."""
    with contextlib.suppress(OSError):
        fsync_file(path)
