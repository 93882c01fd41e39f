"""Telegram HTML for answers, evidence and sources: everything escaped, split at 4096 chars."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from bot.pipeline.answer import Answer
from bot.pipeline.evidence import Evidence
from index.records import Hit

LIMIT = 4096


def esc(text: str) -> str:
    """Escape text for Telegram's HTML parse mode."""
    return html.escape(text, quote=True)


def _link(title: str, url: str | None) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{esc(url)}">{esc(title)}</a>'
    return esc(title)


def _meta(outlet: str | None, published: str | None) -> str:
    parts = [esc(x) for x in (outlet, published) if x]
    return f" — {', '.join(parts)}" if parts else ""


def evidence_html(evidence: Sequence[Evidence]) -> str:
    """The best quoted sentence and its source, shown while the model works."""
    if not evidence:
        return "🔎 <i>Searching the articles…</i>"
    e = evidence[0]
    source = _link(e.hit.title or e.hit.article_id, e.hit.url)
    meta = _meta(e.hit.outlet, e.hit.published)
    return f"🔎 <i>“{esc(_clip(e.best.text, 600))}”</i>\n— {source}{meta}"


def draft_html(evidence: Sequence[Evidence], draft: str) -> str:
    """Evidence plus the model's draft so far (clearly marked as not yet checked)."""
    head = evidence_html(evidence)
    if not draft.strip():
        return head
    return f"{head}\n\n<i>Draft, checking citations…</i>\n{esc(_clip(draft, 3000))}"


def answer_blocks(answer: Answer) -> list[str]:
    """The answer as its certainty words it, then a compact source list; each block is
    balanced HTML. A `likely` or `unsure` answer's quoted sentence is set apart as a quote."""
    paras = _paragraphs(answer.text)
    blocks = [esc(paras[0])]
    if len(paras) > 1:
        quoted = "<blockquote>{}</blockquote>" if answer.certainty in ("likely", "unsure") \
            else "{}"
        blocks += [quoted.format(esc(p)) for p in paras[1:]]
    if answer.citations:
        lines = ["<b>Sources</b>"]
        for c in answer.citations:
            lines.append(f"[{c.n}] {_link(c.title or c.article_id, c.url)}"
                         f"{_meta(c.outlet, c.published)}")
            lines += [f"    also {_link(h.title or h.article_id, h.url)}"
                      f"{_meta(h.outlet, h.published)}" for h in c.also]
        blocks.append("\n".join(lines))
    if answer.filters:
        blocks.append(f"<i>Searched the articles {esc(answer.filters.describe())}.</i>")
    return blocks


def sources_blocks(answer: Answer) -> list[str]:
    """Every cited passage, quoted in full, for the Sources button."""
    if not answer.evidence:
        return ["No passages were used for this answer."]
    cited = {c.n: c for c in answer.citations}
    blocks = []
    for e in answer.evidence:
        mark = " (cited)" if e.n in cited else ""
        quote = cited[e.n].quote if e.n in cited else e.best.text
        blocks.append(f"<b>[{e.n}] {_link(e.hit.title or e.hit.article_id, e.hit.url)}</b>"
                      f"{_meta(e.hit.outlet, e.hit.published)}{mark}\n"
                      f"<blockquote expandable>{esc(_clip(e.text, 3000))}</blockquote>\n"
                      f"<i>Quoted: “{esc(_clip(quote, 500))}”</i>")
    return blocks


def hits_blocks(hits: Sequence[Hit]) -> list[str]:
    """Further search hits, for the More button."""
    if not hits:
        return ["No further passages."]
    return [f"<b>{_link(h.title or h.article_id, h.url)}</b>{_meta(h.outlet, h.published)}\n"
            f"<blockquote expandable>{esc(_clip(h.text, 1500))}</blockquote>" for h in hits]


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def pack(blocks: Iterable[str], limit: int = LIMIT) -> list[str]:
    """Join blocks into messages of at most `limit` units without cutting a block.

    Raw HTML is never shorter than the text Telegram shows, so measuring it is safe. A block
    that is itself too long is cut into plain-text pieces (its tags dropped), so every message
    stays valid HTML.
    """
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in ([block] if units(block) <= limit else _cut(block, limit)):
            joined = f"{current}\n\n{piece}" if current else piece
            if units(joined) <= limit:
                current = joined
            else:
                if current:
                    messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages or [""]


def _cut(block: str, limit: int) -> list[str]:
    text = html.unescape(_strip_tags(block))
    pieces: list[str] = []
    while text:
        n = min(len(text), limit)
        while units(esc(text[:n])) > limit:
            n = max(1, n * 3 // 4)
        if n < len(text):
            space = text.rfind(" ", 0, n)
            n = space if space > n // 2 else n
        pieces.append(esc(text[:n]))
        text = text[n:].lstrip()
    return pieces


def _strip_tags(markup: str) -> str:
    return re.sub(r"<[^>]*>", "", markup)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()] or [text]


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"
