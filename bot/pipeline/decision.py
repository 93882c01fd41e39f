"""From a draft to what the user gets: the checked answer, a quote of the evidence, or the
refusal.

The citation checks run first (bot.pipeline.citations); their results, the model's token
log-probabilities, the second draft in the articles' language and the evidence's fit become
signals (bot.pipeline.signals), and the fitted calibration (bot.pipeline.calibrator) turns
them into the probability that the draft, or the quote, is right. Each is shown only when
it clears the threshold of the wanted accuracy (TANYA_ANSWER_MIN_ACCURACY). Without a
calibration file the checks alone decide, as before.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.pipeline import calibrator, citations, disagree, lexical, sampling, signals, verdict, when
from bot.pipeline.calibrator import Calibration
from bot.pipeline.citations import Citation, Verdict
from bot.pipeline.evidence import Evidence, Sentence
from bot.pipeline.llm import Scores
from bot.pipeline.picker import Pick
from index.embedding import Embedder

if TYPE_CHECKING:
    from bot.pipeline.answer import AnswerSettings

REFUSAL = "I could not find this in the articles."
# The calibrated refusal when evidence was found: the passage is shown, the answer is not sure.
UNSURE = ("I am not sure enough to answer this from the articles; the closest passage is the "
          "evidence shown.")
FALLBACK_LEAD = "The model's answer could not be verified; the most relevant passages say:"

Status = Literal["answered", "fallback", "refused", "not_found"]


@dataclass(frozen=True)
class Judged:
    """The decision on one draft, and what it read."""

    text: str
    status: Status
    citations: tuple[Citation, ...]
    verdicts: tuple[Verdict, ...]
    signals: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None  # calibrated P(right) of what is shown (None: no file)


def judge(asked: str, intent: when.TimeIntent, evidence: Sequence[Evidence], draft: str,
          embedder: Embedder, settings: AnswerSettings, cut: bool = False,
          found: bool | None = None, scores: Scores | None = None,
          second: str | None = None, self_yes: float = math.nan,
          samples: Sequence[str] = (), pick: Callable[[], Pick] | None = None) -> Judged:
    """What the user gets from a draft (cut: stopped at the time limit, so only the evidence
    is trusted; found: the model said the passages answer; scores: the draft's token
    log-probabilities; second: the answer to the question put in the articles' language;
    self_yes: the model's P(yes) that the passages say what it wrote; samples: first
    sentences sampled on the draft's prompt; pick: asks the model which sentence answers,
    called only when the draft is not shown and the quote model reads its signal)."""
    checked = citations.check(draft, evidence, embedder, settings.min_similarity, asked,
                              excuse_asked=not settings.strict_names)
    refused = is_refusal(draft) and not cut
    failed = cut or refused or not checked.text or not lexical.gives_asked(asked, checked.text)
    measured = {**signals.token_signals(scores or [], draft),
                **signals.evidence_signals(asked, evidence),
                **signals.question_signals(asked, evidence),
                **signals.check_signals(asked, draft, "" if failed else checked.text,
                                        checked.verdicts),
                **signals.agreement(draft, second, embedder),
                **sampling.agreement(draft, list(samples), embedder,
                                     [is_refusal(s) for s in samples]),
                "draft_refused": float(refused), "self_yes": self_yes}
    cal = settings.calibration
    confidence: float | None = None
    status: Status = "answered"
    text, cites = checked.text, checked.citations
    if cal is not None:
        choice, picked = _calibrated(cal, asked, evidence, draft, embedder, settings, failed,
                                     measured, pick)
        confidence = measured["p_answer"] if choice == "answer" else measured["p_quote"]
        if choice == "answer":
            checked = _undoubted(asked, draft, evidence, embedder, settings, checked, scores,
                                 measured, cal)
            text, cites = checked.text, checked.citations
        elif choice == "quote":
            text, status, cites = _quoting((citations.cite(
                *(picked or verdict.quoted_sentence(evidence, draft, embedder))),))
        elif choice == "refuse":
            text, status, cites, confidence = UNSURE, "refused", (), None
    elif refused:
        text, status, cites = REFUSAL, "refused", ()
    elif failed and found:
        text, status, cites = _quoting((citations.cite(
            *verdict.quoted_sentence(evidence, draft, embedder)),))
    elif failed:
        text, status, cites = _fallback(asked, evidence, settings)
    if status in ("answered", "fallback"):
        text, status, cites = _dated(asked, intent, evidence, text, status, cites)
    return Judged(text, status, cites, checked.verdicts, measured, confidence)


def _calibrated(cal: Calibration, asked: str, evidence: Sequence[Evidence], draft: str,
                embedder: Embedder, settings: AnswerSettings, failed: bool,
                measured: dict[str, float], pick: Callable[[], Pick] | None
                ) -> tuple[calibrator.Decision, tuple[Evidence, Sentence] | None]:
    """The fitted decision, and the sentence a quote would show (None: not chosen yet).
    The signals it reads are added to `measured`, with p_answer and p_quote. The sentence
    nearest the draft costs an embedding of its passage, so it is taken here only when the
    fit reads its signals; the model's pick only when the draft is not shown."""
    picked = (verdict.quoted_sentence(evidence, draft, embedder)
              if cal.reads(signals.QUOTE_PREFIX) else None)
    if picked is not None:
        measured |= signals.quote_signals(asked, evidence, *picked)
    p_answer = cal.answer.probability(measured)
    kind = calibrator.kind(measured)
    shown = cal.answers(p_answer, settings.min_accuracy, can_answer=not failed, kind=kind)
    if pick is not None and not shown and cal.quote.reads(Pick.PREFIX):
        chosen = pick()
        measured |= chosen.signals()
        if chosen.choice is not None:
            picked = chosen.choice
            if cal.reads(signals.QUOTE_PREFIX):
                measured |= signals.quote_signals(asked, evidence, *picked)
    p_quote = cal.quote.probability(measured)
    measured |= {"p_answer": p_answer, "p_quote": p_quote}
    return cal.decide(p_answer, p_quote, settings.min_accuracy, can_answer=not failed,
                      kind=kind), picked


