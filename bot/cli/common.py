"""Helpers shared by the command modules: error handling, JSON flag, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from bot.config import Settings
from bot.config.flat import variable
from bot.errors import TanyaBotError
from index.errors import TanyaIndexError
from index.sync import Progress

EXIT_ERROR, EXIT_SKIPPED = 1, 3
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Print one error line and exit with code 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def note(line: str) -> None:
    """A notice for the user on stderr (stdout holds only results)."""
    typer.echo(line, err=True)


def settings_error(exc: ValidationError) -> str:
    """One line for bad settings: the variable and the rule, never the value (it may be secret)."""
    if exc.title != "Settings":
        return str(exc).splitlines()[0]
    error = exc.errors()[0]
    name = variable(Settings, error["loc"])
    reason = str(error["msg"]).removeprefix("Value error, ")
    return reason if reason.startswith(name) else f"{name}: {reason}"


def guard(fn: Callable[[], T]) -> T:
    """Run a command body, turning known errors into one line and exit code 1.

    A body never exits with status 0 on its own: it returns, and its command prints the
    result. So an exit 0 from inside it (a library's sys.exit()) is an error too, not a
    silent success.
    """
    try:
        return fn()
    except (TanyaIndexError, TanyaBotError) as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(settings_error(exc))
    except ValueError as exc:  # other bad values
        fail(str(exc).splitlines()[0])
    except (SystemExit, typer.Exit) as exc:
        if (exc.code if isinstance(exc, SystemExit) else exc.exit_code):
            raise  # fail() or a deliberate non-zero exit: the reason is printed
        fail(f"stopped before printing a result ({type(exc).__name__}(0) raised inside)")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal, else nothing."""
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
