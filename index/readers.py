"""Turn the bytes of one source (text, Markdown, HTML, PDF, JSONL, feed) into articles.

Every reader raises SourceReadError with a one-line reason; callers attach the source name.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from index.records import Article


class SourceReadError(Exception):
    """A source cannot be turned into an article; the message is the reason."""


_SLUG = re.compile(r"[^\w]+", re.UNICODE)
_OUTLET_PREFIX = re.compile(r"^\s*((?:[\w-]+\.)+[a-z]{2,})\s+[–—-]\s+", re.IGNORECASE)


def slug(text: str, fallback: str = "article") -> str:
    """A short, readable id from a name or title."""
    s = _SLUG.sub("-", text.lower()).strip("-_")[:60].strip("-")
    return s or fallback


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding; refuse binary content."""
    if not data.strip():
        raise SourceReadError("empty file")
    from charset_normalizer import from_bytes

    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and (
            b"\x00" in data[:4096] or _control_bytes(data[:10000]) > len(data[:10000]) * 0.01):
        # Checked on the bytes: binary without NULs can pass for BOM-less UTF-16 otherwise.
        raise SourceReadError("binary content, not text")
    damaged = _damaged_utf8(data)
    if damaged is not None:
        return _require_text(damaged.lstrip("\ufeff").replace("\r\n", "\n"))
    matches = from_bytes(data[: 4 * 2**20])
    best = matches.best()
    if best is None:
        raise SourceReadError("binary content or unknown text encoding")
    encoding = best.encoding
    # Short Western text often scores as well in cp1250/cp1257 (è -> č, û -> ű); prefer cp1252.
    western = next((m for m in matches if "cp1252" in m.could_be_from_charset), None)
    if western is not None and not best.encoding.startswith("utf") \
            and western.chaos <= best.chaos + 0.05:
        encoding = "cp1252"
    text = data.decode(encoding, errors="replace").lstrip("\ufeff")
    controls = sum(1 for ch in text[:10000] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text[:10000]) * 0.01:
        raise SourceReadError("binary content, not text")
    return _require_text(text.replace("\r\n", "\n"))


# ESC, SO and SI shift between character sets in ISO-2022 encodings.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f\x1b\x0e\x0f")


def _control_bytes(data: bytes) -> int:
    """How many bytes are C0 controls that text does not use."""
    return len(data) - len(data.translate(None, _CONTROL_BYTES))


def _damaged_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few stray bytes (a cut download, a bad copy), with U+FFFD for them.

    None when the bytes are valid UTF-8 or not mostly UTF-8: charset detection would read
    such a file as a legacy code page and garble every accented letter. Legacy single-byte
    text (cp1252 é is E9) practically never forms valid multi-byte UTF-8 sequences.
    """
    head = data[: 4 * 2**20]
    text = head.decode("utf-8", errors="replace")
    stray = text.count("\ufffd") - head.count("\ufffd".encode())
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if stray <= 0 or non_ascii - stray < 4 * stray:
        return None
    return data.decode("utf-8", errors="replace")


def _require_text(text: str) -> str:
    if not text.strip():
        raise SourceReadError("no text (empty or whitespace only)")
    return text


def iso_date(value: Any) -> str | None:
    """An ISO date string from a date, datetime or date-like string; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    try:  # RSS uses RFC 822 dates: "Tue, 05 Mar 2024 10:00:00 +0700"
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return text[:40] or None


def read_plain(data: bytes, source: str, stem: str) -> Article:
    """A .txt article: first short line is the title; a 'site.com – ' lead names the outlet."""
    text = decode_text(data)
    first = text.strip().split("\n", 1)[0].strip()
    has_more = "\n" in text.strip()
    title = first if has_more and len(first) <= 120 else stem.replace("-", " ").replace("_", " ")
    m = _OUTLET_PREFIX.match(text)
    return Article(slug(stem), title, text, source, outlet=m.group(1).lower() if m else None)


