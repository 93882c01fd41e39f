"""News is dated: disagreeing sources are all given, wire copies share one evidence slot, and
agreeing copies are all listed as sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import render
from bot.pipeline import copies, disagree
from bot.pipeline.evidence import EvidenceSettings, pick
from index.store import IndexStore
from tests.conftest import run_sync, write_md
from tests.fakes import HashingEmbedder
from tests.test_when import DATED, ask


@pytest.fixture
def store(index_dir: Path, embedder: HashingEmbedder) -> IndexStore:
    run_sync(index_dir, [str(DATED)], embedder)
    return IndexStore(index_dir)


def test_sources_that_disagree_are_all_given_newest_first(store: IndexStore) -> None:
    a = ask(store, "How many GPUs has Twitter bought for a new artificial intelligence project?",
            "Twitter bought about 10,000 GPUs [1].")
    by_id = {e.hit.article_id: e.n for e in a.evidence}
    new, old = by_id["gpu-order-tech-review"], by_id["gpu-order-business-daily"]
    assert a.certainty in ("sure", "likely")
    assert a.text == ("The sources disagree: 20,000 GPUs according to Tech Review (2 May 2023) "
                      f"[{new}]; 10,000 GPUs according to Business Daily (12 April 2023) [{old}].")
    assert [c.outlet for c in a.citations] == ["Tech Review", "Business Daily"]
    assert "20,000 GPUs" in a.citations[0].quote and "10,000 GPUs" in a.citations[1].quote


def test_agreeing_copies_are_one_value_and_every_outlet(store: IndexStore) -> None:
    a = ask(store, "How many tonnes of rice per hectare did farmers in Sukamulya harvest?",
            "Farmers harvested 6.2 tonnes of rice per hectare [1].")
    assert a.text == "Farmers harvested 6.2 tonnes of rice per hectare [1]."
    rice = [e for e in a.evidence if e.hit.article_id.startswith("wire-rice")]
    assert len(rice) == 1  # the republished story takes one slot
    outlets = {a.citations[0].outlet, *(h.outlet for h in a.citations[0].also)}
    assert outlets == {"Kabar Nusantara", "Harian Timur"}


def test_a_wire_copy_does_not_crowd_out_an_independent_report(store: IndexStore) -> None:
    rows = store.chunk_rows(list(range(1, 20)))
    by_article = {h.article_id: h for h in rows.values()}
    hits = [by_article["wire-rice-kabar-nusantara"], by_article["wire-rice-harian-timur"],
            by_article["council-budget-undated"]]
    settings = EvidenceSettings(passages=2, min_similarity=-1.0)
    evidence = pick("rice harvest Sukamulya", hits, HashingEmbedder(), settings)
    assert [e.hit.article_id for e in evidence] == ["wire-rice-kabar-nusantara",
                                                    "council-budget-undated"]
    assert [h.article_id for h in evidence[0].also] == ["wire-rice-harian-timur"]


def test_copies_are_told_from_independent_reports(store: IndexStore) -> None:
    texts = {h.article_id: h.text for h in store.chunk_rows(list(range(1, 20))).values()}
    assert copies.overlap(texts["wire-rice-kabar-nusantara"],
                          texts["wire-rice-harian-timur"]) >= copies.MIN_SHARED
    assert copies.overlap(texts["gpu-order-business-daily"],
                          texts["gpu-order-tech-review"]) < copies.MIN_SHARED
    assert copies.overlap(texts["gpu-order-business-daily"],
                          texts["gpu-prices-gamer-weekly"]) < copies.MIN_SHARED


def test_values_need_one_number_of_the_same_kind_in_dated_passages(store: IndexStore) -> None:
    a = ask(store, "How many GPUs has Twitter bought for a new artificial intelligence project?",
            "")
    assert {v.shown for v in disagree.values(a.question, a.evidence)} == {"10,000 GPUs",
                                                                         "20,000 GPUs"}
    assert disagree.values("Why did Twitter buy GPUs?", a.evidence) == []  # not a count


def test_the_cli_lists_every_outlet_of_a_copied_story(store: IndexStore) -> None:
    a = ask(store, "How many tonnes of rice per hectare did farmers in Sukamulya harvest?",
            "Farmers harvested 6.2 tonnes of rice per hectare [1].")
    text = render.answer_text(a)
    assert "[1] Rice harvest in Sukamulya beats last year's — Kabar Nusantara, 2023-03-01" in text
    assert "also: Sukamulya rice harvest beats last year's — Harian Timur, 2023-03-01" in text


Report = tuple[str, str, str, str]  # title, text, outlet, published


def two_reports(tmp_path: Path, a: Report, b: Report) -> IndexStore:
    """An index of two dated reports, with the article ids "a" and "b"."""
    folder = tmp_path / "articles"
    for name, (title, text, outlet, published) in (("a", a), ("b", b)):
        write_md(folder, f"{name}.md", title, text, outlet=outlet, published=published)
    run_sync(tmp_path / "index", [str(folder)], HashingEmbedder())
    return IndexStore(tmp_path / "index")


def test_reports_that_date_an_event_differently_are_both_given(tmp_path: Path) -> None:
    store = two_reports(tmp_path,
                        ("Bridge opening set", "The new Kali Mas bridge will open in 2024, the "
                         "city's public works office said.", "Harian Kota", "2023-01-10"),
                        ("Bridge opening delayed", "The new Kali Mas bridge will open in 2025 "
                         "after a delay in steel deliveries, the office said.", "Warta Jatim",
                         "2023-09-02"))
    a = ask(store, "When will the new Kali Mas bridge open?", "The bridge will open in 2024 [1].")
    n = {e.hit.article_id: e.n for e in a.evidence}
    assert a.text == ("The sources disagree: 2025 according to Warta Jatim (2 September 2023) "
                      f"[{n['b']}]; 2024 according to Harian Kota (10 January 2023) [{n['a']}].")


def test_independent_reports_that_agree_are_all_cited(tmp_path: Path) -> None:
    store = two_reports(tmp_path,
                        ("Library budget approved", "The council approved 2 million dollars for "
                         "the new library on Monday.", "Town Gazette", "2024-03-04"),
                        ("New library funded", "Councillors voted through a library budget of "
                         "2 million dollars, after a long debate about parking.", "City Post",
                         "2024-03-05"))
    a = ask(store, "How many dollars did the council approve for the library?",
            "The council approved 2 million dollars [1].")
    assert a.text == "The council approved 2 million dollars [1]."
    assert {c.outlet for c in a.citations} == {"Town Gazette", "City Post"}
