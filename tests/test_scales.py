"""Scale words the model got wrong are written as the passage gives them."""

from __future__ import annotations

from pathlib import Path

from bot.pipeline import lexical, prompts
from bot.pipeline.answer import answer
from bot.pipeline.scales import repaired
from index.store import IndexStore
from tests.conftest import run_sync, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator, fake_answer_settings

KPK = "KPK menyita uang Rp 1,3 miliar dari tersangka. Utang korban Rp 200 ribu."


def test_a_scale_the_passage_gives_otherwise_takes_the_passages() -> None:
    assert repaired("The KPK seized Rp 1,3 million [2].", [KPK], "en") == \
        "The KPK seized Rp 1.3 billion [2]."
    assert repaired("He owed Rp 200 million.", [KPK], "en") == "He owed Rp 200 thousand."
    assert repaired("KPK menyita Rp 1.3 million.", [KPK], "id") == "KPK menyita Rp 1,3 miliar."


def test_a_right_value_is_written_in_the_answers_language() -> None:
    assert repaired("Exports were US$ 13,48 miliar [1].", ["Ekspor US$ 13,48 miliar."], "en") == \
        "Exports were US$ 13.48 billion [1]."
    assert repaired("Rp 1.135,4 triliun", ["Rp 1.135,4 triliun"], "en") == \
        "Rp 1,135.4 trillion"


def test_numbers_the_passage_does_not_settle_are_left_alone() -> None:
    assert repaired("It cost 5 million.", [KPK], "en") == "It cost 5 million."  # other digits
    assert repaired("It cost 1.3 billion.", [KPK], "en") == "It cost 1.3 billion."  # right
    both = ["Rp 7 juta untuk A dan Rp 7 miliar untuk B."]
    assert repaired("A got Rp 7 thousand.", both, "en") == "A got Rp 7 thousand."  # which one?
    assert repaired("No numbers here.", [], "en") == "No numbers here."


def test_the_marks_of_a_number_do_not_change_its_digits() -> None:
    assert lexical.mantissa("1,3") == lexical.mantissa("1.3") == "1.3"
    assert lexical.mantissa("1.135,4") == lexical.mantissa("1,135.4") == "1135.4"
    assert lexical.mantissa("16.583") == "16583"


def test_the_answer_shows_the_passages_scale_and_its_check_passes(
        tmp_path: Path, index_dir: Path, embedder: HashingEmbedder) -> None:
    folder = tmp_path / "articles"
    write_md(folder, "kpk.md", "KPK sita uang", KPK)
    run_sync(index_dir, [str(folder)], embedder)
    got = answer("Berapa uang yang disita KPK dari tersangka?", store=IndexStore(index_dir),
                 embedder=HashingEmbedder(), settings=fake_answer_settings(),
                 generator=ScriptedGenerator("KPK menyita uang Rp 1.3 million [1]."),
                 prompts=prompts.load())
    assert got.draft == "KPK menyita uang Rp 1,3 miliar [1]."
    assert all(v.kept for v in got.verdicts)