def read_markdown(data: bytes, source: str, stem: str) -> Article:
    """A Markdown article with optional YAML front matter (title, url, published, outlet...)."""
    import frontmatter

    text = decode_text(data)
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # YAML errors come in several types
        raise SourceReadError(f"bad front matter: {str(exc).splitlines()[0]}") from exc
    meta: dict[str, Any] = dict(post.metadata)
    body = _require_text(post.content.strip("\n"))
    title = str(meta.get("title") or "")
    if not title:
        m = re.match(r"\s*#\s+(.+)", body)
        title = m.group(1).strip() if m else stem.replace("-", " ")
    return Article(
        str(meta.get("id") or slug(stem)), title, body, source,
        url=_opt(meta.get("url")), published=iso_date(meta.get("published") or meta.get("date")),
        outlet=_opt(meta.get("outlet")), language=_opt(meta.get("language") or meta.get("lang")),
    )


def _opt(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def read_html(data: bytes, source: str, stem: str, url: str | None = None) -> Article:
    """Main text and metadata of a web page, via trafilatura."""
    import trafilatura

    html = decode_text(data)
    # Menus and footers are never the article; without pruning, the fallback extractors
    # return a nav-only page's menu as its text.
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      prune_xpath=["//nav", "//footer"])
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise SourceReadError("no main text found in the HTML page")
    title = (getattr(doc, "title", None) or stem).strip()
    ident = slug(title if url else stem)
    return Article(ident, title, text.strip(), source, url=url or getattr(doc, "url", None),
                 published=iso_date(getattr(doc, "date", None)),
                 outlet=getattr(doc, "sitename", None), language=getattr(doc, "language", None))


def read_pdf(data: bytes, source: str, stem: str, max_pages: int) -> Article:
    """Text of a PDF, page by page, via pypdf."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceReadError("encrypted PDF (password required)")
        if len(reader.pages) > max_pages:
            raise SourceReadError(
                f"PDF has {len(reader.pages)} pages, over the limit of {max_pages}")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except SourceReadError:
        raise
    except DependencyError as exc:  # AES-encrypted, and the 'cryptography' package is missing
        raise SourceReadError("encrypted PDF (AES needs the 'cryptography' package)") from exc
    except (PyPdfError, ValueError, KeyError, OSError, TypeError, AssertionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else repr(exc)
        raise SourceReadError(f"broken PDF: {reason}") from exc
    text = _require_text("\n\n".join(p.strip() for p in pages if p.strip()))
    title = str(info.title).strip() if info is not None and info.title else stem.replace("-", " ")
    return Article(slug(stem), title, text, source)


def read_jsonl(data: bytes, path: str, stem: str) -> Iterator[Article | SourceReadError]:
    """One article per JSON line: `text` plus optional id, title, url, published, outlet, language.

    A bad line yields a SourceReadError naming its line number; the others are still read.
    """
    text = decode_text(data)
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield _jsonl_article(line, path, stem, n)
        except SourceReadError as exc:
            yield SourceReadError(f"line {n}: {exc}")


def _jsonl_article(line: str, path: str, stem: str, n: int) -> Article:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SourceReadError(f"not JSON ({exc.msg})") from exc
    if not isinstance(obj, dict):
        raise SourceReadError("not a JSON object")
    body = obj.get("text")
    if not isinstance(body, str) or not body.strip():
        raise SourceReadError("missing or empty 'text'")
    given = obj.get("id")
    ident = str(given) if given not in (None, "") else f"{slug(stem)}-{n}"
    key = f"{path}#{ident}" if given not in (None, "") else f"{path}#L{n}"
    return Article(ident, str(obj.get("title") or ""), body, key, url=_opt(obj.get("url")),
                 published=iso_date(obj.get("published")), outlet=_opt(obj.get("outlet")),
                 language=_opt(obj.get("language")))
