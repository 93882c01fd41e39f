"""RSS/Atom feeds: each entry becomes an article, from its content or its linked page."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

from index.netguard import FetchRefused
from index.readers import SourceReadError, iso_date, read_html, slug
from index.records import Article

# An entry shorter than this is a teaser; the linked page holds the article.
_TEASER_CHARS = 400

Fetch = Callable[[str], tuple[bytes, str]]


def looks_like_feed(data: bytes) -> bool:
    """True when the bytes start like an RSS, RDF or Atom document."""
    head = data[:2048].lstrip().lower()
    roots = (b"<rss", b"<feed", b"<rdf")
    return head.startswith(roots) or (head.startswith(b"<?xml") and any(r in head for r in roots))


def read_feed(data: bytes, feed_key: str,
              fetch: Fetch | None) -> Iterator[Article | SourceReadError]:
    """Articles of a feed; an entry whose page fails falls back to its summary (not if refused)."""
    import feedparser

    # A stream, never bare bytes: feedparser would open bytes that name a path as a file.
    parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.entries:
        reason = getattr(parsed, "bozo_exception", None)
        raise SourceReadError(f"not an RSS/Atom feed{f' ({reason})' if reason else ''}")
    outlet = str(parsed.feed.get("title") or "") or None
    for n, entry in enumerate(parsed.entries, start=1):
        try:
            yield _entry(entry, feed_key, n, outlet, fetch)
        except SourceReadError as exc:
            yield SourceReadError(f"entry {n}: {exc}")


def _entry(entry: Any, feed_key: str, n: int, outlet: str | None, fetch: Fetch | None) -> Article:
    link = str(entry.get("link") or "") or None
    title = str(entry.get("title") or "").strip()
    body = _entry_text(entry)
    key = f"{feed_key}#{entry.get('id') or link or n}"
    published = iso_date(entry.get("published") or entry.get("updated"))
    if len(body) < _TEASER_CHARS and link and fetch is not None:
        try:
            data, _ = fetch(link)
            page = read_html(data, key, slug(title or link), url=link)
            return Article(slug(title or page.title), title or page.title, page.text, key, link,
                         published or page.published, page.outlet or outlet, page.language)
        except FetchRefused:
            raise  # reported, not papered over with the teaser: the operator decides
        except SourceReadError:
            if not body:
                raise
    if not body:
        raise SourceReadError("entry has no text and no readable link")
    return Article(slug(title or link or str(n)), title, body, key, link, published, outlet,
                 entry.get("language"))


def _entry_text(entry: Any) -> str:
    """Plain text of an entry's content or summary (feeds carry HTML fragments)."""
    contents = entry.get("content") or []
    raw = contents[0].get("value", "") if contents else entry.get("summary", "")
    text = re.sub(r"<[^>]+>", " ", str(raw or ""))
    import html

    return re.sub(r"[ \t]+", " ", html.unescape(text)).strip()
