"""Run a sync in a child process and SIGKILL it at a chosen point (used by test_crash.py)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index import generations, vectors, writer
from index.chunking import ChunkSettings
from index.embedding import Vectors
from index.records import Article, Chunk
from index.sources import SourceLimits
from index.sync import sync
from tests.fakes import HashingEmbedder


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(point: str) -> None:
    """Replace one step of the write path (the store calls these modules' functions) with a kill."""
    if point.startswith("put:"):
        limit, calls = int(point[4:]), [0]
        real_put = writer.IndexWriter.put

        def put(self: writer.IndexWriter, article: Article, chunks: Sequence[Chunk],
                vecs: Vectors) -> None:
            calls[0] += 1
            if calls[0] > limit:
                _die()
            real_put(self, article, chunks, vecs)

        writer.IndexWriter.put = put  # type: ignore[method-assign]
    elif point == "save":
        def save(index: Any, path: Path) -> None:
            path.write_bytes(b"partial faiss file")
            _die()

        vectors.save = save
    elif point in ("publish", "after-publish"):
        real_publish = generations.publish

        def publish(index_dir: Path, generation: Path) -> None:
            if point == "after-publish":
                real_publish(index_dir, generation)
            else:
                (index_dir / "CURRENT.tmp").write_text("g999999")
            _die()

        generations.publish = publish
    elif point != "none":
        raise SystemExit(f"unknown kill point {point}")


def main() -> None:
    index_dir, folder, point = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    _arm(point)
    sync(index_dir, [folder], HashingEmbedder(), ChunkSettings(), SourceLimits())


if __name__ == "__main__":
    main()
