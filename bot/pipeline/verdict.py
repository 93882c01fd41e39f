"""The model's own verdict on the evidence: which passage answers the question, if any.

Asked before the answer with the same system text, passages and question, so the model's
cache of that prefix serves both calls and the verdict costs a few tokens. A passage it names
is what tanya quotes when the written answer fails the checks; "0" is a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice

import numpy as np

from bot.pipeline import citations, lexical
from bot.pipeline.citations import Citation
from bot.pipeline.evidence import Evidence
from bot.pipeline.llm import Generator, Messages
from bot.pipeline.prompts import Prompts, passages
from index.embedding import Embedder

_NUMBER = re.compile(r"\d+")
REPLY_TOKENS = 6  # read no more pieces than this, even from a stream that does not stop


def messages(question: str, evidence: Sequence[Evidence], prompts: Prompts,
             refusal: str) -> Messages:
    """The answer prompt's system text and passages, asking for a passage number instead."""
    system = prompts.answer_system.substitute(refusal=refusal)
    user = prompts.answer_pick.substitute(passages=passages(evidence),
                                          question=lexical.quoted(question)).rstrip()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def read(reply: str, evidence: Sequence[Evidence]) -> int | None:
    """The passage number the reply names, 0 for none, None when it names no passage shown."""
    found = _NUMBER.search(reply)
    if found is None:
        return None
    n = int(found.group())
    return n if n == 0 or any(e.n == n for e in evidence) else None


def pick(question: str, evidence: Sequence[Evidence], generator: Generator, prompts: Prompts,
         refusal: str) -> int | None:
    """Ask the model which passage answers (a few tokens on top of the cached prompt)."""
    stream = generator.stream(messages(question, evidence, prompts, refusal), REPLY_TOKENS)
    return read("".join(islice(stream, REPLY_TOKENS)), evidence)


def quoted(evidence: Sequence[Evidence], picked: int, draft: str, embedder: Embedder
           ) -> Citation:
    """The sentence of the picked passage closest to what the model wrote (its best sentence
    for the question when nothing was written)."""
    ev = next(e for e in evidence if e.n == picked)
    if not draft.strip() or len(ev.sentences) == 1:
        return citations.cite(ev, ev.best)
    sims = embedder.embed_passages([s.text for s in ev.sentences]) @ \
        embedder.embed_passages([draft])[0]
    return citations.cite(ev, ev.sentences[int(np.argmax(sims))])
