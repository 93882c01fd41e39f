"""The model's own check of its draft: the probability it gives to "yes, the passages say it".

After the draft, the same conversation goes on with one more question (prompts/answer_check.txt)
and the model's first reply token is read with its log-probability. The prompt, passages and
draft are in the model's cache already, so this costs a few prompt tokens and one generated
token. A signal for the calibrated decision (Kadavath et al. 2022, "Language Models (Mostly)
Know What They Know", call it P(True)), NaN when the reply is neither yes nor no or the server
gives no log-probabilities.
"""

from __future__ import annotations

import math
import re
from itertools import islice

from bot.pipeline.llm import Generator, Messages, Scores
from bot.pipeline.prompts import Prompts

REPLY_TOKENS = 2
_YES = re.compile(r"^\W*(yes|ya)\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(no|tidak)\b", re.IGNORECASE)


def messages(asked: Messages, draft: str, prompts: Prompts) -> Messages:
    """The answer's conversation, its draft, and the check question."""
    return [*asked, {"role": "assistant", "content": draft},
            {"role": "user", "content": prompts.answer_check.template.strip()}]


def p_true(asked: Messages, draft: str, generator: Generator, prompts: Prompts) -> float:
    """P(yes) for "the passages say what the draft says" (NaN when it cannot be read)."""
    scores: Scores = []
    reply = "".join(islice(generator.stream(messages(asked, draft, prompts), REPLY_TOKENS,
                                            scores=scores), REPLY_TOKENS))
    said = True if _YES.match(reply) else False if _NO.match(reply) else None
    first = next((lp for text, lp in scores if any(c.isalnum() for c in text)), None)
    if said is None or first is None:
        return math.nan
    p = math.exp(first)
    return p if said else 1.0 - p
