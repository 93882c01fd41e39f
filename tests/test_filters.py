"""Date and outlet filters inside retrieval: alone, combined, soft, on flat and IVF vectors,
through `tanya search` and `tanya ask` (text and --json)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.config import Settings
from index import vectors
from index.errors import FilterError
from index.filters import Filters, build, parse_day
from index.search import search
from index.store import IndexStore
from tests.conftest import REPO, run_sync, use_fake_engine
from tests.fakes import HashingEmbedder, ScriptedGenerator

DATED = REPO / "tests" / "data" / "dated"
runner = CliRunner()


@pytest.fixture
def store(index_dir: Path, embedder: HashingEmbedder) -> IndexStore:
    run_sync(index_dir, [str(DATED)], embedder)
    return IndexStore(index_dir)


def ids(store: IndexStore, query: str, k: int, filters: Filters | None = None) -> list[str]:
    return [h.article_id for h in search(store, HashingEmbedder(), query, k, filters=filters)]


def test_days_and_periods() -> None:
    assert parse_day("2023") == date(2023, 1, 1)
    assert parse_day("2023", end=True) == date(2023, 12, 31)
    assert parse_day("2024-02", end=True) == date(2024, 2, 29)
    assert parse_day("2023-04-12") == date(2023, 4, 12)
    for bad in ("last week", "2023-13", "12/04/2023", "2023-02-30"):
        with pytest.raises(FilterError, match="bad filter"):
            parse_day(bad)
    with pytest.raises(FilterError, match="ends before it starts"):
        build("2023-05", "2023-04")


def test_each_filter_alone(store: IndexStore) -> None:
    everything = ids(store, "GPUs", 10)
    assert len(everything) == 6  # every article, the undated one included
    assert set(ids(store, "GPUs", 10, build(since="2023-04-13"))) == {
        "gpu-order-tech-review", "gpu-prices-gamer-weekly"}
    assert set(ids(store, "GPUs", 10, build(until="2023-03"))) == {
        "wire-rice-kabar-nusantara", "wire-rice-harian-timur"}
    assert ids(store, "GPUs", 10, build(outlets=["tech review"])) == ["gpu-order-tech-review"]


def test_filters_combined_and_k_hits_when_they_exist(store: IndexStore) -> None:
    f = build(since="2023-04", until="2023-04", outlets=["Business Daily", "Gamer Weekly"])
    assert set(ids(store, "rice harvest Sukamulya", 2, f)) == {
        "gpu-order-business-daily", "gpu-prices-gamer-weekly"}
    # The best matches for the query are excluded, yet k hits come back: the filter runs
    # inside both candidate lists, not after the top k.
    assert ids(store, "rice harvest Sukamulya", 1)[0].startswith("wire-rice")
    assert ids(store, "library budget", 5, build(since="2024")) == []


def test_a_soft_date_filter_keeps_undated_articles(store: IndexStore) -> None:
    hard = build(since="2023-04-13")
    soft = Filters(hard.since, hard.until, soft=True)
    assert "council-budget-undated" not in ids(store, "library budget", 10, hard)
    assert "council-budget-undated" in ids(store, "library budget", 10, soft)


def test_ivf_vectors_search_only_the_allowed_ids() -> None:
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(400, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    flat = vectors.empty(16)
    vectors.add(flat, np.arange(400, dtype=np.int64), vecs)
    ivf = vectors.fit(flat, flat_limit=100)
    assert vectors.kind(ivf).startswith("ivf")
    allowed = list(range(0, 400, 7))
    for index in (flat, ivf):
        got = vectors.search(index, vecs[3:4], 10, allowed)
        assert len(got) == 10 and all(i in allowed for i, _ in got)
        assert vectors.search(index, vecs[3:4], 10, []) == []
    assert vectors.search(flat, vecs[7:8], 1, allowed)[0][0] == 7


def test_search_command_filters_text_and_json(tmp_path: Path) -> None:
    assert runner.invoke(app, ["index", "sync", str(DATED)]).exit_code == 0
    out = runner.invoke(app, ["search", "How many GPUs did Twitter buy?", "--outlet",
                              "Tech Review", "--outlet", "business daily", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert {h["outlet"] for h in result["hits"]} == {"Tech Review", "Business Daily"}
    assert result["filters"] == {"since": None, "until": None,
                                 "outlets": ["Tech Review", "business daily"],
                                 "from_question": False}
    text = runner.invoke(app, ["search", "GPUs", "--since", "2023-04-13", "--until", "2023-04"])
    assert text.exit_code == 0 and "Gamer Weekly, 2023-04-20" in text.stdout
    assert "Business Daily" not in text.stdout and "Tech Review" not in text.stdout
    none = runner.invoke(app, ["search", "GPUs", "--since", "2030"])
    assert none.stdout.strip() == "No passages match 'GPUs' among the articles since 2030-01-01."
    bad = runner.invoke(app, ["search", "GPUs", "--since", "yesterday"])
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    assert "bad filter 'yesterday'" in bad.stderr


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedGenerator:
    """The dated corpus indexed under TANYA_HOME; `tanya ask` runs on fakes."""
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-hashing")
    run_sync(Settings().index_dir, [str(DATED)], HashingEmbedder())
    gen = ScriptedGenerator()
    use_fake_engine(monkeypatch, gen)
    return gen


def test_ask_command_filters_text_and_json(scripted: ScriptedGenerator) -> None:
    scripted.replies.append("Twitter now owns about 20,000 GPUs [1].")
    out = runner.invoke(app, ["ask", "How many GPUs does Twitter own?", "--since", "2023-05",
                              "--json"])
    assert out.exit_code == 0, out.output
    final = json.loads(out.stdout.splitlines()[-1])
    assert final["filters"]["since"] == "2023-05-01"
    assert {p["outlet"] for p in final["passages"]} == {"Tech Review"}
    assert final["stated"] == "Twitter now owns about 20,000 GPUs [1]."
    scripted.replies.append("Twitter bought about 10,000 GPUs [1].")
    text = runner.invoke(app, ["ask", "How many GPUs did Twitter buy?", "--outlet",
                               "Business Daily", "--until", "2023-04-30"])
    assert text.exit_code == 0, text.output
    assert "Business Daily, 2023-04-12" in text.stdout and "Tech Review" not in text.stdout
    assert text.stdout.rstrip().endswith(
        "(searched the articles until 2023-04-30, outlet Business Daily)")
    bad = runner.invoke(app, ["ask", "Anything?", "--until", "2023-02-30"])
    assert bad.exit_code == 1 and "bad filter '2023-02-30'" in bad.stderr
