"""The first `tanya ask` in a new home, run as a user runs it: a separate process, stdout a pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, write_md

pytestmark = pytest.mark.slow
PRESET = "smollm2-135m"
NOTICE = f"preparing model {PRESET} (first use, a few seconds)…"


def tanya(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI of this checkout in its own process, with its own TANYA_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANYA_")}
    env["TANYA_HOME"] = str(home)
    return subprocess.run([sys.executable, "-c", "from bot.cli.app import main; main()", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def answer_events(proc: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    """The JSON lines of an ask that must have succeeded and ended with its answer."""
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), f"exit 0 with nothing on stdout; stderr: {proc.stderr!r}"
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "evidence" and events[-1]["event"] == "answer"
    return events


def test_first_ask_in_a_new_home_prints_its_answer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_md(tmp_path / "a", "voltara.md", "Voltara deliveries", "Voltara delivered 12,400 "
             "electric cars in 2023. The company opened a second factory in Surabaya.")
    assert tanya(home, "index", "sync", str(tmp_path / "a")).returncode == 0
    question = "How many electric cars did Voltara deliver?"
    first = tanya(home, "ask", question, "--model", PRESET, "--json")
    assert first.stderr == NOTICE + "\n"
    assert answer_events(first)[-1]["model"] == PRESET
    again = tanya(home, "ask", question, "--model", PRESET, "--json")
    assert again.stderr == ""  # prepared once: no notice any more
    assert answer_events(again)[-1]["model"] == PRESET
