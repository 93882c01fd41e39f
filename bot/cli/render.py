"""Terminal output for search hits, sync reports and index status (plain text and JSON)."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TextIO

from bot.pipeline.answer import Answer, Events
from bot.pipeline.citations import Citation
from bot.pipeline.evidence import Evidence
from index.filters import Filters
from index.records import Hit
from index.sync import SyncReport


def to_json(obj: Any) -> str:
    """One JSON object on one line, UTF-8 kept readable."""
    return json.dumps(obj, ensure_ascii=False, default=str)


def filters_dict(f: Filters) -> dict[str, Any]:
    """Filters as JSON: ISO dates or null, the outlet names."""
    return {"since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None, "outlets": list(f.outlets),
            "from_question": f.soft}


def hit_dict(hit: Hit) -> dict[str, Any]:
    """A hit as a JSON-ready dict."""
    return asdict(hit)


def hits_text(query: str, hits: Sequence[Hit], width: int = 100,
              filters: Filters | None = None) -> str:
    """Numbered hits: title, outlet and date, link, then the passage."""
    if not hits:
        among = f" among the articles {filters.describe()}" if filters else ""
        return f"No passages match {query!r}{among}."
    lines: list[str] = []
    for n, h in enumerate(hits, start=1):
        where = ", ".join(x for x in (h.outlet, h.published) if x)
        lines.append(f"[{n}] {h.title or h.article_id}" + (f" ({where})" if where else "")
                     + f"  id={h.article_id} score={h.score:.3f}")
        if h.url:
            lines.append(f"    {h.url}")
        body = " ".join(h.text.split())
        if len(body) > 600:
            body = body[:600].rsplit(" ", 1)[0] + " …"
        lines.extend(textwrap.wrap(body, width, initial_indent="    ", subsequent_indent="    "))
        lines.append("")
    return "\n".join(lines).rstrip()


def report_dict(report: SyncReport) -> dict[str, Any]:
    """A sync report as a JSON-ready dict."""
    data = asdict(report)
    data["failures"] = [{"source": f.source, "reason": f.reason} for f in report.failures]
    data["duplicates"] = [{"source": s, "of": of} for s, of in report.duplicates]
    data["renamed"] = [{"wanted": a, "given": b} for a, b in report.renamed]
    data["seconds"] = round(report.seconds, 3)
    return data


def report_text(report: SyncReport) -> str:
    """A one-line summary of a sync, plus a line per duplicate or renamed id."""
    parts = [f"{len(report.added)} added", f"{len(report.updated)} updated",
             f"{len(report.removed)} removed", f"{report.unchanged} unchanged"]
    if report.metadata_updated:
        parts.append(f"{len(report.metadata_updated)} metadata updated")
    if report.moved:
        parts.append(f"{len(report.moved)} moved")
    if report.duplicates:
        parts.append(f"{len(report.duplicates)} duplicates skipped")
    total = report.meta.articles if report.meta else 0
    chunks = report.meta.chunks if report.meta else 0
    lines = [f"Index: {', '.join(parts)}; {report.chunks_embedded} chunks embedded in "
             f"{report.seconds:.1f} s. Now {total} articles, {chunks} chunks."]
    lines += [f"duplicate: {s} has the same text as {of}" for s, of in report.duplicates[:3]]
    if len(report.duplicates) > 3:
        lines.append(f"... and {len(report.duplicates) - 3} more duplicates (--json lists all)")
    lines += [f"id {a!r} was taken; stored as {b!r}" for a, b in report.renamed]
    return "\n".join(lines)


def status_text(status: dict[str, Any]) -> str:
    """Index status as aligned 'key: value' lines."""
    width = max(len(k) for k in status)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {v}" for k, v in status.items())


def citation_line(c: Citation) -> str:
    """'[1] Title — outlet, date, url', then one 'also:' line per republished copy."""
    meta = ", ".join(x for x in (c.outlet, c.published, c.url) if x)
    line = f"[{c.n}] {c.title or c.article_id}" + (f" — {meta}" if meta else "")
    for h in c.also:  # the same passage republished elsewhere
        where = ", ".join(x for x in (h.outlet, h.published, h.url) if x)
        line += f"\n    also: {h.title or h.article_id}" + (f" — {where}" if where else "")
    return line


def evidence_dict(e: Evidence) -> dict[str, Any]:
    """A prompt passage as a JSON-ready dict."""
    h = e.hit
    return {"n": e.n, "article_id": h.article_id, "title": h.title, "url": h.url,
            "published": h.published, "outlet": h.outlet, "chunk_id": h.chunk_id,
            "text": e.text, "best_sentence": e.best.text,
            "similarity": round(e.similarity, 3), "coverage": round(e.coverage, 3)}


def answer_dict(a: Answer) -> dict[str, Any]:
    """The whole answer for --json."""
    return {"question": a.question, "standalone_question": a.standalone_question,
            "answer": a.text, "certainty": a.certainty, "stated": a.stated,
            "citations": [asdict(c) for c in a.citations],
            "renderings": [asdict(r) for r in a.renderings],
            "passages": [evidence_dict(e) for e in a.evidence],
            "checks": [asdict(v) for v in a.verdicts], "draft": a.draft, "model": a.model,
            "confidence": a.confidence,
            "signals": {k: round(v, 4) if math.isfinite(v) else None
                        for k, v in a.signals.items()},
            "timings": {k: round(v, 3) for k, v in a.timings.items()},
            "filters": filters_dict(a.filters)}


def answer_text(a: Answer, width: int = 100) -> str:
    """The answer as its certainty words it, then its sources with the quoted sentence."""
    lines: list[str] = []
    for n, para in enumerate(p for p in a.text.split("\n\n") if p.strip()):
        lines += ([""] if n else []) + (textwrap.wrap(para, width) or [para])
    if a.citations:
        lines += ["", "Sources:"]
        for c in a.citations:
            lines.append(citation_line(c))
            lines += textwrap.wrap(f"“{c.quote}”", width, initial_indent="    ",
                                   subsequent_indent="    ")
    if a.filters:
        lines += ["", f"(searched the articles {a.filters.describe()})"]
    return "\n".join(lines)


class AskView:
    """Shows one answer as it happens: evidence first, the streamed draft, then the result."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool) -> None:
        self._out, self._err, self._json = out, err, as_json
        self._live: Any = None
        self._draft = ""

    def events(self) -> Events:
        """Callbacks for the pipeline."""
        return Events(on_evidence=self._evidence, on_token=self._token)

    def _emit(self, obj: dict[str, Any]) -> None:
        self._out.write(to_json(obj) + "\n")
        self._out.flush()

    def _evidence(self, evidence: Sequence[Evidence]) -> None:
        if self._json:
            self._emit({"event": "evidence", "passages": [evidence_dict(e) for e in evidence]})
            return
        if evidence:
            e = evidence[0]
            self._out.write(f"Evidence: “{e.best.text}” ({e.hit.title or e.hit.article_id})\n\n")
            self._out.flush()

    def _token(self, piece: str) -> None:
        if self._json:
            self._emit({"event": "token", "text": piece})
            return
        if not self._err.isatty():
            return
        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=self._err), transient=True,
                              refresh_per_second=8)
            self._live.start()
        self._draft += piece
        from rich.text import Text

        self._live.update(Text(f"(draft, checking citations…)\n{self._draft}", style="dim"))

    def finish(self, answer: Answer) -> None:
        """Replace the draft by the checked answer and its sources."""
        if self._live is not None:
            self._live.stop()
        if self._json:
            self._emit({"event": "answer", **answer_dict(answer)})
        else:
            self._out.write(answer_text(answer) + "\n")
            self._out.flush()
