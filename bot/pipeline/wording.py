"""What each certainty band says, in the question's language (English or Indonesian).

`sure`: the answer, plainly. `likely`: the answer worded as a reading of the articles, with
the sentence it rests on right under it. `unsure`: no answer; the articles do not clearly
say, and the closest passage. `not_found`: the refusal. A quoted sentence in another language
than the question carries its checked rendering, or says it is not translated.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.pipeline import lexical
from bot.pipeline.calibrator import Certainty
from bot.pipeline.citations import Citation
from bot.pipeline.rendering import Rendering

_WORDS = {
    "en": {"likely": "The articles suggest: ", "rests": "The sentence it rests on",
           "unsure": "The articles do not clearly say.", "closest": "The closest passage",
           "not_found": "I could not find this in the articles.",
           "rendered": "in English, checked", "untranslated": "not translated"},
    "id": {"likely": "Menurut artikel, kemungkinan: ", "rests": "Kalimat sumbernya",
           "unsure": "Artikel tidak menyebutkannya dengan jelas.",
           "closest": "Bagian artikel yang paling dekat",
           "not_found": "Saya tidak menemukan ini di artikel.",
           "rendered": "dalam bahasa Indonesia, sudah diperiksa",
           "untranslated": "tidak diterjemahkan"},
}


def words(question: str) -> dict[str, str]:
    """The band phrases for the question's language (English for any but Indonesian)."""
    return _WORDS["id" if lexical.family(lexical.language(question)) == "id" else "en"]


def compose(question: str, certainty: Certainty, answer: str, cites: Sequence[Citation],
            renderings: Sequence[Rendering] = ()) -> str:
    """The text the user reads for one answer (paragraphs separated by a blank line)."""
    say = words(question)
    if certainty == "not_found":
        return say["not_found"]
    if certainty == "sure":
        return answer
    lead, label = ((say["likely"] + answer, say["rests"]) if certainty == "likely"
                   else (say["unsure"], say["closest"]))
    if not cites:
        return lead
    c = cites[0]
    quote = f"{label}, [{c.n}]: “{c.quote}”"
    shown = next((r for r in renderings if r.n == c.n), None)
    if shown is not None:
        quote += (f" ({say['rendered']}: “{shown.text}”)" if shown.text
                  else f" ({say['untranslated']})")
    return f"{lead}\n\n{quote}"
