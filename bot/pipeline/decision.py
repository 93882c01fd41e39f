"""From a draft to what the user gets, with how sure tanya is of it.

The citation checks (bot.pipeline.citations), the model's token log-probabilities and
self-check, and the evidence's fit become signals (bot.pipeline.signals); the fitted
calibration (bot.pipeline.calibrator) turns them into the probability that the draft is
right and a certainty band: `sure`, `likely` or `unsure`. The checks are features, not
vetoes: a draft whose names the passage spells another way is still shown when the fit
trusts it, cited to the sentence of its passage closest to it. Without a calibration for
this model, a draft the checks keep is `likely` and any other `unsure`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.pipeline import citations, disagree, lexical, signals, when
from bot.pipeline.calibrator import Certainty, kind
from bot.pipeline.citations import Citation, Verdict
from bot.pipeline.evidence import Evidence, Sentence
from bot.pipeline.llm import Scores
from bot.pipeline.settings import AnswerSettings
from index.embedding import Embedder, Vectors

REFUSAL = "I could not find this in the articles."


@dataclass(frozen=True)
class Judged:
    """The decision on one draft, and what it read."""

    answer: str  # the answer's sentences with their markers ("" when none is shown)
    certainty: Certainty
    citations: tuple[Citation, ...]  # an unsure answer cites the closest passage
    verdicts: tuple[Verdict, ...]
    signals: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None  # calibrated P(right) of the draft (None: no fit)


def judge(asked: str, intent: when.TimeIntent, evidence: Sequence[Evidence], draft: str,
          embedder: Embedder, settings: AnswerSettings, cut: bool = False,
          scores: Scores | None = None, self_yes: float = math.nan) -> Judged:
    """How sure tanya is of a draft, and what it shows (cut: stopped at the time limit, so
    only the evidence is shown; scores: the draft's token log-probabilities; self_yes: the
    model's P(yes) that the passages say what it wrote)."""
    checked = citations.check(draft, evidence, embedder, settings.min_similarity, asked)
    refused = is_refusal(draft)
    blank = cut or refused or not lexical.MARKERS.sub("", draft).strip()
    measured = {**signals.token_signals(scores or [], draft),
                **signals.evidence_signals(asked, evidence),
                **signals.question_signals(asked, evidence),
                **signals.check_signals(asked, draft, checked.text, checked.verdicts),
                **signals.draft_signals(asked, draft, evidence),
                **_vector_signals(asked, draft, evidence, embedder, checked.sentence_vectors),
                "draft_refused": float(refused), "self_yes": self_yes}
    cal = settings.calibration
    confidence: float | None = None
    certainty: Certainty
    if blank:
        certainty = "unsure"
    elif cal is not None:
        confidence = cal.answer.probability(measured)
        measured["p_answer"] = confidence
        certainty = cal.band(confidence, settings.sure_accuracy, kind(measured))
    else:
        certainty = ("likely" if checked.text and lexical.gives_asked(asked, checked.text)
                     else "unsure")
    if certainty == "unsure":
        closest = citations.cite(evidence[0], evidence[0].best)
        return Judged("", "unsure", (closest,), checked.verdicts, measured, confidence)
    text, cites = ((checked.text, checked.citations) if checked.text
                   else as_cited(draft, evidence, embedder))
    text, cites = _dated(asked, intent, evidence, text, cites)
    return Judged(text, certainty, cites, checked.verdicts, measured, confidence)


def _vector_signals(asked: str, draft: str, evidence: Sequence[Evidence], embedder: Embedder,
                    sentences: Vectors | None) -> dict[str, float]:
    """Where the draft took its facts from, read off e5 vectors: the evidence sentence it is
    closest to, how close (dr_sim), and how well that sentence matches the question
    (dr_qsim); NaN for an empty draft. `sentences`: the evidence sentences' vectors the
    checks already embedded (embedded here when they did not)."""
    bare = lexical.MARKERS.sub(" ", draft).strip()
    if not bare:
        return {"dr_sim": math.nan, "dr_qsim": math.nan}
    if sentences is None:
        sentences = embedder.embed_passages([s.text for e in evidence for s in e.sentences])
    to_draft = sentences @ embedder.embed_passages([bare])[0]
    source = int(np.argmax(to_draft))
    query = embedder.embed_query(asked)[0]
    return {"dr_sim": float(to_draft[source]), "dr_qsim": float(sentences[source] @ query)}


def as_cited(draft: str, evidence: Sequence[Evidence],
             embedder: Embedder) -> tuple[str, tuple[Citation, ...]]:
    """A draft the checks could not verify, as the model wrote it: markers of passages that
    do not exist dropped, each cited passage quoted by its sentence closest to the draft (the
    first passage when it cites none)."""
    shown = {e.n: e for e in evidence}
    parts: list[str] = []
    cited: list[int] = []
    for claim, ns in citations.split_claims(draft):
        valid = [n for n in ns if n in shown]
        cited += [n for n in valid if n not in cited]
        bare = lexical.MARKERS.sub("", claim).strip()
        parts.append(bare + "".join(f" [{n}]" for n in valid))
    if not cited:
        cited = [evidence[0].n]
        parts[-1:] = [f"{parts[-1]} [{cited[0]}]"] if parts else []
    text = " ".join(citations.tidy(p) for p in parts)
    return text, tuple(citations.cite(shown[n], closest(shown[n], draft, embedder))
                       for n in cited)


def closest(ev: Evidence, draft: str, embedder: Embedder) -> Sentence:
    """The sentence of a passage closest to the draft."""
    if not draft.strip() or len(ev.sentences) == 1:
        return ev.best
    sims = embedder.embed_passages([s.text for s in ev.sentences]) @ \
        embedder.embed_passages([draft])[0]
    return ev.sentences[int(np.argmax(sims))]


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
           cites: tuple[Citation, ...]) -> tuple[str, tuple[Citation, ...]]:
    """Dated reports: disagreeing values are all given, agreeing sources all cited, and a
    question about the present answered from one report says its date."""
    found = disagree.values(question, evidence)
    if len({v.number for v in found}) > 1:
        return disagree.phrase(question, found), tuple(disagree.citation(v) for v in found)
    if found:
        cited = {c.n for c in cites}
        return text, cites + tuple(disagree.citation(v) for v in found
                                   if v.evidence.n not in cited)
    return (_as_of(text, cites) if intent.present else text), cites


def _as_of(text: str, cites: Sequence[Citation]) -> str:
    """A present-tense answer drawn from one dated report says the report's date."""
    if len({c.article_id for c in cites}) != 1 or not cites[0].published:
        return text
    return f"{text} (as of {when.as_of(cites[0].published)})"
