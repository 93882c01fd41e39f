"""One hostile corpus, one sync: every bad source is reported once and the index stays sound.

The corpus is generated here under tmp_path (nothing is committed); URLs are served by a local
HTTP server on 127.0.0.1. Each bad item must come back exactly once as a SourceFailure whose
source names it and whose reason is one short line; items that are legitimately readable
(UTF-16 with a BOM, the good lines of a JSONL file...) must be read; the good articles must be
indexed, and a sync that adds the bad items must leave the good ones untouched.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import socket
import sqlite3
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.chunking import ChunkSettings
from index.netguard import FetchPolicy
from index.sources import SourceLimits
from index.store import DB, IndexStore, StoredArticle
from index.sync import SyncReport, sync
from tests.fakes import HashingEmbedder

MB = 2**20
MAX_BYTES = 20 * MB
MAX_PAGES = 500
BOMB_PAGES = 3000
# The test server is on loopback, which is fetched only when allowed (TANYA_FETCH_ALLOW).
LIMITS = SourceLimits(max_bytes=MAX_BYTES, max_pdf_pages=MAX_PAGES, timeout_s=0.5,
                      allow=FetchPolicy.parse(["127.0.0.1"]))
SYNC_DEADLINE_S = 20.0

# --- good articles ---------------------------------------------------------------------------

BRIDGE = (
    "The district government announced a new bridge linking the two southern villages. "
    "The project will cost about 45 billion rupiah and starts early next year. "
    "Residents have waited for the bridge since the old one cracked in 2019."
)
RICE_TEXT = (
    "Rice Harvest in Sukamulya\n\n"
    "Farmers in Sukamulya harvested 6.8 tonnes of rice per hectare this season. "
    "Prices held at 5,100 rupiah per kilogram at the village market, traders said.\n"
)
FROG_PARAGRAPHS = [
    "Scientists have described a tiny frog species found only in a cloud forest on the slopes "
    "of a volcano in West Java. The adult frog is just twelve millimetres long and lives in the "
    "moss that covers the trunks of old trees.",
    "The team spent three rainy seasons recording the calls of the frogs at night. The call is "
    "a high chirp that sounds more like an insect than a frog, which is why it went unnoticed "
    "by earlier surveys of the forest.",
    "The researchers warn that the forest is shrinking as farms move up the mountain, and they "
    "ask the provincial government to protect the remaining patches of habitat.",
]
FROG_HTML = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
    "<title>Tiny Frog Found in Java Cloud Forest</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/science'>Science</a></nav>"
    "<article><h1>Tiny Frog Found in Java Cloud Forest</h1>"
    + "".join(f"<p>{p}</p>" for p in FROG_PARAGRAPHS)
    + "</article><footer><p>Copyright Science Desk</p></footer></body></html>"
).encode()
NAV_ONLY_HTML = (
    b"<!DOCTYPE html><html><head><title>Menu</title></head><body><nav><ul>"
    b"<li><a href='/'>Home</a></li><li><a href='/politics'>Politics</a></li>"
    b"<li><a href='/economy'>Economy</a></li></ul></nav></body></html>"
)
GOOD_IDS = {"good-bridge", "good-rice", "good-frog"}


def write_good(folder: Path) -> dict[str, str]:
    """The three good articles (Markdown, text, HTML); returns source -> article id."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good-bridge.md").write_text(
        f'---\ntitle: "A New Bridge for the South"\npublished: 2024-03-05\n---\n{BRIDGE}\n',
        encoding="utf-8")
    (folder / "good-rice.txt").write_text(RICE_TEXT, encoding="utf-8")
    (folder / "good-frog.html").write_bytes(FROG_HTML)
    return {str(folder / f"good-{name}"): f"good-{name.split('.')[0]}"
            for name in ("bridge.md", "rice.txt", "frog.html")}


# --- generated bad inputs --------------------------------------------------------------------


