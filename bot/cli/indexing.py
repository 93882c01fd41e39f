"""`tanya index ...`: build and maintain the article index."""

from __future__ import annotations

from typing import Annotated

import typer

from bot import runtime
from bot.cli import render
from bot.cli.common import EXIT_SKIPPED, JsonOpt, guard, progress_bar
from bot.config import Settings
from index.records import SourceFailure
from index.sync import SyncReport

index_app = typer.Typer(help="Build and maintain the article index.", no_args_is_help=True)


def _finish(report: SyncReport, as_json: bool) -> None:
    if as_json:
        typer.echo(render.to_json(render.report_dict(report)))
    else:
        typer.echo(render.report_text(report))
    _report_failures(report.failures)
    if report.failures:
        raise typer.Exit(EXIT_SKIPPED)


def _report_failures(failures: list[SourceFailure]) -> None:
    for failure in failures:
        typer.echo(f"skipped {failure}", err=True)


@index_app.command("sync")
def index_sync(
    paths: Annotated[list[str], typer.Argument(help="Folders, files, URLs or feeds to mirror.")],
    watch: Annotated[bool, typer.Option("--watch", help="Keep running; sync again when files "
                                        "change (URLs: every interval).")] = False,
    interval: Annotated[float, typer.Option("--interval", min=1,
                                            help="Seconds between checks with --watch.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Add new, re-embed changed and drop deleted articles under PATHS (incremental)."""
    from index.sync import sync

    settings = Settings()
    embedder = guard(lambda: runtime.embedder(settings))

    def run() -> SyncReport:
        with progress_bar(not as_json) as progress:
            return sync(settings.index_location, paths, embedder, settings.chunking(),
                        settings.source_limits(), progress=progress)

    if not watch:
        _finish(guard(run), as_json)
        return
    import threading

    from index.watch import watch as watch_paths

    def once() -> None:
        try:
            _finish(guard(run), as_json)
        except typer.Exit as done:  # in watch mode a failed round is reported, not fatal
            if done.exit_code not in (0, EXIT_SKIPPED):
                typer.echo("sync failed; will retry at the next change", err=True)

    stop = threading.Event()
    try:
        watch_paths(paths, interval, once, stop)
    except KeyboardInterrupt:
        stop.set()


@index_app.command("add")
def index_add(
    sources: Annotated[list[str], typer.Argument(help="Files, folders, URLs, JSONL or feeds.")],
    as_json: JsonOpt = False,
) -> None:
    """Add or update articles without removing anything."""
    from index.sync import add

    settings = Settings()

    def run() -> SyncReport:
        with progress_bar(not as_json) as progress:
            return add(settings.index_location, sources, runtime.embedder(settings),
                       settings.chunking(), settings.source_limits(), progress)

    _finish(guard(run), as_json)


@index_app.command("remove")
def index_remove(
    ids: Annotated[list[str], typer.Argument(help="Article ids (see `tanya index status`).")],
    as_json: JsonOpt = False,
) -> None:
    """Delete articles from the index by id."""
    from index.sync import remove

    settings = Settings()
    meta = guard(lambda: remove(settings.index_location, ids))
    if as_json:
        typer.echo(render.to_json({"removed": ids, "articles": meta.articles,
                                   "chunks": meta.chunks}))
    else:
        typer.echo(f"Removed {len(ids)} article(s); now {meta.articles} articles, "
                   f"{meta.chunks} chunks.")


@index_app.command("rebuild")
def index_rebuild(as_json: JsonOpt = False) -> None:
    """Re-chunk and re-embed every stored article (after changing model or chunking)."""
    from index.sync import rebuild

    settings = Settings()

    def run() -> SyncReport:
        with progress_bar(not as_json) as progress:
            return rebuild(settings.index_location, runtime.embedder(settings), settings.chunking(),
                           progress)

    _finish(guard(run), as_json)


@index_app.command("status")
def index_status(
    list_articles: Annotated[bool, typer.Option("--articles", help="List every article.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Articles, chunks, model, size and last sync of the index."""
    from index.backend import open_store

    settings = Settings()
    store = guard(lambda: open_store(settings.index_location))
    try:
        m = store.meta
        status = {"backend": runtime.index_backend(settings)[0], "index": store.location,
                  "articles": m.articles, "chunks": m.chunks,
                  "embedding_model": m.embed_model, "dim": m.dim,
                  "built_by": m.served_model or "in process", "chunking": m.chunking,
                  "vector_index": store.vector_index(),
                  "size_mb": round(store.size_bytes() / 2**20, 2), "created": m.created,
                  "last_sync": m.last_sync}
        rows = [{"id": s.article.id, "title": s.article.title, "chunks": s.chunk_count,
                 "published": s.article.published, "source": s.article.source}
                for s in store.articles()] if list_articles else []
    finally:
        store.close()
    if as_json:
        typer.echo(render.to_json({**status, **({"articles_list": rows} if rows else {})}))
        return
    typer.echo(render.status_text(status))
    for r in rows:
        typer.echo(f"  {r['id']}  ({r['chunks']} chunks)  {r['title']}")
