"""The model's own verdict on the evidence: do the passages answer the question at all?

Asked before the answer with the same system text, passages and question, so the model's
cache of that prefix serves both calls and the verdict costs a few tokens. "No" is the
refusal, without a draft; after "yes", a draft that fails the checks is replaced by a quote
of the passage it cites, where the shared-words fallback would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice

import numpy as np

from bot.pipeline import citations, lexical
from bot.pipeline.evidence import Evidence, Sentence
from bot.pipeline.llm import Generator, Messages
from bot.pipeline.prompts import Prompts, passages
from index.embedding import Embedder

_YES = re.compile(r"^\W*(yes|ya)\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(no|tidak)\b", re.IGNORECASE)
REPLY_TOKENS = 4  # read no more pieces than this, even from a stream that does not stop


def messages(question: str, evidence: Sequence[Evidence], prompts: Prompts,
             refusal: str) -> Messages:
    """The answer prompt's system text and passages, asking yes or no instead."""
    system = prompts.answer_system.substitute(refusal=refusal)
    user = prompts.answer_verdict.substitute(passages=passages(evidence),
                                             question=lexical.quoted(question)).rstrip()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def read(reply: str) -> bool | None:
    """True for yes, False for no, None for any other reply."""
    if _YES.match(reply):
        return True
    return False if _NO.match(reply) else None


def ask(question: str, evidence: Sequence[Evidence], generator: Generator, prompts: Prompts,
        refusal: str) -> bool | None:
    """Ask the model whether the passages answer (a few tokens on top of the cached prompt)."""
    stream = generator.stream(messages(question, evidence, prompts, refusal), REPLY_TOKENS)
    return read("".join(islice(stream, REPLY_TOKENS)))


def quoted_sentence(evidence: Sequence[Evidence], draft: str,
                    embedder: Embedder) -> tuple[Evidence, Sentence]:
    """The sentence closest to the draft in the first shown passage it cites (the first
    passage when it cites none), with that passage: the quote that stands in for a draft
    that failed."""
    shown = {e.n: e for e in evidence}
    cited = [n for _, ns in citations.split_claims(draft) for n in ns if n in shown]
    ev = shown[cited[0]] if cited else evidence[0]
    if not draft.strip() or len(ev.sentences) == 1:
        return ev, ev.best
    sims = embedder.embed_passages([s.text for s in ev.sentences]) @ \
        embedder.embed_passages([draft])[0]
    return ev, ev.sentences[int(np.argmax(sims))]
