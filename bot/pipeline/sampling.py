"""Drafts sampled on the cached prompt, and how well they agree with the greedy draft.

A model that reads the answer in the passages tends to give it again when its next token is
drawn at random; one that guesses gives something else each time. The agreement of a few
sampled first sentences with the draft's first sentence is a signal of the calibrated
decision (bot.pipeline.signals), as in selective question answering and semantic-entropy
work. The prompt's tokens are already evaluated for the draft, so a sample costs only its
own tokens, and only its first sentence is generated.
"""

from __future__ import annotations

import math
import re

import numpy as np

from bot.pipeline import lexical
from bot.pipeline.llm import Generator, Messages
from index.embedding import Embedder

TEMPERATURE = 0.7  # enough to leave the greedy path where the model is unsure
SAMPLE_TOKENS = 48  # a first sentence; the rest of a sample is never generated
_END = re.compile(r"[.!?](?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])?(?:\s|$)")
NAN = math.nan


def first_sentence(text: str) -> str:
    """The text up to its first sentence end (a citation marker after it included)."""
    end = _END.search(text, 12)
    return text[:end.end()].strip() if end else text.strip()


def drafts(asking: Messages, generator: Generator, n: int) -> list[str]:
    """`n` first sentences sampled on the draft's prompt, each from its own seed."""
    out = []
    for seed in range(1, n + 1):
        text = ""
        for piece in generator.stream(asking, SAMPLE_TOKENS, temperature=TEMPERATURE,
                                      seed=seed):
            text += piece
            if _END.search(text, 12):
                break  # closing the stream stops the model
        out.append(first_sentence(text))
    return out


def agreement(draft: str, samples: list[str], embedder: Embedder,
              refused: list[bool]) -> dict[str, float]:
    """How the samples agree with the draft's first sentence: the mean embedder similarity
    (smp_sim), the share of its names and numbers they repeat (smp_facts), and the share of
    samples that refuse (smp_refused). NaN when nothing was sampled."""
    if not samples:
        return {"smp_sim": NAN, "smp_facts": NAN, "smp_refused": NAN}
    head = lexical.MARKERS.sub(" ", first_sentence(draft)).strip()
    texts = [lexical.MARKERS.sub(" ", s).strip() for s in samples]
    given = [t for t in texts if t]
    sims = []
    if head and given:
        vecs = embedder.embed_passages([head, *given])
        sims = [float(v) for v in np.asarray(vecs[1:]) @ np.asarray(vecs[0])]
    facts = lexical.numbers(head) | lexical.names(head)
    repeated = [len(facts & (lexical.numbers(t) | lexical.names(t))) / len(facts)
                for t in texts] if facts else []
    sims += [0.0] * (len(texts) - len(given))  # an empty sample agrees with nothing
    return {"smp_sim": math.fsum(sims) / len(sims) if sims else NAN,
            "smp_facts": math.fsum(repeated) / len(repeated) if repeated else NAN,
            "smp_refused": sum(refused) / len(refused)}
