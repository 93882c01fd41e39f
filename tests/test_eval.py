"""`tanya eval` metrics on a tiny hand-made QA set with known right answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.errors import TanyaBotError
from bot.evaluation.runner import build_index, contains_answer, evaluate, ranks_to_metrics
from bot.evaluation.sets import load
from bot.pipeline import prompts
from tests.fakes import HashingEmbedder, ScriptedGenerator, fake_answer_settings

PASSAGES = {
    "p1": "Musk left OpenAI in 2018 after a power struggle with Altman.",
    "p2": "Farmers in Sukamulya harvested 6.8 tonnes of rice per hectare.",
    "p3": "A tiny frog species from a cloud forest is 12 mm long.",
    "p4": "Musk left OpenAI in 2018 after a power struggle with Altman.",  # duplicate of p1
}
QUESTIONS = [
    {"id": "q1", "question": "When did Musk leave OpenAI?", "answers": ["2018"],
     "passage_id": "p4"},
    {"id": "q2", "question": "How many tonnes of rice per hectare in Sukamulya?",
     "answers": ["6.8 tonnes"], "passage_id": "p2"},
    {"id": "q3", "question": "How long is the cloud forest frog?", "answers": ["12 mm"],
     "passage_id": "p3"},
    {"id": "q4", "question": "What colour is the cloud forest frog?", "answers": [],
     "passage_id": "p3", "answerable": False},
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """The set in the shared folder format."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "passages.jsonl").write_text(
        "".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in PASSAGES.items()))
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return folder


def test_metrics_by_hand() -> None:
    m = ranks_to_metrics([1, 2, None, 6])
    assert m == {"recall@1": 0.25, "recall@5": 0.5, "recall@10": 0.75,
                 "mrr": pytest.approx((1 + 0.5 + 1 / 6) / 4)}
    assert contains_answer("It was in 2018 [1].", ("2018",))
    assert not contains_answer("In 2019.", ("2018", ""))


def test_a_number_matches_with_either_decimal_mark() -> None:
    assert contains_answer("It costs Rp 1,1 trillion [1].", ("1.1 trillion",))
    assert contains_answer("Revenue was Rp 1.135,4 trillion.", ("1,135.4 trillion",))
    assert not contains_answer("It costs Rp 11 trillion.", ("1.1 trillion",))


def test_duplicate_passages_share_one_id(dataset: Path) -> None:
    qa = load(dataset)
    assert set(qa.passages) == {"p1", "p2", "p3"}
    assert qa.items[0].passage_id == "p1" and not qa.items[3].answerable


def test_squad_json(tmp_path: Path) -> None:
    squad = {"data": [{"title": "t", "paragraphs": [{"context": PASSAGES["p3"], "qas": [
        {"id": "a", "question": "How long?", "answers": [{"text": "12 mm", "answer_start": 36}]},
        {"id": "b", "question": "Colour?", "answers": [], "is_impossible": True}]}]}]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(squad))
    qa = load(path)
    assert [(i.id, i.answers, i.answerable) for i in qa.items] == [
        ("a", ("12 mm",), True), ("b", (), False)]
    with pytest.raises(TanyaBotError, match=r"set\.json"):
        path.write_text("{broken")
        load(path)


def test_evaluate_scores_known_answers(dataset: Path, tmp_path: Path) -> None:
    qa = load(dataset)
    emb = HashingEmbedder()
    store = build_index(qa, tmp_path / "idx" / "index", emb)
    gen = ScriptedGenerator("Musk left OpenAI in 2018 [1].",       # right, cited right
                            "Farmers in Sukamulya harvested rice [1].",  # no number: unsure
                            "The cloud forest frog is 12 mm long [1].",  # right
                            "I could not find this in the articles.")
    report = evaluate(qa, store, emb, gen, prompts.load(), fake_answer_settings())
    assert (report.answerable, report.unanswerable) == (3, 1)
    assert report.retrieval["recall@1"] == 1.0
    # The second draft is supported but gives no number for "how many": no answer is shown,
    # only the closest passage (which holds the answer, but an answer it is not).
    assert report.accuracy == pytest.approx(2 / 3)
    assert report.citations == 3 and report.citation_precision == 1.0  # passages hold it
    assert report.refusal_rate == 1.0 and report.false_refusal_rate == pytest.approx(1 / 3)
    assert set(report.latency_s) >= {"retrieval_s", "total_s"}


@pytest.mark.slow
def test_eval_command_retrieval_only(dataset: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(dataset), "--retrieval-only", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["answerable"] == 3 and report["retrieval"]["recall@5"] == 1.0
