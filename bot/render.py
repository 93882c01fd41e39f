"""Terminal output for search hits, sync reports and index status (plain text and JSON)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from index.records import Hit
from index.sync import SyncReport


def to_json(obj: Any) -> str:
    """One JSON object on one line, UTF-8 kept readable."""
    return json.dumps(obj, ensure_ascii=False, default=str)


def hit_dict(hit: Hit) -> dict[str, Any]:
    """A hit as a JSON-ready dict."""
    return asdict(hit)


def hits_text(query: str, hits: Sequence[Hit], width: int = 100) -> str:
    """Numbered hits: title, outlet and date, link, then the passage."""
    if not hits:
        return f"No passages match {query!r}."
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
    lines += [f"duplicate: {s} has the same text as {of}" for s, of in report.duplicates]
    lines += [f"id {a!r} was taken; stored as {b!r}" for a, b in report.renamed]
    return "\n".join(lines)


def status_text(status: dict[str, Any]) -> str:
    """Index status as aligned 'key: value' lines."""
    width = max(len(k) for k in status)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {v}" for k, v in status.items())
