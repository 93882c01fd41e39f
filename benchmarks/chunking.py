"""Chunk-size benchmark: does the default ChunkSettings(120, 160) fit the model and retrieve well?

Two measurements per dataset:

1. Token budget: wordpiece tokens per whitespace word of the default embedding model
   (all-MiniLM-L6-v2, 256-token window) over the dataset's passages, and from that the
   number of words that fit in the window next to [CLS]/[SEP] and a title line of
   `--title-words` words, i.e. the largest chunk whose embedding is not truncated.
2. Retrieval by chunk size: consecutive groups of 6 passages are joined ("\\n\\n") into
   pseudo-articles `art-N` (no title), indexed with `index.sync.sync` once per chunk setting,
   and every k-th answerable question is searched with `index.search.search(k=5)`. A hit
   counts when it comes from the pseudo-article that holds the gold passage and its text
   contains a gold answer (case-insensitive). "top-3 words" is the mean total words of the
   three best chunks, a proxy for the size of the later LLM prompt; "trunc %" is the share
   of chunks longer than the window (title allowance included).

Run from the repository root:

    .venv/bin/python -m benchmarks.chunking
    .venv/bin/python -m benchmarks.chunking --limit 100 --datasets facqa --json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from index.chunking import ChunkSettings, chunk_article, embedding_text
from index.embedding.sbert import SentenceTransformerEmbedder
from index.records import Article, Hit
from index.search import search
from index.sources import SourceLimits
from index.store import IndexStore
from index.sync import sync

SETTINGS: tuple[tuple[int, int], ...] = ((40, 60), (80, 110), (120, 160), (200, 260), (300, 400))
DEFAULT_SETTING = (120, 160)
GROUP = 6
TOP_K = 5
PROMPT_CHUNKS = 3
SPECIAL_TOKENS = 2  # [CLS] and [SEP]
CLEAR_GAIN_POINTS = 2.0  # recall@5 gain that would justify changing the default
MUCH_LONGER = 1.25  # "much longer chunks": mean chunk words above this multiple of the default


@dataclass(frozen=True)
class Passage:
    """One dataset passage."""

    id: str
    text: str


@dataclass(frozen=True)
class Question:
    """One answerable question with its gold answers and passage."""

    id: str
    question: str
    answers: tuple[str, ...]
    passage_id: str


@dataclass(frozen=True)
class TokenBudget:
    """Wordpiece tokens per word and the words that fit in the model window."""

    passages: int
    median_tokens_per_word: float
    p90_tokens_per_word: float
    max_seq_length: int
    title_words: int
    fit_words_median: int
    fit_words_p90: int


@dataclass(frozen=True)
class SettingResult:
    """Retrieval quality and size of one chunk setting on one dataset."""

    words: int
    max_words: int
    chunks: int
    mean_chunk_words: float
    truncated_pct: float
    recall_at_1: float
    recall_at_5: float
    top3_words: float
    index_seconds: float


@dataclass(frozen=True)
class DatasetResult:
    """Everything measured on one dataset."""

    name: str
    articles: int
    questions: int
    budget: TokenBudget
    settings: list[SettingResult]


def default_datasets_dir() -> Path:
    """../shared/datasets relative to the repository root (found from this file)."""
    return Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--datasets", nargs="+", default=["facqa", "tydiqa-id"],
                   help="dataset folder names (default: facqa tydiqa-id)")
    p.add_argument("--datasets-dir", type=Path, default=default_datasets_dir(),
                   help="folder holding the datasets (default: ../shared/datasets)")
    p.add_argument("--limit", type=int, default=200,
                   help="answerable questions per dataset, every k-th (default: 200)")
    p.add_argument("--title-words", type=int, default=12,
                   help="words of title line to leave room for in the token budget (default: 12)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return p.parse_args(argv)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_passages(folder: Path) -> list[Passage]:
    """The dataset's passages in file order."""
    return [Passage(str(r["id"]), str(r["text"])) for r in read_jsonl(folder / "passages.jsonl")]


def load_questions(folder: Path) -> list[Question]:
    """The dataset's answerable questions (with at least one gold answer) in file order."""
    out: list[Question] = []
    for r in read_jsonl(folder / "questions.jsonl"):
        answers = tuple(a for a in r.get("answers") or [r.get("answer", "")] if a)
        if r.get("answerable", True) and answers:
            out.append(Question(str(r["id"]), str(r["question"]), answers, str(r["passage_id"])))
    return out


