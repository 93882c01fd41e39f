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
