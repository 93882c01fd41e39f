"""Settings: parsing, `tanya config`, and the docs' reference generated from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.cli.settings import BEGIN, END, REFERENCE, reference_markdown
from bot.config import Settings
from bot.config.flat import variables
from bot.errors import TanyaBotError
from bot.pipeline import calibrator
from tests.conftest import REPO


def test_docs_reference_matches_the_settings() -> None:
    # the file `python -m bot.cli.settings` rewrites
    assert REFERENCE == REPO / "docs" / "configuration.md"
    page = REFERENCE.read_text(encoding="utf-8")
    assert BEGIN in page and END in page, "docs/configuration.md lost its generated block"
    block = page.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == reference_markdown(), "run: .venv/bin/python -m bot.cli.settings"
    for name in [var for var, _, _ in variables(Settings)]:
        assert f"`{name}`" in block


def test_every_setting_is_described() -> None:
    assert all(f.description for _, _, f in variables(Settings))


def test_lists_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_TELEGRAM_ALLOWED", "11, 22,-1003")
    monkeypatch.setenv("TANYA_TELEGRAM_SYNC_PATHS", "/srv/a, https://x.test/feed.xml")
    s = Settings()
    assert s.telegram.allowed == [11, 22, -1003]
    assert s.telegram.sync_paths == ["/srv/a", "https://x.test/feed.xml"]


def test_how_sure_sure_must_be_reaches_the_answer_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().answering().sure_accuracy == 0.95
    monkeypatch.setenv("TANYA_ANSWER_MIN_ACCURACY", "0.9")
    assert Settings().answering().sure_accuracy == 0.9


def test_a_calibration_file_of_ones_own_is_read_and_a_missing_one_named(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shipped = Settings().answering().calibration
    assert shipped is not None and shipped.fitted_for["model"] == "qwen2.5-coder-1.5b"
    own = tmp_path / "big.json"
    own.write_text(calibrator.DEFAULT.read_text().replace('"qwen2.5-coder-1.5b"', '"big.gguf"'))
    monkeypatch.setenv("TANYA_ANSWER_CALIBRATION", str(own))
    mine = Settings().answering().calibration
    assert mine is not None and mine.fitted_for["model"] == "big.gguf"
    monkeypatch.setenv("TANYA_ANSWER_CALIBRATION", str(tmp_path / "gone.json"))
    with pytest.raises(TanyaBotError, match=r"gone\.json"):
        Settings().answering()


def test_config_masks_secrets_and_names_sources(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TANYA_MODEL=smollm2-135m\n")
    monkeypatch.setenv("TANYA_TELEGRAM_TOKEN", "123:very-secret")
    result = CliRunner().invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    assert "very-secret" not in result.stdout
    rows = {r["variable"]: r for r in json.loads(result.stdout)["settings"]}
    assert rows["TANYA_TELEGRAM_TOKEN"] == {**rows["TANYA_TELEGRAM_TOKEN"], "value": "********",
                                            "source": "environment"}
    assert (rows["TANYA_MODEL"]["value"], rows["TANYA_MODEL"]["source"]) == ("smollm2-135m",
                                                                             ".env")
    assert rows["TANYA_CHUNK_WORDS"]["source"] == "default"


def test_config_names_the_index_backend_with_the_password_masked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = CliRunner().invoke(app, ["config"])
    assert plain.exit_code == 0, plain.output
    assert f"index: embedded {Settings().index_dir}" in plain.stdout
    monkeypatch.setenv("TANYA_DATABASE_URL", "postgresql://tanya:very-secret@db:5433/news")
    for args in (["config"], ["config", "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "very-secret" not in result.stdout
        assert "postgresql://tanya:***@db:5433/news" in result.stdout
    shown = json.loads(result.stdout)
    assert shown["index"] == {"backend": "postgresql",
                              "location": "postgresql://tanya:***@db:5433/news"}
    assert "index: postgresql postgresql://tanya:***@db:5433/news" in CliRunner().invoke(
        app, ["config"]).stdout


def test_a_database_url_must_be_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_DATABASE_URL", "mysql://u:very-secret@db/news")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code != 0
    assert "TANYA_DATABASE_URL must be a postgresql:// URL" in result.output
    assert "very-secret" not in result.output
