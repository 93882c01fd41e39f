"""The exact parts of the citation checks: numbers with scale words, names across languages."""

from __future__ import annotations

import numpy as np
import pytest

from bot.pipeline import lexical
from bot.pipeline.citations import _said_of_other, _supports, check
from bot.pipeline.evidence import EvidenceSettings, Sentence, pick
from index.records import Hit
from tests.fakes import HashingEmbedder

MUSK_ID = ("Musk berjanji memberikan 1 miliar dolar kepada OpenAI, tetapi hanya menyerahkan "
           "100 juta dolar. Twitter membeli sekitar 10 ribu GPU.")
UNESCO_ID = ("Direktur Jenderal Organisasi Pendidikan, Ilmu Pengetahuan, dan Kebudayaan PBB "
             "(UNESCO) Koichiro Matsuura membuka pertemuan itu di Paris.")


@pytest.mark.parametrize(("text", "expected"), [
    ("1 miliar dolar", {"1000000000"}),
    ("US$1 billion", {"1000000000"}),
    ("$1 million", {"1000000"}),
    ("10 ribu GPU", {"10000"}),
    ("10,000 GPUs", {"10000"}),
    ("10.000", {"10000"}),
    ("1,5 juta", {"1500000"}),
    ("1.5 million", {"1500000"}),
    ("2,25 triliun rupiah", {"2250000000000"}),
    ("Rp 14.000 per kilogram", {"14000"}),
    ("94,8 persen", {"948"}),
    ("1,2345 ribu", {"1234"}),
])
def test_numbers_apply_scale_words(text: str, expected: set[str]) -> None:
    assert lexical.numbers(text) == expected


def test_a_wrong_scale_is_caught_and_the_right_one_passes() -> None:
    wrong = _supports("Musk promised to give OpenAI $1 million.", MUSK_ID, 0.9, 0.1, set())
    assert wrong is not None and "1000000" in wrong
    assert _supports("Musk promised OpenAI $1 billion.", MUSK_ID, 0.9, 0.1, set()) is None
    assert _supports("Twitter bought about 10,000 GPUs.", MUSK_ID, 0.9, 0.1, set()) is None


def test_a_title_from_the_question_is_not_an_invented_name() -> None:
    claim = "The Director-General of UNESCO is Koichiro Matsuura."
    asked = lexical.names("Who is the Director-General of UNESCO?")
    assert _supports(claim, UNESCO_ID, 0.9, 0.1, asked) is None
    # Without the question's words the English title counts as a missing name.
    assert "director-general" in (_supports(claim, UNESCO_ID, 0.9, 0.1, set()) or "")
    # A person the question did not name is still caught.
    other = "The Director-General of UNESCO is Kofi Annan."
    assert "annan" in (_supports(other, UNESCO_ID, 0.9, 0.1, asked) or "")


def test_acronyms_and_codes_must_occur_even_when_asked() -> None:
    asked = lexical.names("Did the IAEA say so?")
    reason = _supports("The IAEA said so.", UNESCO_ID, 0.9, 0.1, asked)
    assert reason is not None and "iaea" in reason
    assert lexical.identifiers("UNESCO, GA-181, G-8 and the Director-General") == \
        {"unesco", "ga-181", "g-8"}


SHARAPOVA_ID = ("Pada usia sembilan tahun, Sharapova meninggalkan Rusia menuju AS. Kawasan "
                "Arktik dan Afrika tidak disebut.")


@pytest.mark.parametrize(("claim", "missing"), [
    ("Sharapova left Russia at the age of 9.", None),  # Rusia; "sembilan" is 9
    ("Sharapova left Russia at the age of 8.", "number 8"),
    ("The Arctic and Africa are not named.", None),  # Arktik, Afrika
    ("Sharapova left Rwanda.", "'rwanda'"),  # a different place, not a respelling
    ("Maria Sharapova left Russia.", "'maria'"),  # no passage gives the full name
])
def test_names_in_the_other_spelling_and_numbers_in_words_count(claim: str,
                                                                  missing: str | None) -> None:
    reason = _supports(claim, SHARAPOVA_ID, 0.9, 0.1, set())
    assert reason is None if missing is None else missing in (reason or "")


def test_a_full_name_from_another_passage_supports_its_short_form() -> None:
    shown = " ".join(lexical.words("Remaja putri Rusia, Maria Sharapova, resmi menyandang "
                                   "gelar. " + SHARAPOVA_ID))
    assert _supports("Maria Sharapova left Russia.", SHARAPOVA_ID, 0.9, 0.1, set(), shown) is None
    # The first name must stand beside the surname there, not anywhere in the passages.
    apart = " ".join(lexical.words("Maria datang. " + SHARAPOVA_ID))
    assert _supports("Maria Sharapova left Russia.", SHARAPOVA_ID, 0.9, 0.1, set(), apart)


def test_spelling_brings_both_languages_to_one_form() -> None:
    pairs = [("Arctic", "Arktik"), ("Democratic", "Demokratik"), ("Sukarno", "Soekarno"),
             ("China", "Cina"), ("Mexico", "Meksiko"), ("executive", "eksekutif")]
    assert all(lexical.spelling(en)[:6] == lexical.spelling(id_)[:6] for en, id_ in pairs)
    assert lexical.spelling("Rwanda") != lexical.spelling("Rusia")


def test_same_language_claims_are_not_exempted() -> None:
    passage = "The minister opened the meeting in Paris."
    asked = lexical.names("Who is the Director-General of UNESCO?")
    reason = _supports("The Director-General of UNESCO opened it.", passage, 0.9, 0.1, asked)
    assert reason is not None


