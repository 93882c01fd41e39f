"""`tanya index sync --watch`: re-sync when files under the watched paths change.

Local paths are polled with a cheap stat walk (size and modification time), so nothing is read
or embedded while nothing changes; URLs and feeds are fetched again every interval.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from index.sources import is_url

Fingerprint = frozenset[tuple[str, int, int]]


def fingerprint(paths: Sequence[str]) -> Fingerprint:
    """(path, size, mtime) of every file under the local paths."""
    seen: set[tuple[str, int, int]] = set()
    for spec in paths:
        if is_url(spec):
            continue
        root = Path(spec).expanduser()
        files = [root] if root.is_file() else (
            Path(d) / f for d, _, names in os.walk(root) for f in names)
        for file in files:
            try:
                st = file.stat()
            except OSError:
                continue
            seen.add((str(file), st.st_size, st.st_mtime_ns))
    return frozenset(seen)


def watch(paths: Sequence[str], interval_s: float, run: Callable[[], None],
          stop: threading.Event) -> None:
    """Run once, then again whenever a local file changed (or every interval for URLs)."""
    has_urls = any(is_url(p) for p in paths)
    last = fingerprint(paths)
    run()
    while not stop.wait(interval_s):
        now = fingerprint(paths)
        if has_urls or now != last:
            last = now
            run()