def _undoubted(asked: str, draft: str, evidence: Sequence[Evidence], embedder: Embedder,
               settings: AnswerSettings, checked: citations.Checked, scores: Scores | None,
               measured: dict[str, float], cal: Calibration) -> citations.Checked:
    """The answer without the sentences after its first that the calibrator doubts: each is
    scored alone (its own tokens' log-probabilities and checks) and dropped below the
    answer threshold; what is left is checked again, so its citations are its own."""
    kept = [v for v in checked.verdicts if v.kept]
    if len(kept) < 2:
        return checked
    floor = cal.at(settings.min_accuracy, calibrator.kind(measured))[0]
    keep = kept[:1]
    for v in kept[1:]:
        bare = v.sentence.rstrip(".!? ")  # the draft may put its marker before the stop
        start = draft.find(bare)
        span = (start, start + len(bare)) if start >= 0 else None
        alone = {**measured, **signals.token_signals(scores or [], draft, span),
                 **signals.check_signals(asked, v.sentence, v.sentence, (v,))}
        if cal.answer.probability(alone) >= floor:
            keep.append(v)
    if len(keep) == len(kept):
        return checked
    redraft = " ".join(f"{v.sentence} " + " ".join(f"[{n}]" for n in v.kept) for v in keep)
    return citations.check(redraft, evidence, embedder, settings.min_similarity, asked,
                           excuse_asked=not settings.strict_names)


_NOT_ANSWERED = re.compile(
    r"\b(not|never) (mentioned|stated|given|provided|specified|found|included|available)\b|"
    r"\bno (information|mention|data)\b|\b(does|do|did) not (say|mention|state|contain|"
    r"provide|specify)\b|\bcannot (be )?(find|found|answer|determine)|"
    r"\btidak (disebutkan|dijelaskan|ada informasi|ditemukan)\b", re.IGNORECASE)


def is_refusal(draft: str) -> bool:
    """The fixed phrase, an empty draft, or a draft whose every sentence says 'not mentioned'."""
    norm = " ".join(lexical.words(draft))
    if not norm or " ".join(lexical.words(REFUSAL)) in norm:
        return True
    claims = [c for c, _ in citations.split_claims(draft)]
    return bool(claims) and all(_NOT_ANSWERED.search(c) for c in claims)


def _dated(question: str, intent: when.TimeIntent, evidence: Sequence[Evidence], text: str,
           status: Status, cites: tuple[Citation, ...]
           ) -> tuple[str, Status, tuple[Citation, ...]]:
    """Dated reports: disagreeing values are all given, agreeing sources all cited, and a
    question about the present answered from one report says its date."""
    found = disagree.values(question, evidence)
    if len({v.number for v in found}) > 1:
        return (disagree.phrase(question, found), "answered",
                tuple(disagree.citation(v) for v in found))
    if found:
        cited = {c.n for c in cites}
        return text, status, cites + tuple(disagree.citation(v) for v in found
                                           if v.evidence.n not in cited)
    return (_as_of(text, cites) if intent.present and status == "answered" else text,
            status, cites)


def _as_of(text: str, cites: Sequence[Citation]) -> str:
    """A present-tense answer drawn from one dated report says the report's date."""
    if len({c.article_id for c in cites}) != 1 or not cites[0].published:
        return text
    return f"{text} (as of {when.as_of(cites[0].published)})"


def _fallback(question: str, evidence: Sequence[Evidence],
              settings: AnswerSettings) -> tuple[str, Status, tuple[Citation, ...]]:
    """Quote the best evidence when it clearly matches the question; otherwise refuse."""
    q_words = lexical.terms(question)
    strong = [e for e in evidence
              if lexical.coverage(q_words, f"{e.hit.title} {e.best.text}")
              >= settings.fallback_coverage]
    if not strong:
        return REFUSAL, "refused", ()
    return _quoting(tuple(citations.cite(e, e.best) for e in strong[:2]))


def _quoting(cites: tuple[Citation, ...]) -> tuple[str, Status, tuple[Citation, ...]]:
    """The fallback answer: the cited sentences quoted, each with its passage number."""
    quotes = " ".join(f"“{c.quote}” [{c.n}]" for c in cites)
    return f"{FALLBACK_LEAD} {quotes}", "fallback", cites
