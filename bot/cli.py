"""The `tanya` command line: index maintenance and search. Parses input, prints results."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer

from bot import render
from bot.config import Settings
from index.errors import TanyaIndexError
from index.records import SourceFailure
from index.sync import Progress, SyncReport

EXIT_ERROR, EXIT_SKIPPED = 1, 3

app = typer.Typer(help="tanya: ask questions about your own articles, with cited sources.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
index_app = typer.Typer(help="Build and maintain the article index.", no_args_is_help=True)
app.add_typer(index_app, name="index")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
T = TypeVar("T")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def _guard(fn: Callable[[], T]) -> T:
    """Run a command body, turning known errors into one line and exit code 1."""
    try:
        return fn()
    except TanyaIndexError as exc:
        _fail(str(exc))
    except ValueError as exc:  # bad settings values, e.g. chunk sizes
        _fail(str(exc))
    raise AssertionError("unreachable")


def _embedder(settings: Settings):  # type: ignore[no-untyped-def]
    from index.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.embed_model, query_prefix=settings.embed_query_prefix,
        passage_prefix=settings.embed_passage_prefix, batch_size=settings.embed_batch_size)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    with Bar("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
             TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = int(bar.add_task(stage, total=total))
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        yield update


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
    as_json: JsonOpt = False,
) -> None:
    """Add new, re-embed changed and drop deleted articles under PATHS (incremental)."""
    from index.sync import sync

    settings = Settings()

    def run() -> SyncReport:
        with _progress(not as_json) as progress:
            return sync(settings.index_dir, paths, _embedder(settings), settings.chunking(),
                        settings.source_limits(), progress=progress)

    _finish(_guard(run), as_json)


@index_app.command("add")
def index_add(
    sources: Annotated[list[str], typer.Argument(help="Files, folders, URLs, JSONL or feeds.")],
    as_json: JsonOpt = False,
) -> None:
    """Add or update articles without removing anything."""
    from index.sync import add

    settings = Settings()

    def run() -> SyncReport:
        with _progress(not as_json) as progress:
            return add(settings.index_dir, sources, _embedder(settings), settings.chunking(),
                       settings.source_limits(), progress)

    _finish(_guard(run), as_json)


@index_app.command("remove")
def index_remove(
    ids: Annotated[list[str], typer.Argument(help="Article ids (see `tanya index status`).")],
    as_json: JsonOpt = False,
) -> None:
    """Delete articles from the index by id."""
    from index.sync import remove

    settings = Settings()
    meta = _guard(lambda: remove(settings.index_dir, ids))
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
        with _progress(not as_json) as progress:
            return rebuild(settings.index_dir, _embedder(settings), settings.chunking(), progress)

    _finish(_guard(run), as_json)


@index_app.command("status")
def index_status(
    list_articles: Annotated[bool, typer.Option("--articles", help="List every article.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Articles, chunks, model, size and last sync of the index."""
    from index.store import IndexStore

    settings = Settings()
    store = _guard(lambda: IndexStore(settings.index_dir))
    try:
        m = store.meta
        status = {"index": str(settings.index_dir), "articles": m.articles, "chunks": m.chunks,
                  "embedding_model": m.embed_model, "dim": m.dim, "chunking": m.chunking,
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


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many passages.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Show the best matching passages (hybrid dense + BM25), no language model."""
    from index.search import search
    from index.store import IndexStore

    settings = Settings()

    def run() -> list[dict[str, object]]:
        store = IndexStore(settings.index_dir)
        try:
            store.meta.check(settings.index_dir, settings.embed_model, None)
            hits = search(store, _embedder(settings), query, k, settings.search())
        finally:
            store.close()
        if as_json:
            typer.echo(render.to_json({"query": query, "hits": [render.hit_dict(h)
                                                                 for h in hits]}))
        else:
            typer.echo(render.hits_text(query, hits))
        return []

    _guard(run)


def main() -> None:
    """Console script entry point."""
    app()
