"""`sync --watch`: runs again only when a watched file changes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from index.watch import fingerprint, watch


def test_fingerprint_sees_new_changed_and_deleted_files(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("one")
    first = fingerprint([str(tmp_path), "https://example.org/feed.xml"])
    (tmp_path / "b.md").write_text("two")
    second = fingerprint([str(tmp_path)])
    assert first != second and len(second) == 2
    (tmp_path / "a.md").unlink()
    assert len(fingerprint([str(tmp_path)])) == 1


def test_watch_runs_on_changes_only(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("one")
    runs: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=([str(tmp_path)], 0.05,
                                                  lambda: runs.append(time.time()), stop))
    thread.start()
    time.sleep(0.3)
    assert len(runs) == 1, "nothing changed after the first sync"
    (tmp_path / "new.md").write_text("a new article")
    deadline = time.time() + 5
    while len(runs) < 2 and time.time() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert len(runs) == 2 and not thread.is_alive()


def test_urls_are_synced_every_interval(tmp_path: Path) -> None:
    runs: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(["https://example.org/feed.xml"], 0.05,
                                                  lambda: runs.append(1), stop))
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(5)
    assert len(runs) >= 3
