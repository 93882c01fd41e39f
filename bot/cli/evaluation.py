"""The body of `tanya eval`: load the set, index it, run it, print one screen."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import typer

from bot import runtime
from bot.cli import render
from bot.cli.common import note, progress_bar
from bot.config import Settings
from bot.evaluation import sets
from bot.evaluation.runner import EvalReport, build_index, evaluate
from bot.pipeline import prompts as prompt_files


def run_eval(settings: Settings, dataset: Path, preset: str | None, limit: int | None,
             retrieval_only: bool, home: Path | None, as_json: bool) -> None:
    """Index the dataset's passages, ask its questions, print the summary."""
    qa = sets.load(dataset).sample(limit)
    embedder = runtime.embedder(settings)
    notice = None if retrieval_only else runtime.first_use_notice(settings, preset)
    if notice:
        note(notice)
    generator = None if retrieval_only else runtime.generator(settings, preset)
    prompts = None if retrieval_only else prompt_files.load(settings.prompts_dir)
    with tempfile.TemporaryDirectory(prefix="tanya-eval-") as tmp:
        index_dir = (home or Path(tmp)) / "index"
        with progress_bar(not as_json) as progress:
            store = build_index(qa, index_dir, embedder, progress)
            try:
                report = evaluate(qa, store, embedder, generator, prompts,
                                  settings.answering(), progress)
            finally:
                store.close()
    typer.echo(render.to_json(asdict(report)) if as_json else summary(report))


def summary(r: EvalReport) -> str:
    """A one-screen table."""
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.1%}"

    lines = [f"tanya eval: {r.dataset} ({r.answerable} answerable, {r.unanswerable} "
             f"unanswerable questions)" + (f", model {r.model}" if r.model else ""), ""]
    ret = r.retrieval
    lines.append(f"retrieval   recall@1 {pct(ret.get('recall@1'))}  recall@5 "
                 f"{pct(ret.get('recall@5'))}  recall@10 {pct(ret.get('recall@10'))}  "
                 f"MRR {ret.get('mrr', 0):.3f}")
    if r.model:
        lines.append(f"answers     accuracy {pct(r.accuracy)}  citation precision "
                     f"{pct(r.citation_precision)} ({r.citations} citations)")
        lines.append(f"refusals    on unanswerable {pct(r.refusal_rate)}  on answerable "
                     f"{pct(r.false_refusal_rate)}")
        lat = "  ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.2f} s"
                        for k, v in r.latency_s.items())
        lines.append(f"latency     (median) {lat}")
    return "\n".join(lines)