@pytest.mark.parametrize(("question", "answer", "gives"), [
    ("Who did Twitter hire for its AI project?", "Twitter bought 10,000 GPUs [1].", False),
    ("Which outlet reported that Musk bought the GPUs?",
     "The outlet reported that Musk bought the GPUs [1].", False),  # the question said back
    ("Which outlet reported that Musk bought the GPUs?",
     "Business Insider reported that Musk bought the GPUs [1].", True),
    ("Why did Musk leave OpenAI?", "Musk left OpenAI because of a power struggle [1].", True),
    ("Who did Twitter hire for its AI project?", "Twitter hired Igor Babuschkin [1].", True),
    ("Siapa yang menolak usulan Musk?", "Altman menolak usulan itu [1].", True),
    ("How many GPUs did Musk buy?", "Musk bought GPUs for Twitter [1].", False),
    ("How many GPUs did Musk buy?", "Musk bought 10 ribu GPUs [1].", True),
    ("How many species of sea turtles live in Papua?", "Four species live there [2].", True),
    ("Berapa jumlah korban?", "Korban mencapai 12 orang [1].", True),
    ("When was Su Dingfang born?", "Su Dingfang was born in 591 [1].", True),
    ("When will Machimura visit Beijing?", "He visits Beijing on Monday [1].", True),
    ("When did Musk leave OpenAI?", "Musk left after a power struggle [1].", False),
    ("In 2018, when did Musk leave?", "Musk left in 2018 [1].", False),  # only the asked year
    ("Why did Musk leave OpenAI?", "He wanted to run it [1].", True),  # no kind asked
])
def test_an_answer_gives_the_kind_of_thing_asked_for(question: str, answer: str,
                                                     gives: bool) -> None:
    assert lexical.gives_asked(question, answer) is gives


TURTLES_Q = "How many species of sea turtles are found in Papua?"


def reason_for(claim: str, sentences: list[tuple[str, float]]) -> str | None:
    """`_said_of_other` over (sentence, similarity to the claim) pairs, at a floor of 0.84."""
    texts = [Sentence(0, len(t), t, 0.0) for t, _ in sentences]
    sims = np.array([sim for _, sim in sentences], dtype=np.float32)
    return _said_of_other(claim, TURTLES_Q, texts, sims, 0.84)


@pytest.mark.parametrize(("sentences", "said_of_other"), [
    ([("Ada empat jenis penyu di Papua.", 0.90), ("Tercatat 253 jenis burung.", 0.81)], True),
    ([("Ada empat jenis penyu di Papua.", 0.90), ("Tercatat 253 jenis penyu.", 0.86)], False),
    ([("Ada empat jenis penyu di Papua.", 0.90)], False),  # 253 is not there at all: other checks
])
def test_a_number_said_of_something_else_in_the_passage_is_caught(
        sentences: list[tuple[str, float]], said_of_other: bool) -> None:
    reason = reason_for("There are 253 species of sea turtles in Papua [1].", sentences)
    assert (reason is not None) is said_of_other
    assert reason is None or reason.startswith("253 is said of something else")


def test_a_name_the_question_gave_is_no_anchor() -> None:
    sentences = [("Penyu hidup di pantai Papua.", 0.80)]
    assert reason_for("Sea turtles live in Papua [1].", sentences) is None


def test_check_drops_a_claim_whose_number_belongs_to_another_sentence() -> None:
    text = ("Papua has four turtle species on its beaches. City officials counted 253 parked "
            "cars downtown during the busy holiday night market yesterday evening near the old "
            "harbour.")
    hit = Hit(chunk_id=1, article_id="papua", title="", text=text, start=0, end=len(text),
              score=1.0, url=None, published=None, outlet=None, dense_rank=1, bm25_rank=1)
    emb = HashingEmbedder()
    evidence = pick("How many turtle species live in Papua?", [hit], emb)
    wrong = check("Papua has 253 turtle species [1].", evidence, emb, 0.1,
                  "How many turtle species live in Papua?")
    assert wrong.text == "" and "253 is said of something else" in wrong.verdicts[0].reason
    right = check("Papua has four turtle species [1].", evidence, emb, 0.1,
                  "How many turtle species live in Papua?")
    assert right.text == "Papua has four turtle species [1]."



def test_a_claim_citing_a_missing_passage_says_why_the_closest_fails_too() -> None:
    hit = Hit(chunk_id=1, article_id="musk", title="", text=MUSK_ID, start=0, end=len(MUSK_ID),
              score=1.0, url=None, published=None, outlet=None, dense_rank=1, bm25_rank=1)
    emb = HashingEmbedder()
    evidence = pick("Berapa GPU yang dibeli Twitter?", [hit], emb)
    reason = check("Twitter bought 20,000 GPUs [2].", evidence, emb, 0.1).verdicts[0].reason
    assert reason == ("cites [2], which is not one of the passages; closest [1]: "
                      "number 20000 is not in the passage")


def test_names_the_question_used_need_not_be_in_a_passage_in_another_language() -> None:
    text = "Penggunaan kata Halloween berawal pada sekitar tahun 1785 dan berasal dari Kekristenan."
    hit = Hit(chunk_id=1, article_id="h", title="", text=text, start=0, end=len(text),
              score=1.0, url=None, published=None, outlet=None, dense_rank=1, bm25_rank=1)
    emb = HashingEmbedder()
    question = "When was Halloween formed in England?"
    evidence = pick(question, [hit], emb, EvidenceSettings(min_similarity=-1.0))
    claim = "Halloween was formed in England around 1785 [1]."
    assert check(claim, evidence, emb, -1.0, question).text  # England: the asker's own word
    assert check(claim, evidence, emb, -1.0, "When was Halloween formed?").text == ""
