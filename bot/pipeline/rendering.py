"""A quoted sentence rendered into the question's language, shown only when it is checked.

The model translates the sentence; the rendering is shown beside the original only when it
keeps the sentence's numbers and names (a name may be respelled the other language's way)
and its multilingual-e5 similarity to the original reaches a floor measured on translation
pairs (benchmarks/renderings.py). Otherwise the original stands alone, marked as not
translated: a small model's translations drop facts ("Pelatih ganda putra" became "a former
professional footballer"), so an unchecked one is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

import numpy as np

from bot.pipeline import citations, lexical
from bot.pipeline.llm import Generator
from bot.pipeline.prompts import Prompts
from index.embedding import Embedder

TRANSLATION_TOKENS = 120
# The least e5 similarity of a rendering to its original, measured on 220 hand-written
# English-Indonesian question pairs (benchmarks.renderings): about the 5th percentile of the
# true pairs (0.897), which keeps 95% of them and about one in twenty of the nearest wrong
# pairs (another question on the same corpus). e5-small hardly sees a reversed meaning: a
# rendering that kept the names but inverted who took what scored 0.897 against 0.905 for
# a faithful one, so the floor sits at the top of that gap and unsure cases stay untranslated.
MIN_SIMILARITY = 0.90


@dataclass(frozen=True)
class Rendering:
    """One cited sentence in the question's language, or why it is not shown."""

    n: int
    text: str  # "" when not shown
    reason: str  # "checked", or what the rendering lost


def needed(question: str, sentence: str) -> bool:
    """True when the sentence is in another language family than the question."""
    return (lexical.family(lexical.language(question))
            != lexical.family(lexical.language(sentence)))


def translate(text: str, language: str, generator: Generator, prompts: Prompts) -> str:
    """The model's one-line translation of a text into a language (its code), or ""."""
    prompt = prompts.translate.substitute(language=lexical.language_name(language),
                                          text=lexical.quoted(text))
    stream = generator.stream([{"role": "user", "content": prompt}], TRANSLATION_TOKENS)
    reply = "".join(islice(stream, TRANSLATION_TOKENS)).strip()
    line = reply.splitlines()[0].strip().strip('"“”') if reply else ""
    return line if 3 <= len(line) <= 3 * len(text) + 40 else ""


def lost(original: str, rendering: str, embedder: Embedder,
         floor: float = MIN_SIMILARITY) -> str | None:
    """What the rendering lost of the original (None: it keeps it)."""
    if not rendering:
        return "no rendering"
    missing = lexical.numbers(original) - lexical.numbers(rendering)
    if missing:
        return f"number {sorted(missing)[0]} missing"
    words = set(lexical.words(rendering))
    _, _, rest = original.strip().partition(" ")  # a capital after a full stop is no name
    for name in sorted(lexical.names(rest)):
        if name not in words and not citations.respelled(name, words):
            return f"name {name} missing"
    vecs = embedder.embed_passages([original, rendering])
    sim = float(np.dot(vecs[0], vecs[1]))
    return None if sim >= floor else f"similarity {sim:.2f} under {floor:.2f}"


def render(question: str, n: int, sentence: str, generator: Generator, prompts: Prompts,
           embedder: Embedder) -> Rendering:
    """The checked rendering of a cited sentence into the question's language."""
    text = lexical.quoted(translate(sentence, lexical.language(question), generator, prompts))
    why = lost(sentence, text, embedder)
    return Rendering(n, text if why is None else "", why or "checked")
