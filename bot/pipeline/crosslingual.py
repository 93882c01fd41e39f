"""The question in the articles' language: a second draft to agree with, and quote renderings.

A small model reads a passage better when the question is in the passage's language (the
English dev set: 0.42 right in English, 0.57 in Indonesian), so tanya also asks the
question there, on the cached passages, and whether both drafts agree is a signal of the
answer decision. A quoted sentence in another language gets an English rendering, shown
as a rendering beside the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from bot.pipeline import lexical
from bot.pipeline.evidence import Evidence
from bot.pipeline.llm import Generator
from bot.pipeline.prompts import Prompts

TRANSLATION_TOKENS = 120


def passage_language(evidence: Sequence[Evidence]) -> str:
    """The language the evidence is written in (its best passage's)."""
    return lexical.language(" ".join(e.text for e in evidence[:1]))


def needed(question: str, evidence: Sequence[Evidence]) -> bool:
    """True when the question and the evidence are in different language families."""
    return bool(evidence) and (lexical.family(lexical.language(question))
                               != lexical.family(passage_language(evidence)))


def translate(text: str, language: str, generator: Generator, prompts: Prompts) -> str:
    """The model's one-line translation of a text into a language (its code), or ""."""
    prompt = prompts.translate.substitute(language=lexical.language_name(language),
                                          text=lexical.quoted(text))
    stream = generator.stream([{"role": "user", "content": prompt}], TRANSLATION_TOKENS)
    reply = "".join(islice(stream, TRANSLATION_TOKENS)).strip()
    line = reply.splitlines()[0].strip().strip('"“”') if reply else ""
    return line if 3 <= len(line) <= 3 * len(text) + 40 else ""
