"""What the answer decision reads: the model's own uncertainty and the evidence, as numbers.

Every answer records these (`ask --json`, `benchmarks.answer --records`); the calibrator
(bot.pipeline.calibrator) turns them into the probability that the draft, or the quoted
evidence sentence, is right. A signal that could not be measured (a server without
log-probabilities) is NaN, and the calibrator treats it as unknown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.pipeline import citations, lexical
from bot.pipeline.citations import Verdict
from bot.pipeline.evidence import Evidence
from bot.pipeline.llm import Scores

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
        "ev_dense_top": float(first.hit.dense_rank == 1),  # search ranks start at 1
        "ev_bm25_top": float(first.hit.bm25_rank == 1),
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


def draft_signals(question: str, draft: str,
                  evidence: Sequence[Evidence]) -> dict[str, float]:
    """How much of the draft's own facts the passages hold: the share of its numbers found in
    them, and of its names found there or in the question (a name may be respelled the other
    language's way). NaN when the draft has none."""
    bare = lexical.MARKERS.sub(" ", draft)
    shown = " ".join(f"{e.hit.title} {e.text}" for e in evidence)
    numbers = lexical.numbers(bare)
    names = lexical.names(bare)
    known = set(lexical.words(f"{shown} {question}"))
    return {
        "dr_numbers": (len(numbers & lexical.numbers(shown)) / len(numbers)) if numbers else NAN,
        "dr_names": (sum(n in known or citations.respelled(n, known) for n in names)
                     / len(names)) if names else NAN,
    }


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values) if values else NAN
