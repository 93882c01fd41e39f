"""`tanya ask` and `tanya chat` output with a fake embedder and a scripted model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.config import Settings
from tests.conftest import run_sync, use_fake_engine, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator

runner = CliRunner()


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ScriptedGenerator:
    """Index a small corpus under TANYA_HOME and make the CLI use fakes for both models."""
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-hashing")
    settings = Settings()
    folder = tmp_path / "articles"
    write_md(folder, "musk.md", "Musk and OpenAI", "Musk left OpenAI in 2018 after a power "
             "struggle. Altman and the other founders refused his plan.", outlet="Kabar",
             published="2023-04-12", url="https://kabar.test/musk")
    run_sync(settings.index_dir, [str(folder)], HashingEmbedder())
    gen = ScriptedGenerator()
    use_fake_engine(monkeypatch, gen)
    return gen


def test_ask_prints_evidence_answer_and_sources(scripted: ScriptedGenerator) -> None:
    scripted.replies.append("Musk left OpenAI after a power struggle [1].")
    result = runner.invoke(app, ["ask", "Why did Musk leave OpenAI?"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Evidence: “Musk left OpenAI in 2018 after a power struggle.”")
    assert "Musk left OpenAI after a power struggle [1]." in out
    assert "Sources:\n[1] Musk and OpenAI — Kabar, 2023-04-12, https://kabar.test/musk" in out
    assert out.index("Evidence:") < out.index("Sources:")


def test_ask_json_lines(scripted: ScriptedGenerator) -> None:
    scripted.replies.append("Musk left OpenAI in 2019 [1]. Altman refused his plan [1].")
    result = runner.invoke(app, ["ask", "Why did Musk leave OpenAI?", "--json", "-k", "1"])
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "evidence" and events[-1]["event"] == "answer"
    final = events[-1]
    assert final["stated"] == "Altman refused his plan [1]." and final["certainty"] == "likely"
    assert final["answer"].startswith("The articles suggest: Altman refused his plan [1].")
    assert final["checks"][0]["kept"] == [] and "2019" in final["checks"][0]["reason"]
    assert final["citations"][0]["article_id"] == "musk" and len(final["passages"]) == 1
    assert final["draft"] == "".join(e["text"] for e in events if e["event"] == "token")


def test_ask_json_carries_the_certainty(scripted: ScriptedGenerator) -> None:
    scripted.replies.append("Musk left OpenAI after a power struggle [1].")
    final = json.loads(runner.invoke(app, ["ask", "Why did Musk leave OpenAI?", "--json"]
                                     ).stdout.splitlines()[-1])
    # the shipped calibration is not fitted for the scripted model: the checks decide
    assert (final["certainty"], final["confidence"]) == ("likely", None)
    assert final["citations"][0]["quote"] in final["answer"]

def test_chat_keeps_context_and_starts_over(scripted: ScriptedGenerator) -> None:
    scripted.replies += ["Musk left OpenAI after a power struggle [1].",
                         "Who refused Musk's plan?", "Altman and the other founders [1].",
                         "Altman refused his plan [1]."]
    result = runner.invoke(app, ["chat"], input="Why did Musk leave OpenAI?\nWho refused him?\n"
                                                 "/new\nWho refused Musk's plan?\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "Altman and the other founders [1]." in result.stdout and "(new topic)" in result.stdout
    prompts = scripted.prompts
    assert len(prompts) == 4  # answer, rewrite + answer, then a fresh answer without rewrite
    assert "Last question: Who refused him?" in prompts[1][0]["content"]
    assert "Question: Who refused Musk's plan?" in prompts[3][1]["content"]


def test_chat_resume_goes_on_with_the_last_chat(scripted: ScriptedGenerator) -> None:
    scripted.replies += ["Musk left OpenAI after a power struggle [1].",
                         "Who refused Musk's plan?", "Altman and the other founders [1].",
                         "Altman refused his plan [1]."]
    first = runner.invoke(app, ["chat"], input="Why did Musk leave OpenAI?\n/quit\n")
    assert first.exit_code == 0, first.output
    resumed = runner.invoke(app, ["chat", "--resume"], input="Who refused him?\n")
    assert resumed.exit_code == 0, resumed.output
    assert "(resumed: 1 earlier turns)" in resumed.stdout
    rewrite = scripted.prompts[1][0]["content"]  # the follow-up is read with the earlier turn
    assert "Why did Musk leave OpenAI?" in rewrite and "Last question: Who refused him?" in rewrite
    assert "Altman and the other founders [1]." in resumed.stdout
    fresh = runner.invoke(app, ["chat"], input="Who refused him?\n")  # no rewrite: new topic
    assert fresh.exit_code == 0, fresh.output
    assert "Question: Who refused him?" in scripted.prompts[3][1]["content"]



def test_ask_json_reports_the_signals_the_decision_reads(scripted: ScriptedGenerator) -> None:
    scripted.logprob = -0.25
    scripted.replies.append("Musk left OpenAI after a power struggle [1].")
    final = json.loads(runner.invoke(app, ["ask", "Why did Musk leave OpenAI?", "--json"]
                                     ).stdout.splitlines()[-1])
    signals = final["signals"]
    assert signals["lp_mean"] == pytest.approx(-0.25) and signals["chk_kept"] == 1.0
    assert signals["self_yes"] == pytest.approx(math.exp(-0.25), abs=1e-4)  # P(yes), rounded
    assert 0.0 <= signals["dr_sim"] <= 1.0  # the draft against its closest evidence sentence
    assert final["confidence"] is None and "p_answer" not in signals  # not fitted for it
