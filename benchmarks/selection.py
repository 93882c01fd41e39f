"""The model as a sentence picker: shown the evidence's sentences with letters, which one
answers the question, and does its probability tell a right pick from a wrong one?

A lever for #22's quote: the quote tanya shows is the sentence nearest the draft, and the
fitted quote model separates right quotes from wrong and unanswerable ones weakly (AUC
0.51-0.55). Here the model reads the question and the lettered sentences of the same
evidence (one more option: none of them) and the probability of each letter as its one
reply token is read from the logits. With `--orders forward reverse` each question is
asked twice, the sentences in the opposite order the second time, and the two
probabilities of each sentence are averaged (small models prefer the first letters).

    .venv/bin/python -m benchmarks.selection --groups en --limit 40 --keep /tmp/idx \
        [--orders forward reverse] [--records FILE.pkl]

Prints, over the questions that found evidence: how often the pick holds a gold answer (and
the evidence's own best sentence, for comparison), the AUC of the pick's probability for
"the pick holds a gold answer" (unanswerable questions count as wrong), and, at each wanted
precision, the share of answerable questions that would get a right quote, a wrong one, and
the share of unanswerable ones shown anything. Median seconds per question, too.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from benchmarks.answer import GROUPS, _index, question_sets
from benchmarks.calibrate import auc, threshold
from benchmarks.datasets import DATASETS, NAMES
from bot.config import Settings
from bot.evaluation.runner import contains_answer
from bot.evaluation.sets import load
from bot.pipeline import lexical, models, prompts
from bot.pipeline.answer import retrieve
from bot.pipeline.decision import REFUSAL
from index.embedding import Embedder
from index.embedding.bundled import BundledE5Embedder
from index.store import IndexStore

LETTERS = "ABCDEFGHIJKLMNOP"
LEVELS = (0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Picked:
    """One question: its candidate sentences, which hold a gold answer, and the model's
    probability for each (the last entry: none of them)."""

    group: str
    answerable: bool
    sentences: tuple[str, ...]
    right: tuple[bool, ...]
    best: int  # which sentence is the first passage's best (the evidence's own choice)
    p: tuple[float, ...]  # the mean over the orders asked
    each: tuple[tuple[float, ...], ...]  # per order asked, in the sentences' own order
    seconds: float

    @property
    def best_right(self) -> bool:
        """The first passage's best sentence holds a gold answer."""
        return self.right[self.best]

    @property
    def pick(self) -> int:
        """The index of the most probable option (len(sentences): none)."""
        return int(np.argmax(self.p))

    @property
    def pick_right(self) -> bool:
        """The picked sentence holds a gold answer."""
        return self.pick < len(self.sentences) and self.right[self.pick]

    @property
    def confidence(self) -> float:
        """The pick's probability; 0 when the pick is "none"."""
        return 0.0 if self.pick == len(self.sentences) else self.p[self.pick]


def lettered(question: str, sentences: Sequence[tuple[int, str]]) -> str:
    """The picking question: each sentence with a letter and its passage number, then none."""
    lines = [f"{LETTERS[i]}. [{n}] {lexical.quoted(t)}" for i, (n, t) in enumerate(sentences)]
    none = LETTERS[len(sentences)]
    return ("Sentences from the passages:\n" + "\n".join(lines)
            + f"\n{none}. None of these sentences answers it.\n\n"
            f"Question: {lexical.quoted(question)}\n"
            "Which sentence answers the question? Reply with its letter only.")


class Picker:
    """The model in process, read at its first reply token."""

    def __init__(self, preset: str) -> None:
        from llama_cpp import Llama

        self._llm = Llama(model_path=str(models.resolve(preset, Settings().models_dir)),
                          n_ctx=4096, n_threads=None, verbose=False)
        self._ids = [self._llm.tokenize(c.encode(), add_bos=False)[0] for c in LETTERS]
        self._system = prompts.load().answer_system.substitute(refusal=REFUSAL)

    def probabilities(self, question: str, sentences: Sequence[tuple[int, str]]) -> np.ndarray:
        """P(letter) of each option (the sentences, then none) as the first reply token."""
        seen: list[np.ndarray] = []

        def first(_ids: Any, logits: Any) -> Any:
            if not seen:
                v = np.asarray(logits, dtype=np.float64)
                seen.append(v - (v.max() + np.log(np.exp(v - v.max()).sum())))
            return logits

        self._llm.create_chat_completion(
            messages=[{"role": "system", "content": self._system},
                      {"role": "user", "content": lettered(question, sentences)}],
            max_tokens=1, temperature=0.0, logits_processor=cast(Any, [first]))
        return cast(np.ndarray, np.exp(seen[0][self._ids[: len(sentences) + 1]]))