def every_kth(questions: Sequence[Question], limit: int) -> list[Question]:
    """At most `limit` questions spread evenly over the list (every k-th, deterministic)."""
    step = max(1, len(questions) // max(1, limit))
    return list(questions[::step][:limit])


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def token_counts(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    """Wordpiece tokens of each text, without special tokens and without truncation."""
    ids = tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
    return [len(x) for x in ids]


def fit_words(tokens_per_word: float, max_seq: int, title_words: int) -> int:
    """Words of chunk text that fit in the window after special tokens and the title line."""
    return max(0, math.floor((max_seq - SPECIAL_TOKENS) / tokens_per_word) - title_words)


def token_budget(tokenizer: Any, max_seq: int, passages: Sequence[Passage],
                 title_words: int) -> TokenBudget:
    """Median and p90 tokens per word over the passages, and the words that fit."""
    texts = [p.text for p in passages if p.text.split()]
    counts = token_counts(tokenizer, texts)
    ratios = [t / len(x.split()) for t, x in zip(counts, texts, strict=True)]
    med, p90 = statistics.median(ratios), percentile(ratios, 90)
    return TokenBudget(len(texts), round(med, 3), round(p90, 3), max_seq, title_words,
                       fit_words(med, max_seq, title_words), fit_words(p90, max_seq, title_words))


def build_articles(passages: Sequence[Passage]) -> tuple[list[Article], dict[str, str]]:
    """Pseudo-articles of GROUP consecutive passages, and passage id -> article id."""
    articles: list[Article] = []
    owner: dict[str, str] = {}
    for n, start in enumerate(range(0, len(passages), GROUP), start=1):
        group = passages[start : start + GROUP]
        article_id = f"art-{n}"
        articles.append(Article(article_id, "", "\n\n".join(p.text for p in group), article_id))
        owner.update((p.id, article_id) for p in group)
    return articles, owner


def write_articles(path: Path, articles: Sequence[Article]) -> None:
    """Write pseudo-articles as JSONL ({"id", "text"}) for index.sync."""
    with path.open("w", encoding="utf-8") as f:
        for a in articles:
            f.write(json.dumps({"id": a.id, "text": a.text}, ensure_ascii=False) + "\n")


def chunk_stats(articles: Sequence[Article], settings: ChunkSettings, tokenizer: Any,
                max_tokens: int) -> tuple[int, float, float]:
    """(chunks, mean words per chunk, % of chunks over max_tokens) as sync will cut them."""
    texts = [embedding_text(a.title, c.text) for a in articles for c in chunk_article(a, settings)]
    words = [len(t.split()) for t in texts]
    over = sum(n > max_tokens for n in token_counts(tokenizer, texts))
    return len(texts), statistics.fmean(words), 100.0 * over / len(texts)


def is_gold(hit: Hit, article_id: str, answers: Sequence[str]) -> bool:
    """The hit is from the gold pseudo-article and contains a gold answer."""
    text = hit.text.casefold()
    return hit.article_id == article_id and any(a.casefold() in text for a in answers)


def evaluate(store: IndexStore, emb: SentenceTransformerEmbedder, questions: Sequence[Question],
             owner: dict[str, str]) -> tuple[float, float, float]:
    """(recall@1 %, recall@5 %, mean words of the top-3 chunks) over the questions."""
    at1 = at5 = 0
    top3: list[int] = []
    for q in questions:
        hits = search(store, emb, q.question, k=TOP_K)
        gold = [is_gold(h, owner[q.passage_id], q.answers) for h in hits]
        at1 += bool(gold[:1] and gold[0])
        at5 += any(gold)
        top3.append(sum(len(h.text.split()) for h in hits[:PROMPT_CHUNKS]))
    n = len(questions)
    return 100.0 * at1 / n, 100.0 * at5 / n, statistics.fmean(top3)


def window(emb: SentenceTransformerEmbedder) -> tuple[Any, int]:
    """The model's tokenizer and its max_seq_length (the embedding window)."""
    max_seq = emb.model.max_seq_length
    if max_seq is None:
        raise RuntimeError(f"{emb.name} reports no max_seq_length")
    return emb.model.tokenizer, int(max_seq)


def run_setting(workdir: Path, jsonl: Path, articles: Sequence[Article],
                emb: SentenceTransformerEmbedder, words: int, max_words: int,
                questions: Sequence[Question], owner: dict[str, str],
                title_tokens: int) -> SettingResult:
    """Index the pseudo-articles with one chunk setting and measure retrieval."""
    settings = ChunkSettings(words=words, max_words=max_words, overlap_sentences=1)
    index_dir = workdir / f"index-{words}-{max_words}"
    report = sync(index_dir, [str(jsonl)], emb, settings, SourceLimits())
    if report.failures or len(report.added) != len(articles):
        raise RuntimeError(f"sync did not add every pseudo-article: {report.failures}")
    tokenizer, max_seq = window(emb)
    chunks, mean_words, truncated = chunk_stats(
        articles, settings, tokenizer, max_seq - SPECIAL_TOKENS - title_tokens)
    if chunks != report.chunks_embedded:
        raise RuntimeError(f"chunk count mismatch: {chunks} vs {report.chunks_embedded}")
    store = IndexStore(index_dir)
    try:
        r1, r5, top3 = evaluate(store, emb, questions, owner)
    finally:
        store.close()
    return SettingResult(words, max_words, chunks, round(mean_words, 1), round(truncated, 1),
                         round(r1, 1), round(r5, 1), round(top3, 1), round(report.seconds, 1))


def run_dataset(folder: Path, emb: SentenceTransformerEmbedder, limit: int,
                title_words: int) -> DatasetResult:
    """Token budget and retrieval-by-chunk-size for one dataset."""
    passages = load_passages(folder)
    tokenizer, max_seq = window(emb)
    budget = token_budget(tokenizer, max_seq, passages, title_words)
    title_tokens = math.ceil(title_words * budget.median_tokens_per_word)
    articles, owner = build_articles(passages)
    questions = every_kth([q for q in load_questions(folder) if q.passage_id in owner], limit)
    results: list[SettingResult] = []
    with tempfile.TemporaryDirectory(prefix="tanya-chunking-") as tmp:
        jsonl = Path(tmp) / "articles.jsonl"
        write_articles(jsonl, articles)
        for words, max_words in SETTINGS:
            log(f"{folder.name}: indexing ({words},{max_words}) ...")
            results.append(run_setting(Path(tmp), jsonl, articles, emb, words, max_words,
                                       questions, owner, title_tokens))
            log(f"{folder.name}: ({words},{max_words}) recall@5 {results[-1].recall_at_5}% "
                f"in {results[-1].index_seconds}s")
    return DatasetResult(folder.name, len(articles), len(questions), budget, results)


def log(message: str) -> None:
    """Progress on stderr so stdout stays a clean table or JSON object."""
    print(message, file=sys.stderr, flush=True)


def label(words: int, max_words: int) -> str:
    """A setting as '(words,max_words)'."""
    return f"({words},{max_words})"


def markdown(result: DatasetResult) -> str:
    """The token budget line and the per-setting table of one dataset."""
    b = result.budget
    lines = [
        f"### {result.name} ({result.articles} pseudo-articles of {GROUP} passages, "
        f"{result.questions} questions)",
        "",
        f"Tokens per word over {b.passages} passages: median {b.median_tokens_per_word}, "
        f"p90 {b.p90_tokens_per_word}. Words that fit in {b.max_seq_length} tokens with a "
        f"{b.title_words}-word title: {b.fit_words_median} (median), {b.fit_words_p90} (p90).",
        "",
        "| setting | chunks | mean words | trunc % | recall@1 | recall@5 | top-3 words |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result.settings:
        mark = " (default)" if (s.words, s.max_words) == DEFAULT_SETTING else ""
        lines.append(f"| {label(s.words, s.max_words)}{mark} | {s.chunks} | {s.mean_chunk_words} "
                     f"| {s.truncated_pct} | {s.recall_at_1} | {s.recall_at_5} | {s.top3_words} |")
    return "\n".join(lines)


def mean_over(results: Sequence[DatasetResult], key: tuple[int, int], field: str) -> float:
    """Mean of one SettingResult field for a setting across datasets."""
    values = [float(getattr(s, field)) for r in results for s in r.settings
              if (s.words, s.max_words) == key]
    return statistics.fmean(values)


def verdict(results: Sequence[DatasetResult]) -> str:
    """One line: the best recall@5 setting (mean over datasets) against the default."""
    r5 = {k: mean_over(results, k, "recall_at_5") for k in SETTINGS}
    size = {k: mean_over(results, k, "mean_chunk_words") for k in SETTINGS}
    best = max(SETTINGS, key=lambda k: (r5[k], -size[k]))
    gap = r5[best] - r5[DEFAULT_SETTING]
    head = (f"Best recall@5: {label(*best)} at {r5[best]:.1f}% (mean over "
            f"{', '.join(r.name for r in results)}); default {label(*DEFAULT_SETTING)} "
            f"{r5[DEFAULT_SETTING]:.1f}%")
    if best == DEFAULT_SETTING:
        return head + " — the default is the best setting."
    if gap <= 0:
        return head + f" — the default ties {label(*best)} (smaller chunks); keep the default."
    if gap > CLEAR_GAIN_POINTS and size[best] <= MUCH_LONGER * size[DEFAULT_SETTING]:
        return (head + f" ({gap:.1f} points lower) — {label(*best)} would be clearly better "
                f"(mean chunk {size[best]:.0f} vs {size[DEFAULT_SETTING]:.0f} words).")
    why = ("within noise" if gap <= CLEAR_GAIN_POINTS
           else f"but needs much longer chunks ({size[best]:.0f} vs "
                f"{size[DEFAULT_SETTING]:.0f} words)")
    return head + f" ({gap:.1f} points lower, {why}) — keep the default."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print tables (or JSON)."""
    args = parse_args(argv)
    started = time.perf_counter()
    emb = SentenceTransformerEmbedder()
    results = [run_dataset(args.datasets_dir / name, emb, args.limit, args.title_words)
               for name in args.datasets]
    line = verdict(results)
    seconds = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps({"datasets": [asdict(r) for r in results], "verdict": line,
                          "seconds": seconds}, ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(markdown(r) for r in results))
        print(f"\n{line}\nTotal runtime: {seconds}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