def _pdf_bytes(pages: int, *, password: str | None = None) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    if password is not None:
        try:
            import cryptography  # noqa: F401

            algorithm = "AES-256"
        except ImportError:  # RC4 needs no extra package
            algorithm = "RC4-128"
        writer.encrypt(user_password=password, owner_password="owner", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@cache
def pdf_bomb() -> bytes:
    """A small file (a few hundred KB) that declares thousands of pages."""
    return _pdf_bytes(BOMB_PAGES)


@cache
def encrypted_pdf() -> bytes:
    """A PDF that needs a user password to open."""
    return _pdf_bytes(1, password="secret")


def _random_binary() -> bytes:
    rng = random.Random(20240305)
    return bytes(rng.randrange(256) for _ in range(4000)) + b"\x00\x00\x00"


def _write_huge(path: Path, size: int) -> None:
    """size bytes of plain words, written in 4 MB pieces so memory stays small."""
    piece = b"word " * (4 * MB // 5)
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(piece[:left])
            left -= len(piece)


UTF16_TEXT = "Judul Berita Café\nPresiden menghadiri upacara di Jakarta. Ekonomi tumbuh cepat.\n"
# Mostly ASCII with stray bytes that are not UTF-8: decoded via a legacy code page, not refused.
INVALID_UTF8 = (b"Market Report\nTraders in Bandung said the price of chili rose \xff\xfe\xc3\x28 "
                b"sharply this week \x80\x81 after heavy rain damaged crops.\n")
# Valid UTF-8 full of accents plus one stray byte: read as UTF-8, the stray byte as U+FFFD
# (charset detection used to read it as ISO-8859-10: "prÃĐsident").
UTF8_ACCENTS = ("Le président a déclaré à la presse que l'économie française était en très "
                "bonne santé. ") * 3
UTF8_STRAY_BYTE = UTF8_ACCENTS.encode()[:60] + b"\xff" + UTF8_ACCENTS.encode()[60:]


@dataclass
class Expected:
    """What a sync of the corpus must report (source -> needles) and read (sources)."""

    failures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    readable: dict[str, str] = field(default_factory=dict)
    """source -> a phrase its stored text must contain."""
    duplicates: dict[str, str] = field(default_factory=dict)
    """source -> id of the article it repeats (read, but never added)."""
    ignored: list[str] = field(default_factory=list)
    """paths that are neither articles nor failures (a directory named like a file)."""
    specs: list[str] = field(default_factory=list)
    """extra specs to sync besides the folder (URLs, a missing path)."""
    skipped: list[str] = field(default_factory=list)
    locked: Path | None = None

    def fail(self, source: str | Path, *needles: str) -> None:
        assert str(source) not in self.failures, source
        self.failures[str(source)] = needles


def write_bad(folder: Path, server: str, refused_port: int) -> Expected:
    """Write every bad case into the folder and list what each must produce."""
    folder.mkdir(parents=True, exist_ok=True)
    exp = Expected()

    def put(name: str, data: bytes | str, *needles: str) -> Path:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        if needles:
            exp.fail(path, *needles)
        return path

    put("empty.txt", b"", "empty file")
    put("whitespace.txt", b"  \n\t\r\n   \n", "empty file")
    put("binary.txt", _random_binary(), "binary")
    put("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)),
        "binary")
    put("archive.html", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(300), "binary")
    put("nul-bytes.txt", b"Title\nSome text\x00 with\x00 NUL\x00 bytes\x00 inside.\x00\n", "binary")
    put("controls.txt", bytes(range(1, 9)) * 200, "binary")
    put("bom-only.txt", b"\xef\xbb\xbf", "no text")
    put("truncated.pdf", pdf_bomb()[:700], "PDF")
    put("garbage.pdf", b"%PDF-1.7\n" + bytes(random.Random(7).randrange(1, 256)
                                            for _ in range(900)), "PDF")
    put("zero.pdf", b"%PDF-", "PDF")
    put("blank-page.pdf", _pdf_bytes(1), "no text")
    put("encrypted.pdf", encrypted_pdf(), "encrypted")
    put("bomb.pdf", pdf_bomb(), f"{BOMB_PAGES} pages", f"limit of {MAX_PAGES}")
    put("menu.html", NAV_ONLY_HTML, "no main text")
    _write_huge(folder / "huge.txt", 50 * MB)
    exp.fail(folder / "huge.txt", f"over the limit of {MAX_BYTES}")
    put("lines.jsonl", "\n".join([
        json.dumps({"id": "jl-1", "title": "Port Reopens", "text": "The harbour of Cirebon "
                    "reopened on Monday after the storm."}),
        '{"id": "jl-2", "text": "unterminated',
        json.dumps({"id": "jl-3", "title": "Train Delayed", "text": "The morning train to "
                    "Bogor was delayed for two hours by a landslide."}),
    ]) + "\n", "line 2", "not JSON")
    put("no-text.jsonl", "\n".join([
        json.dumps({"id": "nt-1", "text": "Fishermen in Pangandaran caught a rare sunfish."}),
        json.dumps({"id": "nt-2", "title": "Only a title, no text"}),
    ]) + "\n", "line 2", "'text'")
    put("array.jsonl", "[1, 2, 3]\n", "line 1", "not a JSON object")
    put("not-xml.xml", "this is not XML at all\njust two lines of text\n", "not an RSS/Atom feed")
    put("catalog.xml", '<?xml version="1.0"?><catalog><book id="1">A book</book></catalog>',
        "not an RSS/Atom feed")
    put("broken.rss", b'<rss version="2.0"><channel><title>x<item><title>A</title>'
        b"<description>Text</description></item></chan", "not an RSS/Atom feed")
    put("teaser.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title>'
        f"<item><title>Gone</title><link>{server}/missing</link><guid>g1</guid></item>"
        "</channel></rss>", "entry 1", "HTTP 404")
    put("bad-front.md", "---\ntitle: [never closed\n---\nThe body is fine.\n", "front matter")
    put("front-only.md", "---\ntitle: Only a title\n---\n\n", "no text")

    loop = folder / "loop.txt"
    loop.symlink_to("loop.txt")
    exp.fail(loop, "symbolic links")
    dangling = folder / "dangling.txt"
    dangling.symlink_to(folder / "deleted-long-ago.txt")
    exp.fail(dangling, "no such file")
    (folder / "dir.txt").mkdir()
    exp.ignored.append(str(folder / "dir.txt"))
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.txt")
        exp.fail(folder / "pipe.txt", "not a regular file")
    else:
        exp.skipped.append("pipe.txt (no named pipes on this system)")

    locked = put("locked.txt", "Locked Article\nNobody may read this file.\n")
    locked.chmod(0)
    try:
        locked.read_bytes()
    except PermissionError:
        exp.fail(locked, "permission")
        exp.locked = locked
    else:  # root (or CAP_DAC_OVERRIDE) reads any file: the case cannot be made here
        locked.chmod(0o644)
        locked.unlink()
        exp.skipped.append("locked.txt (running as root: chmod 000 does not stop reads)")

    # Legitimately readable items.
    utf16 = put("utf16.txt", UTF16_TEXT.encode("utf-16"))
    exp.readable[str(utf16)] = UTF16_TEXT.strip()
    invalid = put("invalid-utf8.txt", INVALID_UTF8)
    exp.readable[str(invalid)] = "after heavy rain damaged crops."
    stray = put("utf8-stray-byte.txt", UTF8_STRAY_BYTE)
    exp.readable[str(stray)] = "Le président a déclaré"
    exp.readable[f"{folder / 'lines.jsonl'}#jl-1"] = "reopened on Monday"
    exp.readable[f"{folder / 'lines.jsonl'}#jl-3"] = "delayed for two hours"
    exp.readable[f"{folder / 'no-text.jsonl'}#nt-1"] = "rare sunfish"
    copy = put("zz-copy-of-rice.txt", RICE_TEXT)  # sorts after good-rice.txt
    exp.duplicates[str(copy)] = "good-rice"

    missing = str(folder.parent / "no-such-folder")
    exp.specs.append(missing)
    exp.fail(missing, "no such file or folder")
    for path, needles in [
        ("/missing", ("HTTP 404",)),
        ("/error", ("HTTP 500",)),
        ("/slow", ("timed out",)),
        ("/loop", ("too many redirects",)),
        ("/endless", ("over the limit", str(MAX_BYTES))),
        ("/menu.html", ("no main text",)),
    ]:
        exp.specs.append(server + path)
        exp.fail(server + path, *needles)
    refused = f"http://127.0.0.1:{refused_port}/gone.html"
    exp.specs.append(refused)
    exp.fail(refused, "cannot fetch")
    return exp


# --- local HTTP server -----------------------------------------------------------------------

ENDLESS_PIECE = b"gigabytes " * 6554  # 64 KB


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
            self._route()

    def _route(self) -> None:
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(2.0)
            self._send(200, "text/html", FROG_HTML)
        elif self.path == "/endless":  # "gigabytes" with no Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(2**16):  # 4 GiB, unless the client hangs up first
                self.wfile.write(ENDLESS_PIECE)
        elif self.path == "/error":
            self._send(500, "text/plain", b"boom")
        elif self.path == "/menu.html":
            self._send(200, "text/html", NAV_ONLY_HTML)
        else:
            self._send(404, "text/plain", b"not found")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def refused_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- helpers ---------------------------------------------------------------------------------


def _unblock_fifos(folder: Path) -> None:
    """If a reader is stuck opening a FIFO, open its write end so the reader sees EOF."""
    for fifo in folder.glob("*.txt"):
        with contextlib.suppress(OSError):
            if fifo.is_fifo():
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def sync_with_deadline(index_dir: Path, specs: list[str], folder: Path) -> SyncReport:
    """Sync in a thread, so a regression that blocks (on the FIFO) fails instead of hanging."""
    box: list[SyncReport | BaseException] = []

    def work() -> None:
        try:
            box.append(sync(index_dir, specs, HashingEmbedder(), ChunkSettings(), LIMITS))
        except BaseException as exc:
            box.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(SYNC_DEADLINE_S)
    if worker.is_alive():
        _unblock_fifos(folder)
        worker.join(5)
        pytest.fail(f"sync did not finish within {SYNC_DEADLINE_S:g} s (blocked on a source?)")
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _warm_up() -> None:
    """Load the readers' libraries and their lazy data (trafilatura's fallback extractors load
    about 30 MB on first use) before memory is measured: that is set-up, not reading."""
    import charset_normalizer  # noqa: F401
    import feedparser  # noqa: F401
    import frontmatter  # noqa: F401
    import httpx  # noqa: F401
    import pypdf  # noqa: F401

    from index.readers import SourceReadError, read_html

    read_html(FROG_HTML, "warm-up", "warm-up")
    with contextlib.suppress(SourceReadError):
        read_html(NAV_ONLY_HTML, "warm-up", "warm-up")
    HashingEmbedder().embed_passages(["warm up the stopword list"])


def stored(index_dir: Path) -> tuple[dict[str, StoredArticle], int, list[tuple[object, ...]]]:
    """Articles by source, the meta chunk count and every chunk row of the live generation."""
    store = IndexStore(index_dir)
    try:
        articles = {s.article.source: s for s in store.articles()}
        chunks = store.meta.chunks
        db = sqlite3.connect(f"file:{store.generation / DB}?mode=ro", uri=True)
        try:
            rows = db.execute('SELECT id, article_id, ordinal, start, "end" FROM chunks '
                              "ORDER BY id").fetchall()
        finally:
            db.close()
    finally:
        store.close()
    return articles, chunks, rows


def check_failures(report: SyncReport, exp: Expected) -> None:
    """Each expected failure exactly once, one short line naming the source; no others."""
    counts = Counter(f.source for f in report.failures)
    assert set(counts) == set(exp.failures), (
        f"unexpected: {sorted(set(counts) - set(exp.failures))}; "
        f"missing: {sorted(set(exp.failures) - set(counts))}")
    assert [s for s, n in counts.items() if n != 1] == [], report.failures
    for failure in report.failures:
        reason = failure.reason
        assert reason.strip() and reason == reason.strip(), failure
        assert "\n" not in reason and "\r" not in reason, failure
        assert len(reason) < 200, failure
        for needle in exp.failures[failure.source]:
            assert needle.lower() in reason.lower(), failure


# --- tests -----------------------------------------------------------------------------------


def test_bad_corpus_one_sync(tmp_path: Path, server: str, refused_port: int) -> None:
    folder = (tmp_path / "bad").resolve()
    good = write_good(folder)
    exp = write_bad(folder, server, refused_port)
    assert len(exp.failures) + len(exp.readable) + len(exp.duplicates) >= 25
    index_dir = tmp_path / "index"
    _warm_up()

    tracemalloc.start()
    try:
        report = sync_with_deadline(index_dir, [str(folder), *exp.specs], folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        if exp.locked is not None:
            exp.locked.chmod(0o644)

    # The endless response was cut at the cap without holding much more than the cap.
    assert peak < 3 * MAX_BYTES, f"peak {peak / MB:.1f} MB while reading the corpus"
    check_failures(report, exp)
    assert report.seconds < SYNC_DEADLINE_S

    articles, chunks, _ = stored(index_dir)
    assert set(articles) == set(good) | set(exp.readable)
    for source, article_id in good.items():
        assert articles[source].article.id == article_id
        assert articles[source].chunk_count >= 1
    assert articles[str(folder / "good-bridge.md")].article.published == "2024-03-05"
    assert "twelve millimetres" in articles[str(folder / "good-frog.html")].article.text
    for source, phrase in exp.readable.items():
        assert phrase in articles[source].article.text, (source, articles[source].article.text)
    utf16 = articles[str(folder / "utf16.txt")].article
    assert utf16.text == UTF16_TEXT and utf16.title == "Judul Berita Café"
    damaged = articles[str(folder / "utf8-stray-byte.txt")].article.text
    assert "\ufffd" in damaged and damaged.count("é") == UTF8_ACCENTS.count("é")
    assert sorted(report.duplicates) == sorted(exp.duplicates.items())
    assert sorted(report.added) == sorted(s.article.id for s in articles.values())
    assert chunks == sum(s.chunk_count for s in articles.values())
    for path in exp.ignored:
        assert not any(s.startswith(path) for s in articles)
        assert not any(f.source.startswith(path) for f in report.failures)


def test_failed_items_leave_the_index_unchanged(tmp_path: Path, server: str,
                                                refused_port: int) -> None:
    folder = (tmp_path / "library").resolve()
    good = write_good(folder)
    index_dir = tmp_path / "index"
    first = sync_with_deadline(index_dir, [str(folder)], folder)
    assert first.failures == [] and sorted(first.added) == sorted(GOOD_IDS)
    before, chunks_before, rows_before = stored(index_dir)
    assert set(before) == set(good)

    exp = write_bad(folder, server, refused_port)
    try:
        second = sync_with_deadline(index_dir, [str(folder), *exp.specs], folder)
    finally:
        if exp.locked is not None:
            exp.locked.chmod(0o644)
    check_failures(second, exp)
    after, chunks_after, rows_after = stored(index_dir)

    # The good articles are identical: same id, text, metadata, hash and chunk rows.
    for source in good:
        assert after[source] == before[source]
    good_ids = {before[s].article.id for s in good}
    assert [r for r in rows_after if r[1] in good_ids] == rows_before
    # Nothing was removed or changed, and only the readable items were added.
    assert second.removed == [] and second.updated == [] and second.moved == []
    assert second.metadata_updated == []
    assert second.unchanged == len(good)
    assert set(after) == set(before) | set(exp.readable)
    added = {after[s].article.id for s in exp.readable}
    assert sorted(second.added) == sorted(added)
    assert sorted(second.duplicates) == sorted(exp.duplicates.items())
    assert chunks_after == chunks_before + sum(after[s].chunk_count for s in exp.readable)
    assert len(rows_after) == chunks_after