def in_order(reversed_p: np.ndarray) -> np.ndarray:
    """The probabilities of a reversed ask, put back in the sentences' order (none last)."""
    return np.concatenate([reversed_p[:-1][::-1], reversed_p[-1:]])


def ask(picker: Picker, group: str, limit: int | None, stores: dict[str, IndexStore],
        emb: Embedder, orders: Sequence[str]) -> list[Picked]:
    """Every question of a group with evidence, asked in each order."""
    settings = Settings().answering()
    out = []
    for name, qa in question_sets(group, DATASETS, limit).items():
        for item in qa.items:
            _, evidence = retrieve(stores[name], emb, item.question, settings)
            if not evidence:
                continue
            cands = [(e.n, s.text) for e in evidence for s in e.sentences][: len(LETTERS) - 1]
            started = time.perf_counter()
            each = []
            for order in orders:
                if order == "forward":
                    each.append(picker.probabilities(item.question, cands))
                else:
                    each.append(in_order(picker.probabilities(item.question, cands[::-1])))
            out.append(Picked(group, item.answerable, tuple(t for _, t in cands),
                              tuple(item.answerable and contains_answer(t, item.answers)
                                    for _, t in cands),
                              cands.index((evidence[0].n, evidence[0].best.text)),
                              tuple(np.mean(each, axis=0)), tuple(tuple(e) for e in each),
                              time.perf_counter() - started))
    return out


def report(picked: Sequence[Picked]) -> dict[str, float]:
    """The numbers the module docstring names."""
    ans = np.array([p.answerable for p in picked])
    y = np.array([p.pick_right for p in picked], dtype=int)
    conf = np.array([p.confidence for p in picked])
    n_ans = max(1, int(ans.sum()))
    out = {"n": float(len(picked)), "answerable": float(ans.sum()),
           "pick right": float(y[ans].mean()),
           "best sentence right": float(np.mean([p.best_right for p in picked if p.answerable])),
           "some sentence right": float(np.mean([any(p.right) for p in picked if p.answerable])),
           "AUC": auc(conf, y),
           "median s": statistics.median(p.seconds for p in picked)}
    for level in LEVELS:
        shown = conf >= threshold(conf, y, level)
        out[f"{level} right quote"] = float((shown & (y == 1) & ans).sum() / n_ans)
        out[f"{level} wrong quote"] = float((shown & (y == 0) & ans).sum() / n_ans)
        out[f"{level} unanswerable shown"] = (float(shown[~ans].mean()) if (~ans).any()
                                              else float("nan"))
    return out


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=Settings.model_fields["model"].default)
    ap.add_argument("--groups", nargs="+", choices=GROUPS, default=["en"])
    ap.add_argument("--limit", type=int, default=None, help="questions per set and group")
    ap.add_argument("--keep", type=Path, help="keep the indexes here and reuse them next time")
    ap.add_argument("--orders", nargs="+", choices=("forward", "reverse"), default=["forward"])
    ap.add_argument("--records", type=Path, help="pickle every question's picks here")
    args = ap.parse_args()
    picker = Picker(args.preset)
    emb = BundledE5Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.keep or Path(tmp)
        stores = {n: _index(load(DATASETS / n), keep / n / "index", emb) for n in NAMES}
        picked = [p for g in args.groups
                  for p in ask(picker, g, args.limit, stores, emb, args.orders)]
        for store in stores.values():
            store.close()
    if args.records:
        args.records.write_bytes(pickle.dumps(picked))
    for group in args.groups:
        mine = [p for p in picked if p.group == group]
        rows = {"+".join(args.orders): mine}
        if len(args.orders) > 1:  # each order alone, from the same run
            rows |= {o: [replace(p, p=p.each[i]) for p in mine] for i, o in enumerate(args.orders)}
        for label, these in rows.items():
            print(group, label, " ".join(f"{k}={v:.2f}" for k, v in report(these).items()))


if __name__ == "__main__":
    main()
