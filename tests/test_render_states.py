"""How each certainty band reads, in the terminal and in Telegram."""

from __future__ import annotations

from bot.cli.render import answer_text
from bot.pipeline import wording
from bot.pipeline.answer import Answer
from bot.pipeline.citations import Citation
from bot.pipeline.evidence import Evidence, Sentence
from bot.pipeline.rendering import Rendering
from bot.telegram import render as tr
from index.records import Hit

SENTENCE = "Perebutan kendali tersebut berujung pada keluarnya Musk dari OpenAI."
ASKED = "Why did Musk leave OpenAI?"
CITE = Citation(1, "musk", "Musk dan OpenAI", "https://kabar.test/musk", "2023-04-12", "Kabar",
                SENTENCE, 0, len(SENTENCE))


def _evidence() -> Evidence:
    hit = Hit(1, "musk", "Musk dan OpenAI", SENTENCE, 0, len(SENTENCE), 1.0,
              "https://kabar.test/musk", "2023-04-12", "Kabar", 1, 1)
    best = Sentence(0, len(SENTENCE), SENTENCE, 1.0)
    return Evidence(1, hit, (best,), best, 0.9, 0.7)


def _answer(certainty: str, stated: str, renderings: tuple[Rendering, ...] = ()) -> Answer:
    text = wording.compose(ASKED, certainty, stated,  # type: ignore[arg-type]
                           (CITE,) if certainty != "not_found" else (), renderings)
    return Answer(ASKED, ASKED, text, certainty,  # type: ignore[arg-type]
                  (CITE,) if certainty != "not_found" else (), (_evidence(),), (), "a draft",
                  "m", {}, renderings=renderings, stated=stated)


def test_sure_is_the_answer_plainly() -> None:
    a = _answer("sure", "A power struggle ended with Musk leaving OpenAI [1].")
    assert a.text == a.stated
    assert tr.answer_blocks(a)[0] == tr.esc(a.stated)


def test_likely_is_a_reading_with_its_sentence_and_checked_rendering_under_it() -> None:
    shown = (Rendering(1, "The power struggle ended with Musk leaving OpenAI.", "checked"),)
    a = _answer("likely", "A power struggle ended with Musk leaving OpenAI [1].", shown)
    head, quote = a.text.split("\n\n")
    assert head == "The articles suggest: A power struggle ended with Musk leaving OpenAI [1]."
    assert quote == (f"The sentence it rests on, [1]: “{SENTENCE}” (in English, checked: "
                     "“The power struggle ended with Musk leaving OpenAI.”)")
    blocks = tr.answer_blocks(a)
    assert blocks[1] == f"<blockquote>{tr.esc(quote)}</blockquote>"
    assert "\n\nThe sentence it rests on" in answer_text(a)


def test_unsure_gives_no_answer_and_the_closest_passage_marked_untranslated() -> None:
    a = _answer("unsure", "", (Rendering(1, "", "number 2018 missing"),))
    assert a.text == ("The articles do not clearly say.\n\nThe closest passage, [1]: "
                      f"“{SENTENCE}” (not translated)")


def test_an_indonesian_question_gets_the_bands_in_indonesian() -> None:
    text = wording.compose("Mengapa Musk keluar dari OpenAI?", "likely", "Karena X [1].", (CITE,))
    assert text.startswith("Menurut artikel, kemungkinan: Karena X [1].\n\nKalimat sumbernya")
    assert wording.compose("Mengapa Musk keluar dari OpenAI?", "not_found", "", ()) == \
        "Saya tidak menemukan ini di artikel."


def test_nothing_found_is_the_plain_refusal() -> None:
    none = Answer("q", "q", wording.compose("q", "not_found", "", ()), "not_found", (), (), (),
                  "", "m", {})
    assert tr.answer_blocks(none) == ["I could not find this in the articles."]
