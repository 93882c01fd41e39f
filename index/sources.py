"""Find and read articles from files, folders, URLs, JSONL files and feeds.

One bad source is reported with its reason and the rest go on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from index.feeds import looks_like_feed, read_feed
from index.netguard import FetchPolicy
from index.readers import (
    SourceReadError,
    read_html,
    read_jsonl,
    read_markdown,
    read_pdf,
    read_plain,
    slug,
)
from index.records import Article, SourceFailure

TEXT = {".txt", ".text"}
MARKDOWN = {".md", ".markdown"}
HTML = {".html", ".htm", ".xhtml"}
PDF = {".pdf"}
JSONL = {".jsonl", ".ndjson"}
FEED = {".rss", ".atom", ".xml"}
KNOWN = TEXT | MARKDOWN | HTML | PDF | JSONL | FEED
# A folder's own documentation is not an article (given by path, such a file is still read).
FOLDER_DOCS = {"README", "LICENSE", "LICENCE", "CHANGELOG", "CONTRIBUTING"}


@dataclass(frozen=True)
class SourceLimits:
    """Caps that keep one hostile or huge source from exhausting memory or time."""

    max_bytes: int = 50 * 2**20
    max_pdf_pages: int = 2000
    timeout_s: float = 20.0
    max_redirects: int = 5
    allow: FetchPolicy = field(default_factory=FetchPolicy)
    """Private ranges and hosts that fetched URLs may reach (TANYA_FETCH_ALLOW)."""


@dataclass
class Scan:
    """Everything read from a set of source specs."""

    drafts: list[Article] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    prune_roots: list[str] = field(default_factory=list)
    partly_read: set[str] = field(default_factory=set)
    """Files with a failure: their stored articles (PATH#ID) must not be pruned."""


def is_url(spec: str) -> bool:
    """True for http(s) URLs."""
    return urlparse(spec).scheme in ("http", "https")


def scan(specs: list[str], limits: SourceLimits,
         on_item: Callable[[str], None] | None = None) -> Scan:
    """Read every spec (file, folder, URL); folders and files become roots for pruning."""
    result = Scan()
    for spec in specs:
        if is_url(spec):
            _collect(result, spec, _read_url(spec, limits))
            continue
        path = Path(spec).expanduser()
        if not path.exists():
            result.failures.append(SourceFailure(spec, "no such file or folder"))
            continue
        root = str(path.resolve())
        result.prune_roots.append(root)
        for file in _walk(path, result) if path.is_dir() else [path]:
            key = _file_key(file)
            result.seen.add(key)
            if on_item:
                on_item(key)
            _collect(result, key, _read_file(file, key, limits))
    return result


def _file_key(file: Path) -> str:
    """The resolved path; a dangling or looping link keeps its own (absolute) name."""
    try:
        return str(file.resolve(strict=True))
    except (OSError, RuntimeError):  # RuntimeError: symlink loop on Python < 3.13
        return os.path.abspath(file)


def _collect(result: Scan, key: str, items: Iterator[Article | SourceReadError]) -> None:
    before = len(result.failures)
    try:
        for item in items:
            if isinstance(item, Article):
                result.drafts.append(item)
                result.seen.add(item.source)
            else:
                result.failures.append(SourceFailure(key, str(item)))
    except SourceReadError as exc:
        result.failures.append(SourceFailure(key, str(exc)))
    except OSError as exc:
        result.failures.append(SourceFailure(key, exc.strerror or str(exc)))
    if len(result.failures) > before:
        result.partly_read.add(key)


def _walk(folder: Path, result: Scan) -> Iterator[Path]:
    """Known article files under a folder, recursively, in a stable order; links not followed."""

    def on_error(exc: OSError) -> None:
        result.failures.append(SourceFailure(str(exc.filename), exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if not name.startswith(".") and p.suffix.lower() in KNOWN \
                    and p.stem.upper() not in FOLDER_DOCS:
                yield p


def _read_file(path: Path, key: str, limits: SourceLimits) -> Iterator[Article | SourceReadError]:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise SourceReadError("not a regular file")
    size = info.st_size
    if size > limits.max_bytes:
        raise SourceReadError(f"{size} bytes, over the limit of {limits.max_bytes} "
                              "(TANYA_MAX_SOURCE_MB)")
    data = path.read_bytes()
    yield from _parse(data, key, path.stem, path.suffix.lower(), None, limits)


def _parse(data: bytes, key: str, stem: str, suffix: str, url: str | None,
           limits: SourceLimits, content_type: str = "") -> Iterator[Article | SourceReadError]:
    if suffix in JSONL:
        yield from read_jsonl(data, key, stem)
    elif suffix in FEED or looks_like_feed(data):
        yield from read_feed(data, key, lambda u: _fetch(u, limits))
    elif suffix in PDF or data.startswith(b"%PDF") or "pdf" in content_type:
        yield read_pdf(data, key, stem, limits.max_pdf_pages)
    elif suffix in HTML or "html" in content_type:
        yield read_html(data, key, stem, url)
    elif suffix in MARKDOWN:
        yield read_markdown(data, key, stem)
    else:
        yield read_plain(data, key, stem)


def _read_url(url: str, limits: SourceLimits) -> Iterator[Article | SourceReadError]:
    data, content_type = _fetch(url, limits)
    path = urlparse(url).path
    stem = slug(Path(path).stem or urlparse(url).netloc)
    for item in _parse(data, url, stem, Path(path).suffix.lower(), url, limits, content_type):
        if isinstance(item, Article) and item.url is None:
            item = replace(item, url=url)
        yield item


def _fetch(url: str, limits: SourceLimits) -> tuple[bytes, str]:
    """GET a URL within the limits, public addresses only unless allowed; one-line errors."""
    from index.fetching import fetch  # httpx is imported only when something is fetched

    return fetch(url, limits.allow, timeout_s=limits.timeout_s,
                 max_redirects=limits.max_redirects, max_bytes=limits.max_bytes)
