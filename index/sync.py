"""Incremental sync by content hash: only new or changed articles are chunked and embedded."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from index.backend import Location, Writer, open_store, open_writer
from index.chunking import ChunkSettings, chunk_article, embedding_text
from index.embedding import Embedder, fingerprint
from index.records import Article, SourceFailure
from index.sources import SourceLimits, scan
from index.store import IndexMeta

Progress = Callable[[str, int, int], None]
"""(stage, done, total) callback for progress bars."""

# Articles are embedded in groups so memory stays bounded on big corpora.
_GROUP_CHUNKS = 2048


@dataclass
class SyncReport:
    """What a sync changed, skipped and failed on."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    metadata_updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0
    meta: IndexMeta | None = None


def _under(source: str, roots: Iterable[str]) -> bool:
    return any(source == r or source.startswith((r + os.sep, r + "#")) for r in roots)


def sync(
    index_dir: Location, specs: Sequence[str], embedder: Embedder, chunking: ChunkSettings,
    limits: SourceLimits, *, prune: bool = True, progress: Progress | None = None,
) -> SyncReport:
    """Bring the index in line with the given sources; prune only inside folder/file roots.
    index_dir is a folder (the embedded index) or a Database (PostgreSQL)."""
    started = time.perf_counter()
    report = SyncReport()
    # Probed before the writer opens: an embedder that cannot answer changes nothing.
    space = fingerprint.space(embedder)
    with open_writer(index_dir, space, chunking.describe()) as writer:
        found = scan(list(specs), limits)
        report.failures = found.failures
        catalog = writer.catalog()
        by_hash = {row.content_hash: source for source, row in catalog.items()}
        taken = {row.id for row in catalog.values()}
        leaving = {s for s in catalog if prune and s not in found.seen
                   and _under(s, found.prune_roots) and not _under(s, found.partly_read)}
        todo: list[Article] = []
        batch_hashes: dict[str, str] = {}
        for draft in found.drafts:
            h = draft.content_hash
            old = catalog.get(draft.source)
            if old is not None:
                if old.content_hash != h:
                    todo.append(replace(draft, id=old.id))
                    report.updated.append(old.id)
                elif old.metadata != _metadata(draft):
                    writer.update_metadata(replace(draft, id=old.id))
                    report.metadata_updated.append(old.id)
                else:
                    report.unchanged += 1
            elif (twin := by_hash.get(h)) is not None and twin in leaving:
                leaving.discard(twin)
                writer.update_metadata(replace(draft, id=catalog[twin].id))
                report.moved.append(catalog[twin].id)
            elif twin is not None or h in batch_hashes:
                of = catalog[twin].id if twin is not None else batch_hashes[h]
                report.duplicates.append((draft.source, of))
            else:
                article_id = _free_id(draft.id, taken)
                if article_id != draft.id:
                    report.renamed.append((draft.id, article_id))
                taken.add(article_id)
                batch_hashes[h] = article_id
                todo.append(replace(draft, id=article_id))
                report.added.append(article_id)
        for source in sorted(leaving):
            writer.remove(catalog[source].id)
            report.removed.append(catalog[source].id)
        report.chunks_embedded = _embed_and_store(writer, todo, embedder, chunking, progress)
        report.meta = writer.commit()
    report.seconds = time.perf_counter() - started
    return report


def _metadata(d: Article) -> tuple[str | None, ...]:
    return (d.url, d.published, d.outlet, d.language)


def _free_id(wanted: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


def _embed_and_store(writer: Writer, articles: Iterable[Article], embedder: Embedder,
                     chunking: ChunkSettings, progress: Progress | None) -> int:
    """Chunk, embed in large batches (the encoder's fast path) and store; returns chunk count."""
    pending = [(a, chunk_article(a, chunking)) for a in articles]
    total = sum(len(chunks) for _, chunks in pending)
    done = 0
    if progress:
        progress("embedding", 0, total)
    group: list[tuple[Article, list]] = []  # type: ignore[type-arg]
    size = 0
    for item in [*pending, None]:
        if item is not None:
            group.append(item)
            size += len(item[1])
            if size < _GROUP_CHUNKS:
                continue
        if not group:
            continue
        texts = [embedding_text(a.title, c.text) for a, chunks in group for c in chunks]
        vecs = embedder.embed_passages(texts)
        offset = 0
        for article, chunks in group:
            writer.put(article, chunks, vecs[offset : offset + len(chunks)])
            offset += len(chunks)
        done += size
        if progress:
            progress("embedding", done, total)
        group, size = [], 0
    return total


def add(index_dir: Location, specs: Sequence[str], embedder: Embedder, chunking: ChunkSettings,
        limits: SourceLimits, progress: Progress | None = None) -> SyncReport:
    """Add or update the given sources without removing anything."""
    return sync(index_dir, specs, embedder, chunking, limits, prune=False, progress=progress)


def remove(index_dir: Location, article_ids: Sequence[str]) -> IndexMeta:
    """Delete articles by id (all or nothing)."""
    meta = _current_meta(index_dir)
    with open_writer(index_dir, meta.space(), meta.chunking) as writer:
        for article_id in article_ids:
            writer.remove(article_id)
        return writer.commit(synced=False)


def rebuild(index_dir: Location, embedder: Embedder, chunking: ChunkSettings,
            progress: Progress | None = None) -> SyncReport:
    """Re-chunk and re-embed every stored article with the configured model and chunking."""
    started = time.perf_counter()
    store = open_store(index_dir)
    try:
        articles = [s.article for s in store.articles()]
    finally:
        store.close()
    report = SyncReport(updated=[a.id for a in articles])
    with open_writer(index_dir, fingerprint.space(embedder), chunking.describe(),
                     fresh=True) as writer:
        report.chunks_embedded = _embed_and_store(writer, articles, embedder, chunking, progress)
        report.meta = writer.commit()
    report.seconds = time.perf_counter() - started
    return report


def _current_meta(index_dir: Location) -> IndexMeta:
    store = open_store(index_dir)
    try:
        return store.meta
    finally:
        store.close()
