"""The model as the quote's picker: which of the evidence's sentences answers the question?

When the draft is not shown, tanya can still quote the sentence that answers. The model is
shown the best sentences of each passage with letters, and one more letter for "none of
them" (prompts/quote_pick.txt); its first reply token is read with its log-probability. The
probability of the letter it picks is the quote's signal (`pick_p`, 0 when it picks none,
NaN when the reply is no letter or the server gives no log-probabilities), measured by
benchmarks/selection.py. The system text is the answer prompt's, so its cached tokens serve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import ClassVar

from bot.pipeline import lexical
from bot.pipeline.evidence import Evidence, Sentence
from bot.pipeline.llm import Generator, Messages, Scores
from bot.pipeline.prompts import Prompts

LETTERS = "ABCDEFGHIJKLMNOP"
PER_PASSAGE = 2  # the best sentences of each passage that are listed
REPLY_TOKENS = 2


@dataclass(frozen=True)
class Pick:
    """The model's pick (None: none of them) and the probability of its letter."""

    PREFIX: ClassVar[str] = "pick_"  # the names of `signals`
    choice: tuple[Evidence, Sentence] | None
    p: float

    def signals(self) -> dict[str, float]:
        """What the quote decision reads: the pick's probability, 0 for "none of them"."""
        return {f"{self.PREFIX}p": 0.0 if self.choice is None and not math.isnan(self.p)
                else self.p}


def candidates(evidence: Sequence[Evidence],
               per_passage: int = PER_PASSAGE) -> list[tuple[Evidence, Sentence]]:
    """The best sentences of each passage (in the passage's order), passages in theirs."""
    out: list[tuple[Evidence, Sentence]] = []
    for e in evidence:
        best = sorted(e.sentences, key=lambda s: -s.score)[:per_passage]
        out += [(e, s) for s in e.sentences if s in best]
    return out[: len(LETTERS) - 1]


def messages(question: str, listed: Sequence[tuple[Evidence, Sentence]], system: str,
             prompts: Prompts) -> Messages:
    """The answer prompt's system text, then the lettered sentences and the question."""
    lines = [f"{LETTERS[i]}. [{e.n}] {lexical.quoted(s.text)}" for i, (e, s) in enumerate(listed)]
    user = prompts.quote_pick.substitute(sentences="\n".join(lines), none=LETTERS[len(listed)],
                                         question=lexical.quoted(question))
    return [{"role": "system", "content": system}, {"role": "user", "content": user.strip()}]


def ask(question: str, evidence: Sequence[Evidence], system: str, generator: Generator,
        prompts: Prompts, per_passage: int = PER_PASSAGE) -> Pick:
    """The model's pick among the listed sentences (p NaN when its reply cannot be read)."""
    listed = candidates(evidence, per_passage)
    scores: Scores = []
    reply = "".join(islice(generator.stream(messages(question, listed, system, prompts),
                                            REPLY_TOKENS, scores=scores), REPLY_TOKENS))
    first = next(((t, lp) for t, lp in scores if t.strip()), None)
    letter = reply.strip()[:1].upper()
    if first is None or not letter or letter not in LETTERS[: len(listed) + 1]:
        return Pick(None, math.nan)
    p = math.exp(first[1])
    return Pick(listed[LETTERS.index(letter)] if letter != LETTERS[len(listed)] else None, p)
