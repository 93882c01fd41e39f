"""The answer pipeline: retrieve -> pick evidence -> prompt -> stream -> verify -> Answer.

Takes the index, an embedder and a generator as arguments and imports no heavy library, so
tests run it with fakes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from bot.pipeline import lexical, rendering, scales, selfcheck, when, wording
from bot.pipeline.calibrator import Certainty
from bot.pipeline.citations import Citation, Verdict
from bot.pipeline.decision import REFUSAL, is_refusal, judge
from bot.pipeline.evidence import Evidence, pick
from bot.pipeline.llm import Generator, Messages, Scores
from bot.pipeline.prompts import Prompts, passages
from bot.pipeline.rendering import Rendering
from bot.pipeline.settings import AnswerSettings
from index.backend import Store
from index.embedding import Embedder
from index.filters import Filters
from index.records import Hit
from index.search import search


@dataclass(frozen=True)
class Turn:
    """One earlier question and the answer given."""

    question: str
    answer: str


@dataclass(frozen=True)
class Answer:
    """Everything a front end needs to show, and everything --json reports."""

    question: str
    standalone_question: str
    text: str  # what the user reads, worded by its certainty
    certainty: Certainty
    citations: tuple[Citation, ...]
    evidence: tuple[Evidence, ...]
    verdicts: tuple[Verdict, ...]
    draft: str
    model: str
    timings: dict[str, float]
    filters: Filters = field(default_factory=Filters)
    signals: dict[str, float] = field(default_factory=dict)  # what the decision read
    token_scores: Scores = field(default_factory=list)  # the draft's token log-probabilities
    confidence: float | None = None  # calibrated P(the draft is right)
    renderings: tuple[Rendering, ...] = ()  # the quoted sentence in the question's language
    stated: str = ""  # the answer's own sentences within `text` ("" when none is shown)


@dataclass
class Events:
    """Callbacks for front ends; each is optional."""

    on_evidence: Callable[[Sequence[Evidence]], None] | None = None
    on_token: Callable[[str], None] | None = None


def messages_for(question: str, evidence: Sequence[Evidence], prompts: Prompts) -> Messages:
    """The chat prompt: fixed system text (cached across questions), then passages + question."""
    system = prompts.answer_system.substitute(refusal=REFUSAL)
    user = prompts.answer_user.substitute(
        passages=passages(evidence), question=lexical.quoted(question),
        language=lexical.language_name(lexical.language(question)))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def standalone(question: str, history: Sequence[Turn], generator: Generator,
               prompts: Prompts, turns: int) -> str:
    """Rewrite a follow-up into a question that stands alone, using the recent turns."""
    if not history:
        return question
    lines = []
    for t in history[-turns:]:
        lines += [f"User: {lexical.quoted(t.question)}", f"Assistant: {lexical.quoted(t.answer)}"]
    prompt = prompts.rewrite.substitute(history="\n".join(lines),
                                        question=lexical.quoted(question))
    text = _one_line(generator, prompt, 60, question)
    # A small model sometimes echoes the conversation instead: keep only something that is
    # still a question.
    if not text or (question.rstrip().endswith("?") and not text.endswith("?")):
        return question
    return text


def _one_line(generator: Generator, prompt: str, max_tokens: int, question: str) -> str:
    """The first line of a short model reply, or "" when its length is not plausible."""
    text = "".join(generator.stream([{"role": "user", "content": prompt}], max_tokens)).strip()
    text = text.splitlines()[0].strip().strip('"') if text else ""
    return text if 3 <= len(text) <= max(300, 3 * len(question)) else ""


def retrieve(store: Store, embedder: Embedder, question: str, settings: AnswerSettings,
             filters: Filters | None = None) -> tuple[list[Hit], list[Evidence]]:
    """Hits and the relevant, trimmed evidence for a question (fast: no language model)."""
    hits = search(store, embedder, question, settings.retrieve_k, settings.search, filters)
    return hits, pick(question, hits, embedder, settings.evidence)


def answer(question: str, *, store: Store, embedder: Embedder, generator: Generator,
           prompts: Prompts, settings: AnswerSettings | None = None,
           history: Sequence[Turn] = (), events: Events | None = None,
           filters: Filters | None = None, today: date | None = None) -> Answer:
    """Answer one question from the index (the articles that pass the filters), with verified
    citations. A time in the question narrows the dated articles (see bot.pipeline.when)."""
    settings = settings or AnswerSettings()
    events = events or Events()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    asked = standalone(question, history, generator, prompts, settings.history_turns)
    timings["rewrite_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    intent = when.read(asked, today or date.today())
    mine = filters or Filters()
    filters = intent.narrow(mine)
    _, evidence = retrieve(store, embedder, asked, settings, filters)
    if not evidence and filters != mine:
        # No article of that period: a later report may still tell of it ("in 2018" asked of
        # a 2023 article), so the question's period gives way; the user's filters never do.
        filters = mine
        _, evidence = retrieve(store, embedder, asked, settings, filters)
    if intent.latest:
        order = when.newest_first([e.hit.published for e in evidence])
        evidence = [replace(evidence[i], n=n) for n, i in enumerate(order, start=1)]
    timings["retrieval_s"] = time.perf_counter() - t1
    if events.on_evidence:
        events.on_evidence(evidence)
    if not evidence:
        timings["total_s"] = time.perf_counter() - t0
        return Answer(question, asked, wording.compose(asked, "not_found", "", ()), "not_found",
                      (), (), (), "", generator.name, timings, filters)
    # After the evidence is shown: a model still loading gives its name once it is ready.
    if settings.calibration and not settings.calibration.fits(generator.name, embedder.name):
        settings = replace(settings, calibration=None)
    scores: Scores = []
    asking = messages_for(asked, evidence, prompts)
    draft = scales.as_passages_say(
        _generate(asking, generator, settings, events, timings, scores), evidence, asked)
    checked = math.nan
    if settings.selfcheck and "cut_after_s" not in timings and not is_refusal(draft):
        t4 = time.perf_counter()
        checked = selfcheck.p_true(asking, draft, generator, prompts)
        timings["selfcheck_s"] = time.perf_counter() - t4
    judged = judge(asked, intent, evidence, draft, embedder, settings,
                   cut="cut_after_s" in timings, scores=scores, self_yes=checked)
    shown: tuple[Rendering, ...] = ()
    quoted = judged.citations[:1] if judged.certainty != "sure" else ()
    if settings.render_quotes and quoted and rendering.needed(asked, quoted[0].quote):
        t5 = time.perf_counter()
        shown = (rendering.render(asked, quoted[0].n, quoted[0].quote, generator, prompts,
                                  embedder),)
        timings["rendering_s"] = time.perf_counter() - t5
    text = wording.compose(asked, judged.certainty, judged.answer, judged.citations, shown)
    timings["total_s"] = time.perf_counter() - t0
    return Answer(question, asked, text, judged.certainty, judged.citations, tuple(evidence),
                  judged.verdicts, draft, generator.name, timings, filters, judged.signals,
                  scores, judged.confidence, shown, judged.answer)


def _generate(messages: Messages, generator: Generator, settings: AnswerSettings,
              events: Events, timings: dict[str, float], scores: Scores) -> str:
    started = time.perf_counter()
    pieces: list[str] = []
    for piece in generator.stream(messages, settings.max_tokens, scores=scores):
        if not pieces:
            timings["first_token_s"] = time.perf_counter() - started
        pieces.append(piece)
        if events.on_token:
            events.on_token(piece)
        if time.perf_counter() - started > settings.timeout_s:
            timings["cut_after_s"] = time.perf_counter() - started
            break  # closing the stream stops the model
    timings["generation_s"] = time.perf_counter() - started
    return "".join(pieces)


