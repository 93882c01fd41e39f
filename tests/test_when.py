"""Time in the question: periods resolved against today, soft filters, newest first, "as of"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.pipeline import prompts, when
from bot.pipeline.answer import Answer, answer
from index.filters import Filters, build
from index.store import IndexStore
from tests.conftest import REPO, run_sync
from tests.fakes import HashingEmbedder, ScriptedGenerator, fake_answer_settings

DATED = REPO / "tests" / "data" / "dated"
TUESDAY = date(2026, 12, 1)


@pytest.mark.parametrize(("question", "since", "until"), [
    ("How many GPUs did Twitter buy in 2023?", date(2023, 1, 1), date(2023, 12, 31)),
    ("Berapa GPU yang dibeli Twitter pada tahun 2023?", date(2023, 1, 1), date(2023, 12, 31)),
    ("What happened to rice prices since 2020?", date(2020, 1, 1), None),
    ("Who ran OpenAI before 2019?", None, date(2018, 12, 31)),
    ("What did the council decide last year?", date(2025, 1, 1), date(2025, 12, 31)),
    ("Apa keputusan dewan tahun lalu?", date(2025, 1, 1), date(2025, 12, 31)),
    ("What happened last week?", date(2026, 11, 23), date(2026, 11, 29)),
    ("Berapa harga beras bulan lalu?", date(2026, 11, 1), date(2026, 11, 30)),
    ("Who won yesterday?", date(2026, 11, 30), date(2026, 11, 30)),
    ("Why did Musk leave OpenAI?", None, None),
])
def test_periods_resolve_against_today(question: str, since: date | None,
                                       until: date | None) -> None:
    intent = when.read(question, TUESDAY)
    assert (intent.since, intent.until) == (since, until)


def test_latest_and_present() -> None:
    assert when.read("What is the latest GPU count?", TUESDAY).latest
    assert when.read("Berapa harga beras terbaru?", TUESDAY).latest
    now = when.read("How many GPUs does Twitter own now?", TUESDAY)
    assert now.present and not now.latest
    assert not when.read("How many GPUs did Twitter buy in 2023?", TUESDAY).present


def test_the_users_dates_win_over_the_questions() -> None:
    intent = when.read("What happened in 2023?", TUESDAY)
    mine = build(since="2020", outlets=["Kabar"])
    assert intent.narrow(mine) == mine
    soft = intent.narrow(build(outlets=["Kabar"]))
    assert soft == Filters(date(2023, 1, 1), date(2023, 12, 31), ("Kabar",), soft=True)


@pytest.fixture
def store(index_dir: Path, embedder: HashingEmbedder) -> IndexStore:
    run_sync(index_dir, [str(DATED)], embedder)
    return IndexStore(index_dir)


def ask(store: IndexStore, question: str, reply: str, today: date = TUESDAY) -> Answer:
    return answer(question, store=store, embedder=HashingEmbedder(),
                  generator=ScriptedGenerator(reply), prompts=prompts.load(),
                  settings=fake_answer_settings(), today=today)


def test_latest_puts_the_newest_relevant_article_first(store: IndexStore) -> None:
    question = "How many GPUs has Twitter bought for a new artificial intelligence project?"
    plain = ask(store, question, "")
    latest = ask(store, f"latest: {question}", "")
    assert [e.hit.published for e in plain.evidence] == ["2023-04-12", "2023-05-02"]
    assert [e.hit.published for e in latest.evidence] == ["2023-05-02", "2023-04-12"]
    assert [e.n for e in latest.evidence] == list(range(1, len(latest.evidence) + 1))


def test_a_year_in_the_question_narrows_the_dated_articles(store: IndexStore) -> None:
    a = ask(store, "How many tonnes of rice per hectare did Sukamulya harvest in 2023?", "")
    assert a.filters.soft and a.filters.since == date(2023, 1, 1)
    assert a.evidence and all(e.hit.published is None or e.hit.published.startswith("2023")
                              for e in a.evidence)


def test_a_year_with_no_article_of_its_own_gives_way(store: IndexStore) -> None:
    # Every GPU report is from 2023: asked "in 2022", the later reports are searched anyway.
    a = ask(store, "How many GPUs did Twitter buy for its AI project in 2022?", "")
    assert not a.filters and a.evidence
    assert "gpu-order-business-daily" in {e.hit.article_id for e in a.evidence}


def test_a_relative_period_uses_today_not_the_article(store: IndexStore) -> None:
    a = ask(store, "How many GPUs did Twitter buy for its AI project last month?", "",
            today=date(2023, 5, 10))
    assert {e.hit.published for e in a.evidence} <= {"2023-04-12", "2023-04-20", None}
    assert "gpu-order-business-daily" in {e.hit.article_id for e in a.evidence}


def test_a_present_question_answered_from_one_report_says_as_of(store: IndexStore) -> None:
    a = ask(store, "How many tonnes of rice per hectare do farmers in Sukamulya harvest now?",
            "Farmers harvest 6.2 tonnes of rice per hectare [1].")
    assert a.certainty in ("sure", "likely"), a.verdicts
    assert a.text == "Farmers harvest 6.2 tonnes of rice per hectare [1]. (as of 1 March 2023)"
    past = ask(store, "How many tonnes of rice per hectare did farmers in Sukamulya harvest?",
               "Farmers harvested 6.2 tonnes of rice per hectare [1].")
    assert "as of" not in past.text
