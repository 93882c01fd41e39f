"""What the answer decision reads: the model's own uncertainty and the evidence, as numbers.

Every answer records these (`ask --json`, `benchmarks.answer --records`); the calibrator
(bot.pipeline.calibrator) turns them into the probability that the draft, or the quoted
evidence sentence, is right. A signal that could not be measured (a server without
log-probabilities, no second draft) is NaN, and the calibrator treats it as unknown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from bot.pipeline import lexical
from bot.pipeline.citations import Verdict
from bot.pipeline.evidence import Evidence, Sentence
from bot.pipeline.llm import Scores
from index.embedding import Embedder

NAN = float("nan")
# A token of a fact: a digit, or a capitalised word after the draft's first word.
_FACT = re.compile(r"\d[\d.,]*|(?<=\s)[A-Z][\w-]+")


def _spans(draft: str) -> list[tuple[int, int]]:
    """Character spans of the draft's numbers and names (citation markers excluded)."""
    bare = lexical.MARKERS.sub(lambda m: " " * len(m.group()), draft)
    return [m.span() for m in _FACT.finditer(bare)]


def token_signals(scores: Scores, draft: str,
                  within: tuple[int, int] | None = None) -> dict[str, float]:
    """Log-probability summaries: over the draft's words, and over its names and numbers
    (within: only the tokens of that character span, one sentence of the draft)."""
    if not scores:
        return {"lp_mean": NAN, "lp_min": NAN, "lp_facts_mean": NAN, "lp_facts_min": NAN}
    words: list[float] = []
    facts: list[float] = []
    spans = _spans(draft)
    markers = [m.span() for m in lexical.MARKERS.finditer(draft)]
    pos = 0
    for text, lp in scores:
        start, pos = pos, pos + len(text)
        if not any(c.isalnum() for c in text) or any(a < pos and start < b
                                                     for a, b in markers):
            continue
        if within is not None and not (within[0] < pos and start < within[1]):
            continue
        words.append(lp)
        if any(a < pos and start < b for a, b in spans):
            facts.append(lp)
    return {"lp_mean": _mean(words), "lp_min": min(words, default=NAN),
            "lp_facts_mean": _mean(facts), "lp_facts_min": min(facts, default=NAN)}


def evidence_signals(question: str, evidence: Sequence[Evidence]) -> dict[str, float]:
    """How well the evidence matches the question: similarity, word coverage, margins."""
    sims = [e.similarity for e in evidence]
    first = evidence[0]
    kind = lexical.answer_kind(question)
    return {
        "ev_sim": first.similarity, "ev_cov": first.coverage,
        "ev_margin": sims[0] - sims[1] if len(sims) > 1 else NAN,
        "ev_max_sim": max(sims), "ev_count": float(len(evidence)),
        "ev_dense_top": float(first.hit.dense_rank == 0),
        "ev_bm25_top": float(first.hit.bm25_rank == 0),
        "ev_kind": NAN if kind is None else float(lexical.has_kind(first.text, kind)),
    }


_CAUSE = re.compile(r"^\W*(why|how(?!\s+(many|much|long|old|far|big|large|often|tall)\b)|"
                    r"what happened|mengapa|kenapa|bagaimana|apa yang terjadi)\b",
                    re.IGNORECASE)


def question_signals(question: str, evidence: Sequence[Evidence]) -> dict[str, float]:
    """What kind of question it is: one asking for a cause or a way (why, how), and one asked
    in another language than the evidence (the model reads across languages worse)."""
    across = bool(evidence) and lexical.family(lexical.language(question)) != lexical.family(
        lexical.language(" ".join(e.text for e in evidence[:1])))
    return {"q_cause": float(bool(_CAUSE.match(question))), "q_across": float(across)}


QUOTE_PREFIX = "qt_"  # the names of quote_signals


def quote_signals(question: str, evidence: Sequence[Evidence], passage: Evidence,
                  sentence: Sentence) -> dict[str, float]:
    """The sentence a quote would show: its similarity to the question (as evidence picking
    scored it), the share of the question's terms it holds, whether it holds the number or
    date asked for, whether it is the first passage's best sentence, and its length."""
    kind = lexical.answer_kind(question)
    return {
        "qt_sim": float(sentence.score),
        "qt_cov": lexical.coverage(lexical.terms(question), sentence.text),
        "qt_kind": float(lexical.has_kind(sentence.text, kind)) if kind else NAN,
        "qt_best": float(passage is evidence[0] and sentence == passage.best),
        "qt_words": float(len(lexical.words(sentence.text))),
    }


def check_signals(question: str, draft: str, text: str,
                  verdicts: Sequence[Verdict]) -> dict[str, float]:
    """Today's citation checks, as numbers: claims kept, the answer gives what was asked."""
    kept = sum(bool(v.kept) for v in verdicts)
    return {
        "chk_claims": float(len(verdicts)),
        "chk_kept": kept / len(verdicts) if verdicts else 0.0,
        "chk_gives": float(bool(text) and lexical.gives_asked(question, text)),
        "chk_words": float(len(lexical.words(draft))),
    }


def agreement(first: str, second: str | None, embedder: Embedder) -> dict[str, float]:
    """Whether a second draft (the question asked in the articles' language) agrees with the
    first: the multilingual embedder's similarity, and the share of numbers both give."""
    if second is None:
        return {"xl_sim": NAN, "xl_numbers": NAN, "xl_refused": NAN}
    a, b = (lexical.MARKERS.sub(" ", t).strip() for t in (first, second))
    if not a or not b:
        return {"xl_sim": 0.0, "xl_numbers": NAN, "xl_refused": float(not b)}
    vecs = embedder.embed_passages([a, b])
    na, nb = lexical.numbers(a), lexical.numbers(b)
    return {"xl_sim": float(np.dot(vecs[0], vecs[1])),
            "xl_numbers": len(na & nb) / len(na | nb) if na | nb else NAN,
            "xl_refused": 0.0}


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else NAN
