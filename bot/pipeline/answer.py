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

from bot.pipeline import crosslingual, lexical, picker, sampling, selfcheck, verdict, when
from bot.pipeline.calibrator import Calibration
from bot.pipeline.citations import Citation, Verdict
from bot.pipeline.decision import REFUSAL, Status, is_refusal, judge
from bot.pipeline.evidence import Evidence, EvidenceSettings, pick
from bot.pipeline.llm import Generator, Messages, Scores
from bot.pipeline.prompts import Prompts, passages
from index.embedding import Embedder
from index.filters import Filters
from index.records import Hit
from index.search import SearchSettings, search
from index.store import IndexStore


@dataclass(frozen=True)
class AnswerSettings:
    """Knobs of the pipeline (filled from bot.config.Settings)."""

    retrieve_k: int = 8
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    max_tokens: int = 200
    timeout_s: float = 120.0
    # Measured with multilingual-e5-small on real drafts (README): right claim-passage pairs
    # score 0.82 or more (5th percentile), unrelated pairs about 0.73 (median).
    min_similarity: float = 0.80
    fallback_coverage: float = 0.6
    strict_names: bool = False  # the question's names must be in the passage, across languages
    verdict: bool = False  # ask the model first whether the passages answer (pipeline.verdict)
    crosslingual: bool = False  # also ask in the articles' language (pipeline.crosslingual)
    selfcheck: bool = True  # ask the model whether the passages say what it wrote
    samples: int = 0  # first sentences sampled on the draft's prompt (pipeline.sampling)
    render_quotes: bool = True  # a quote in another language gets the model's rendering
    calibration: Calibration | None = None  # the fitted decision (None: the checks decide)
    min_accuracy: float = 0.9  # how sure an answer or a quote must be to be shown
    history_turns: int = 3


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
    text: str
    status: Status
    citations: tuple[Citation, ...]
    evidence: tuple[Evidence, ...]
    verdicts: tuple[Verdict, ...]
    draft: str
    model: str
    timings: dict[str, float]
    filters: Filters = field(default_factory=Filters)
    found: bool | None = None  # the model's verdict: the passages answer (None: not asked)
    signals: dict[str, float] = field(default_factory=dict)  # what the decision read
    second_question: str = ""  # the question in the articles' language, when asked there
    second_draft: str = ""  # the model's answer to it
    token_scores: Scores = field(default_factory=list)  # the draft's token log-probabilities
    confidence: float | None = None  # calibrated P(right) of what is shown


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


def retrieve(store: IndexStore, embedder: Embedder, question: str, settings: AnswerSettings,
             filters: Filters | None = None) -> tuple[list[Hit], list[Evidence]]:
    """Hits and the relevant, trimmed evidence for a question (fast: no language model)."""
    hits = search(store, embedder, question, settings.retrieve_k, settings.search, filters)
    return hits, pick(question, hits, embedder, settings.evidence)


def answer(question: str, *, store: IndexStore, embedder: Embedder, generator: Generator,
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
        return Answer(question, asked, REFUSAL, "not_found", (), (), (), "", generator.name,
                      timings, filters)
    # After the evidence is shown: a model still loading gives its name once it is ready.
    if settings.calibration and not settings.calibration.fits(generator.name, embedder.name):
        settings = replace(settings, calibration=None)
    found = None
    if settings.verdict:
        t2 = time.perf_counter()
        found = verdict.ask(asked, evidence, generator, prompts, REFUSAL)
        timings["verdict_s"] = time.perf_counter() - t2
    scores: Scores = []
    asking = messages_for(asked, evidence, prompts)
    draft = "" if found is False else _generate(asking, generator, settings, events, timings,
                                                scores)
    checked = math.nan
    if settings.selfcheck and "cut_after_s" not in timings and not is_refusal(draft):
        t4 = time.perf_counter()
        checked = selfcheck.p_true(asking, draft, generator, prompts)
        timings["selfcheck_s"] = time.perf_counter() - t4
    samples: list[str] = []
    if settings.samples and "cut_after_s" not in timings and not is_refusal(draft):
        t6 = time.perf_counter()
        samples = sampling.drafts(asking, generator, settings.samples)
        timings["samples_s"] = time.perf_counter() - t6
    second_q = second = ""
    if settings.crosslingual and crosslingual.needed(asked, evidence) and not is_refusal(draft):
        t3 = time.perf_counter()
        second_q = crosslingual.translate(asked, crosslingual.passage_language(evidence),
                                          generator, prompts)
        if second_q:  # the passages are cached from the draft: only the question is new
            second = "".join(generator.stream(messages_for(second_q, evidence, prompts),
                                              settings.max_tokens))
        timings["second_draft_s"] = time.perf_counter() - t3

    def pick() -> picker.Pick:
        t7 = time.perf_counter()
        chosen = picker.ask(asked, evidence, asking[0]["content"], generator, prompts)
        timings["pick_s"] = time.perf_counter() - t7
        return chosen

    judged = judge(asked, intent, evidence, draft, embedder, settings,
                   cut="cut_after_s" in timings, found=found, scores=scores,
                   second=second if second_q else None, self_yes=checked, samples=samples,
                   pick=None if "cut_after_s" in timings else pick)
    text = judged.text
    if judged.status == "fallback" and settings.render_quotes:
        t5 = time.perf_counter()
        text = rendered(asked, judged.text, judged.citations, generator, prompts)
        timings["rendering_s"] = time.perf_counter() - t5
    timings["total_s"] = time.perf_counter() - t0
    return Answer(question, asked, text, judged.status, judged.citations,
                  tuple(evidence), judged.verdicts, draft, generator.name, timings, filters,
                  found, judged.signals, second_q, second, scores, judged.confidence)


def rendered(asked: str, text: str, cites: Sequence[Citation], generator: Generator,
             prompts: Prompts) -> str:
    """A quote in another language than the question, followed by the model's rendering of it
    into the question's language, marked as a rendering (the original stays what is cited)."""
    language = lexical.language(asked)
    out = text
    for c in cites:
        if lexical.family(lexical.language(c.quote)) == lexical.family(language):
            continue
        into = crosslingual.translate(c.quote, language, generator, prompts)
        if into:
            out += (f" ([{c.n}] as the model renders it in {lexical.language_name(language)}: "
                    f"“{lexical.quoted(into)}”)")
    return out


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


