"""The `tanya` command line. Parses input, calls the pipeline, prints the result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from bot import runtime
from bot.cli import render
from bot.cli.common import EXIT_ERROR, JsonOpt, guard, note, settings_error
from bot.cli.indexing import index_app
from bot.cli.models import models_app
from bot.config import Settings
from index.filters import Filters, build

app = typer.Typer(help="tanya: ask questions about your own articles, with cited sources.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.add_typer(index_app, name="index")
app.add_typer(models_app, name="models")



CLI_CHAT = 0
"""The command line's conversation in conversations.db (Telegram chat ids are never 0)."""
ModelOpt = Annotated[str | None,
                     typer.Option("--model", help="Preset, .gguf path or hf:REPO/FILE.")]
PassagesOpt = Annotated[int | None, typer.Option("-k", min=1, max=10,
                                                 help="Passages quoted to the model.")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="Only articles published on or after this day (YYYY, YYYY-MM or YYYY-MM-DD).")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="Only articles published on or before this day (a year or month: its end).")]
OutletOpt = Annotated[list[str] | None, typer.Option(
    "--outlet", help="Only articles from this outlet (any case; repeat for several).")]


def _filters(since: str | None, until: str | None, outlets: list[str] | None) -> Filters:
    return build(since, until, outlets or ())


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many passages.")] = 5,
    since: SinceOpt = None, until: UntilOpt = None, outlet: OutletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the best matching passages (hybrid dense + BM25), no language model."""
    from index.search import search

    settings = Settings()

    def run() -> None:
        filters = _filters(since, until, outlet)
        store = runtime.open_index(settings)
        try:
            embedder = runtime.embedder(settings)
            runtime.check_embedder(store, embedder, settings.probe_cache)
            hits = search(store, embedder, query, k, settings.searching(), filters)
        finally:
            store.close()
        if as_json:
            typer.echo(render.to_json({"query": query, "filters": render.filters_dict(filters),
                                       "hits": [render.hit_dict(h) for h in hits]}))
        else:
            typer.echo(render.hits_text(query, hits, filters=filters))

    guard(run)


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="Your question, in any language.")],
    model: ModelOpt = None, k: PassagesOpt = None,
    since: SinceOpt = None, until: UntilOpt = None, outlet: OutletOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from the articles, citing the passages it used."""
    from bot.engine import Session

    settings = Settings()
    filters = guard(lambda: _filters(since, until, outlet))
    session = guard(lambda: Session.open(settings, model, k, note))
    try:
        view = render.AskView(sys.stdout, sys.stderr, as_json=as_json)
        guard(lambda: view.finish(session.ask(question, view.events(), filters)))
    finally:
        session.close()


@app.command("chat")
def chat_cmd(model: ModelOpt = None, k: PassagesOpt = None, since: SinceOpt = None,
             until: UntilOpt = None, outlet: OutletOpt = None,
             resume: Annotated[bool, typer.Option(
                 "--resume", help="Go on with the last chat's conversation (kept in "
                 "conversations.db under TANYA_HOME).")] = False) -> None:
    """Ask several questions; follow-ups keep context. /new starts over, /quit or Ctrl-D ends.

    The filters apply to every question of the chat. Its turns are kept on disk, so that
    `tanya chat --resume` can go on where the last chat stopped."""
    from bot.engine import Session
    from bot.telegram.conversations import Conversations

    settings = Settings()
    filters = guard(lambda: _filters(since, until, outlet))
    session = guard(lambda: Session.open(settings, model, k, note))
    kept = Conversations(settings.conversations_db, session.engine.answer_settings.history_turns,
                         settings.telegram.conversation_hours)
    if resume:
        session.history.extend(kept.history(CLI_CHAT))
    else:
        kept.forget(CLI_CHAT)
    typer.echo("Ask about your articles. /new starts a new topic, /quit ends."
               + (f" (resumed: {len(session.history)} earlier turns)" if resume else ""))
    try:
        while True:
            try:
                line = input("\n? ").strip()
            except EOFError:
                break
            if line in ("/quit", "/exit"):
                break
            if line == "/new":
                session.history.clear()
                kept.forget(CLI_CHAT)
                typer.echo("(new topic)")
                continue
            if line:
                view = render.AskView(sys.stdout, sys.stderr, as_json=False)
                result = guard(lambda: session.ask(line, view.events(), filters))  # noqa: B023
                guard(lambda: view.finish(result))  # noqa: B023
                kept.add(CLI_CHAT, result)
    finally:
        kept.close()
        session.close()


@app.command("eval")
def eval_cmd(
    dataset: Annotated[Path, typer.Argument(help="Folder with passages.jsonl + questions.jsonl, "
                                            "or a SQuAD-style JSON file.")],
    preset: ModelOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1,
                                              help="Questions to ask (evenly spaced).")] = None,
    retrieval_only: Annotated[bool, typer.Option("--retrieval-only",
                                                 help="Skip the language model.")] = False,
    home: Annotated[Path | None, typer.Option("--home", help="Keep the index here "
                                              "(default: a temporary folder).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Retrieval recall, answer accuracy, citation precision, refusals and latency on a QA set."""
    from bot.cli.evaluation import run_eval

    guard(lambda: run_eval(Settings(), dataset, preset, limit, retrieval_only, home, as_json))


@app.command("config")
def config_cmd(as_json: JsonOpt = False) -> None:
    """Print the effective settings (secrets masked) and where each value came from."""
    from dataclasses import asdict

    from bot.cli.settings import rows

    settings = guard(Settings)
    table = guard(lambda: rows(settings))
    backend, where = runtime.index_backend(settings)
    if as_json:
        typer.echo(render.to_json({"settings": [asdict(r) for r in table],
                                   "index": {"backend": backend, "location": where}}))
        return
    width = max(len(r.variable) for r in table)
    for r in table:
        typer.echo(f"{r.variable:<{width}}  {r.value or '(unset)'}  [{r.source}]")
    typer.echo(f"\nindex: {backend} {where}")


@app.command("telegram")
def telegram_cmd() -> None:
    """Run the Telegram bot (token from TANYA_TELEGRAM_TOKEN; see README)."""
    from bot.telegram.main import run

    guard(lambda: run(Settings()))


def main() -> None:
    """Console script entry point; bad settings read outside a command's guard are one line."""
    try:
        app()
    except ValidationError as exc:
        typer.echo(f"error: {settings_error(exc)}", err=True)
        raise SystemExit(EXIT_ERROR) from None

