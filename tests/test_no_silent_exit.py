"""No answering command may end with status 0 and nothing printed, whatever the model load does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from bot import runtime
from bot.cli.app import app
from bot.config import Settings
from bot.engine import Engine, PendingGenerator
from bot.errors import GenerationError
from bot.pipeline.llm import Generator
from tests.conftest import run_sync, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator

QUESTION = "Why did Musk leave OpenAI?"
REPLY = "Musk left OpenAI after a power struggle [1]."


def fails_with(exc: BaseException) -> Callable[[], Generator]:
    """A model load that raises exc."""
    def load() -> Generator:
        raise exc
    return load


LOADS: dict[str, Callable[[], Generator]] = {
    "loads": lambda: ScriptedGenerator(REPLY, REPLY, REPLY),
    "bot-error": fails_with(GenerationError("cannot load model x.gguf: bad magic")),
    "runtime-error": fails_with(RuntimeError("ggml went away")),
    "disk-full": fails_with(OSError(28, "No space left on device")),
    "system-exit-0": fails_with(SystemExit(0)),
    "typer-exit-0": fails_with(typer.Exit(0)),
}
COMMANDS: dict[str, tuple[list[str], str | None, str]] = {  # args, stdin, what ends the answer
    "ask": (["ask", QUESTION], None, "Sources:"),
    "ask-json": (["ask", QUESTION, "--json"], None, '"event": "answer"'),
    "chat": (["chat"], f"{QUESTION}\n/quit\n", "Sources:"),
}


def assert_result_or_one_error(result: Result, answer: str) -> None:
    """Status 0 with the answer on stdout, or a non-zero status with one error line."""
    if result.exit_code == 0:
        assert answer in result.stdout, f"exit 0 without the answer: {result.output!r}"
    else:
        assert result.exit_code == 1, result.exception
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


@pytest.mark.parametrize("load", LOADS.values(), ids=LOADS.keys())
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_ask_and_chat_print_the_answer_or_one_error(
        command: tuple[list[str], str | None, str], load: Callable[[], Generator],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-hashing")
    write_md(tmp_path / "a", "musk.md", "Musk and OpenAI", "Musk left OpenAI in 2018 after a "
             "power struggle. Altman and the other founders refused his plan.")
    run_sync(Settings().index_dir, [str(tmp_path / "a")], HashingEmbedder())

    def open_engine(s: Settings, model: str | None = None, passages: int | None = None,
                    notify: Callable[[str], None] | None = None) -> Engine:
        return Engine(s, HashingEmbedder(), PendingGenerator(load, "scripted"),
                      s.answering(passages))

    monkeypatch.setattr(Engine, "open", staticmethod(open_engine))
    args, stdin, answer = command
    result = CliRunner().invoke(app, args, input=stdin)
    assert_result_or_one_error(result, answer)
    if load is LOADS["loads"]:
        assert result.exit_code == 0
    else:
        assert "cannot load model" in result.stderr


@pytest.mark.parametrize("load", LOADS.values(), ids=LOADS.keys())
def test_eval_prints_its_report_or_one_error(load: Callable[[], Generator], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "passages.jsonl").write_text(json.dumps(
        {"id": "p1", "text": "Musk left OpenAI in 2018 after a power struggle."}) + "\n")
    (folder / "questions.jsonl").write_text(json.dumps(
        {"id": "q1", "question": "When did Musk leave OpenAI?", "answers": ["2018"],
         "passage_id": "p1"}) + "\n")
    monkeypatch.setenv("TANYA_MODEL", "scripted.gguf")  # no first-use notice for a preset
    monkeypatch.setattr(runtime, "embedder", lambda s: HashingEmbedder())
    monkeypatch.setattr(runtime, "generator", lambda s, m=None: load())
    result = CliRunner().invoke(app, ["eval", str(folder)])
    if load in (LOADS["runtime-error"], LOADS["disk-full"]):
        assert result.exit_code == 1 and isinstance(result.exception, (RuntimeError, OSError))
        return  # an unexpected error: the real process prints its traceback
    assert_result_or_one_error(result, "tanya eval:")
