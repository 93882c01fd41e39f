"""Reading articles from files, folders, URLs, JSONL and feeds, and reporting bad sources.

Everything is generated inside the tests; the only network is a local HTTP server on 127.0.0.1
(opened with the fetch guard's allow setting, as an operator would).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.netguard import FetchPolicy
from index.readers import iso_date
from index.records import Article, SourceFailure
from index.sources import Scan, SourceLimits, is_url, scan


def _permissions_enforced() -> bool:
    """False as root (or with CAP_DAC_OVERRIDE): a chmod 000 file stays readable."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return True
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_bytes(b"x")
        probe.chmod(0)
        try:
            probe.read_bytes()
        except PermissionError:
            return True
        return False


PERMISSIONS_IGNORED = not _permissions_enforced()

# --- fixture content -------------------------------------------------------------------------

PARAGRAPHS = [
    "Pemerintah Kabupaten Bandung mengumumkan rencana pembangunan jembatan baru yang "
    "menghubungkan dua kecamatan di wilayah selatan. Proyek ini diperkirakan menelan biaya "
    "sekitar 45 miliar rupiah dan akan dimulai pada awal tahun depan.",
    "Kepala Dinas Pekerjaan Umum mengatakan bahwa jembatan lama sudah tidak layak digunakan "
    "karena retak di beberapa bagian. Warga sekitar sering mengeluhkan kemacetan panjang setiap "
    "pagi ketika anak-anak berangkat ke sekolah.",
    "Menurut warga, pembangunan jembatan ini sudah lama ditunggu. Seorang pedagang pasar mengaku "
    "harus memutar sejauh tujuh kilometer untuk membawa dagangannya ke kota. Pemerintah berjanji "
    "proyek akan selesai dalam delapan belas bulan dan tidak akan mengganggu lalu lintas.",
]
ARTICLE_TITLE = "Jembatan Baru Dibangun di Bandung Selatan"
NAV_MARK = "NAVMENUMARK"
FOOTER_MARK = "FOOTERMARK"


def article_html(title: str = ARTICLE_TITLE, site: str = "Warta Sipil") -> bytes:
    """A small news page: menu, one article of about 150 words, footer."""
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:site_name" content="{site}">
<meta property="og:title" content="{title}"></head>
<body>
<nav><ul><li><a href="/">Beranda</a></li><li><a href="/politik">{NAV_MARK} Politik</a></li>
<li><a href="/ekonomi">Ekonomi</a></li></ul></nav>
<article><h1>{title}</h1>{paragraphs}</article>
<footer><p>{FOOTER_MARK} Hak cipta Warta Sipil. Semua hak dilindungi undang-undang.</p></footer>
</body></html>""".encode()


NAV_ONLY_HTML = b"""<!DOCTYPE html><html><head><title>Menu</title></head><body>
<nav><ul><li><a href="/">Beranda</a></li><li><a href="/politik">Politik</a></li>
<li><a href="/ekonomi">Ekonomi</a></li><li><a href="/olahraga">Olahraga</a></li></ul></nav>
</body></html>"""

LONG_BODY = " ".join(PARAGRAPHS)  # well over the 400-character teaser threshold


def make_pdf(lines: list[str], title: str | None = None, *, text: bool = True) -> bytes:
    """A minimal valid one-page PDF with a Helvetica text object; xref offsets computed here."""
    shown = " ".join(f"({line}) '" for line in lines) if text else ""
    stream = f"BT /F1 12 Tf 72 720 Td 14 TL {shown} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    if title is not None:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, info, xref)
    return bytes(out)


PDF_LINES = ["Harga beras naik di pasar Jakarta.", "Pemerintah menyiapkan operasi pasar."]


def rss(items: str, title: str = "Warta Sipil") -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>{title}</title><link>https://wargasipil.com/</link>
<description>Berita</description>{items}</channel></rss>""".encode()


def rss_item(title: str, link: str, guid: str, *, content: str | None = None,
             summary: str | None = None, date: str = "Tue, 05 Mar 2024 10:00:00 +0700") -> str:
    parts = [f"<title>{title}</title>", f"<link>{link}</link>",
             f'<guid isPermaLink="false">{guid}</guid>', f"<pubDate>{date}</pubDate>"]
    if summary is not None:
        parts.append(f"<description>{summary}</description>")
    if content is not None:
        parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
    return "<item>" + "".join(parts) + "</item>"


# --- helpers ---------------------------------------------------------------------------------


# The test server listens on loopback, which tanya fetches only when allowed (TANYA_FETCH_ALLOW).
LOCAL = FetchPolicy.parse(["127.0.0.1"])


def run(*specs: str | Path, limits: SourceLimits | None = None) -> Scan:
    return scan([str(s) for s in specs], limits or SourceLimits(allow=LOCAL))


def key(path: Path) -> str:
    return str(path.resolve())


def check_failure(failure: SourceFailure, source: str | Path, *needles: str) -> None:
    """One clear line, naming the source, containing every needle (case-insensitive)."""
    assert failure.source == str(source)
    assert failure.reason.strip(), failure
    assert "\n" not in failure.reason and "\r" not in failure.reason, failure
    for needle in needles:
        assert needle.lower() in failure.reason.lower(), failure


def only_failure(result: Scan, source: str | Path, *needles: str) -> SourceFailure:
    assert result.drafts == [], result.drafts
    assert len(result.failures) == 1, result.failures
    check_failure(result.failures[0], source, *needles)
    return result.failures[0]


def only_draft(result: Scan) -> Article:
    assert result.failures == [], result.failures
    assert len(result.drafts) == 1, result.drafts
    return result.drafts[0]


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def scan_with_deadline(specs: list[str], seconds: float = 10.0) -> Scan:
    """Scan in a thread so that a regression that blocks (FIFO, /dev/zero) fails, not hangs."""
    box: list[Scan] = []
    worker = threading.Thread(target=lambda: box.append(scan(specs, SourceLimits())),
                              daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "scan blocked"
    return box[0]


# --- local HTTP server -----------------------------------------------------------------------

BIG_BODY = b"<html><body><p>" + b"kata " * 2000 + b"</p></body></html>"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, ctype: str, body: bytes, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
            self._route()

    def _route(self) -> None:
        path = self.path
        if path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/berita/jembatan.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            time.sleep(2.0)
            self._send(200, "text/html", article_html())
        elif path == "/big":
            self._send(200, "text/html", BIG_BODY)
        elif path == "/big-stream":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"<p>" + b"x" * 1000 + b"</p>")
        elif path == "/error":
            self._send(500, "text/plain", b"boom")
        elif path in ROUTES:
            self._send(*ROUTES[path])
        else:
            self._send(404, "text/plain", b"not found")


ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/berita/jembatan.html": (200, "text/html; charset=utf-8", article_html()),
    "/menu.html": (200, "text/html", NAV_ONLY_HTML),
    "/catatan.txt": (200, "text/plain; charset=utf-8",
                     b"Catatan Rapat Warga\n\nRapat membahas jadwal ronda malam.\n"),
    "/unduh?id=7": (200, "application/pdf", make_pdf(PDF_LINES, "Laporan Harga")),
    "/feed": (200, "application/rss+xml", rss(rss_item(
        "Jalan Tol Baru", "https://wargasipil.com/tol", "tol-1", content=LONG_BODY))),
}


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


# --- plain text ------------------------------------------------------------------------------


def test_txt_title_from_short_first_line(tmp_path: Path) -> None:
    f = write(tmp_path / "banjir-bekasi.txt",
              "Banjir Melanda Bekasi\n\nHujan deras sejak malam membuat sungai meluap.\n")
    result = run(f)
    d = only_draft(result)
    assert d.title == "Banjir Melanda Bekasi"
    assert d.id == "banjir-bekasi"
    assert d.source == key(f)
    assert "sungai meluap" in d.text
    assert d.outlet is None and d.url is None and d.published is None
    assert result.seen == {key(f)}
    assert result.prune_roots == [key(f)]


@pytest.mark.parametrize("first", [
    "Hujan deras sejak malam membuat sungai meluap dan merendam ratusan rumah warga di tiga "
    "kecamatan, sementara petugas terus mengevakuasi warga lanjut usia ke tempat yang aman.",
    "",  # a single-line file has no separate title line
])
def test_txt_title_from_stem_when_first_line_is_not_a_title(tmp_path: Path, first: str) -> None:
    text = first + "\nPetugas masih berjaga." if first else "Satu baris saja tanpa judul."
    f = write(tmp_path / "laporan-harian_pasar.txt", text)
    d = only_draft(run(f))
    assert d.title == "laporan harian pasar"
    assert d.text.strip() == text.strip()


@pytest.mark.parametrize(("lead", "outlet"), [
    ("wargasipil.com – Warga Desa Sukamaju menggelar kerja bakti", "wargasipil.com"),
    ("WargaSipil.COM — Warga menggelar kerja bakti", "wargasipil.com"),
    ("berita.jabar-news.co.id - Warga menggelar kerja bakti", "berita.jabar-news.co.id"),
    ("Catatan – warga menggelar kerja bakti", None),
    ("Warga menggelar kerja bakti di wargasipil.com – hari ini", None),
])
def test_txt_outlet_prefix(tmp_path: Path, lead: str, outlet: str | None) -> None:
    f = write(tmp_path / "kerja-bakti.txt", f"{lead}\nSemua warga ikut membersihkan selokan.\n")
    d = only_draft(run(f))
    assert d.outlet == outlet


def test_txt_crlf_and_utf8_bom(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "\ufeffJudul Berita\r\n\r\nIsi berita dengan baris Windows.\r\n"
              .encode())
    d = only_draft(run(f))
    assert d.title == "Judul Berita"
    assert "\r" not in d.text and not d.text.startswith("\ufeff")


# --- encodings -------------------------------------------------------------------------------

FRENCH = ("Le président a déclaré à la presse que l'économie française était en très bonne "
          "santé, malgré les difficultés rencontrées cette année. Les élèves étaient présents.\n")
INDONESIAN = ("Presiden Prancis menghadiri upacara di Jakarta. Café, crème brûlée, élève, déjà vu, "
              "à côté, naïve. Ekonomi tumbuh lebih cepat dari perkiraan tahun ini.\n")
INDONESIAN_2 = ("Rumah makan \"Café Señor\" di Bandung ramai dikunjungi pada akhir pekan. "
                "Pemiliknya, José Müller, mengatakan omzet naik hingga dua kali lipat.\n")


@pytest.mark.parametrize(("text", "encoding"), [
    (FRENCH, "cp1252"), (FRENCH, "latin-1"),
    (INDONESIAN, "cp1252"), (INDONESIAN, "latin-1"),
    (INDONESIAN_2, "cp1252"), (INDONESIAN_2, "latin-1"),
    ("Harga “cabai” naik – kata pedagang… " + FRENCH, "cp1252"),
])
def test_legacy_single_byte_encodings(tmp_path: Path, text: str, encoding: str) -> None:
    f = write(tmp_path / "berita.txt", text.encode(encoding))
    assert only_draft(run(f)).text == text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, encoding: str) -> None:
    text = "Judul Berita Café\n" + INDONESIAN
    data = text.encode(encoding)
    if encoding != "utf-16":  # utf-16 writes its own BOM
        data = "\ufeff".encode(encoding) + data
    f = write(tmp_path / "berita.txt", data)
    d = only_draft(run(f))
    assert d.text == text
    assert d.title == "Judul Berita Café"


# --- binary, empty ---------------------------------------------------------------------------


def _random_bytes() -> bytes:
    rng = random.Random(1234)
    return bytes(rng.randrange(256) for _ in range(3000)) + b"\x00\x00"


@pytest.mark.parametrize("data", [
    _random_bytes(),
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)),
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(200),
])
@pytest.mark.parametrize("name", ["foto.txt", "foto.md", "foto.html", "foto.jsonl"])
def test_binary_renamed_as_text(tmp_path: Path, data: bytes, name: str) -> None:
    f = write(tmp_path / name, data)
    only_failure(run(f), key(f), "binary")


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  \n"])
@pytest.mark.parametrize("name", ["kosong.txt", "kosong.md", "kosong.html", "kosong.jsonl",
                                  "kosong.xml", "kosong.pdf"])
def test_empty_and_whitespace_files(tmp_path: Path, data: bytes, name: str) -> None:
    f = write(tmp_path / name, data)
    failure = only_failure(run(f), key(f))
    if name.endswith(".xml"):
        assert failure.reason.startswith("not an RSS/Atom feed")
    elif name.endswith(".pdf"):
        assert "PDF" in failure.reason
    else:
        assert failure.reason == "empty file"


# --- markdown --------------------------------------------------------------------------------


def test_markdown_front_matter(tmp_path: Path) -> None:
    f = write(tmp_path / "catatan.md", """---
title: Pasar Kosambi Direnovasi
url: https://wargasipil.com/pasar-kosambi
published: 2024-03-05
outlet: wargasipil.com
language: id
id: pasar-kosambi-2024
---
# Judul Lain

Pedagang dipindahkan sementara ke lahan parkir selama renovasi.
""")
    d = only_draft(run(f))
    assert d.title == "Pasar Kosambi Direnovasi"
    assert d.url == "https://wargasipil.com/pasar-kosambi"
    assert d.published == "2024-03-05"
    assert d.outlet == "wargasipil.com"
    assert d.language == "id"
    assert d.id == "pasar-kosambi-2024"
    assert d.source == key(f)
    assert d.text.startswith("# Judul Lain")
    assert "---" not in d.text and "outlet:" not in d.text


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-03-05", "2024-03-05"),
    ("2024-03-05 22:30:00", "2024-03-05"),
    ("2024-03-05T22:30:00+07:00", "2024-03-05"),
    ('"2024-03-05T22:30:00Z"', "2024-03-05"),
    ('"Tue, 05 Mar 2024 10:00:00 +0700"', "2024-03-05"),
])
def test_markdown_published_normalized(tmp_path: Path, value: str, expected: str) -> None:
    f = write(tmp_path / "a.md", f"---\ndate: {value}\nlang: en\nid: 42\n---\nBody text here.\n")
    d = only_draft(run(f))
    assert d.published == expected
    assert d.language == "en"
    assert d.id == "42"


def test_markdown_without_front_matter_uses_heading(tmp_path: Path) -> None:
    f = write(tmp_path / "rapat-rt.md", "# Rapat RT Membahas Keamanan\n\nWarga sepakat ronda.\n")
    d = only_draft(run(f))
    assert d.title == "Rapat RT Membahas Keamanan"
    assert d.id == "rapat-rt"
    assert d.url is None and d.published is None


def test_markdown_without_heading_uses_stem(tmp_path: Path) -> None:
    f = write(tmp_path / "rapat-rt.md", "Warga sepakat mengadakan ronda malam.\n")
    assert only_draft(run(f)).title == "rapat rt"


@pytest.mark.parametrize("front", [
    "title: [tidak ditutup\n",
    "title: a: b: c\n",
    "\tjudul: tab\n",
])
def test_markdown_bad_front_matter(tmp_path: Path, front: str) -> None:
    f = write(tmp_path / "rusak.md", f"---\n{front}---\nIsi artikel.\n")
    only_failure(run(f), key(f), "front matter")


def test_markdown_front_matter_only(tmp_path: Path) -> None:
    f = write(tmp_path / "kosong.md", "---\ntitle: Hanya Judul\n---\n\n")
    only_failure(run(f), key(f), "no text")


# --- HTML ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["jembatan-baru.html", "jembatan-baru.htm"])
def test_html_article(tmp_path: Path, name: str) -> None:
    f = write(tmp_path / name, article_html())
    d = only_draft(run(f))
    assert d.title == ARTICLE_TITLE
    assert d.id == "jembatan-baru"
    assert d.source == key(f)
    assert d.outlet == "Warta Sipil"
    for paragraph in PARAGRAPHS:
        assert paragraph[:60] in d.text
    assert NAV_MARK not in d.text
    assert FOOTER_MARK not in d.text
    assert len(d.text.split()) > 100


def test_html_without_main_text(tmp_path: Path) -> None:
    f = write(tmp_path / "menu.html", NAV_ONLY_HTML)
    only_failure(run(f), key(f), "no main text")


def test_html_empty_body(tmp_path: Path) -> None:
    f = write(tmp_path / "kosong.html", "<html><head><title>x</title></head><body></body></html>")
    only_failure(run(f), key(f), "no main text")


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_text_and_title(tmp_path: Path) -> None:
    f = write(tmp_path / "laporan-harga.pdf", make_pdf(PDF_LINES, "Laporan Harga Beras"))
    d = only_draft(run(f))
    assert d.title == "Laporan Harga Beras"
    assert d.id == "laporan-harga"
    for line in PDF_LINES:
        assert line in d.text


def test_pdf_without_info_uses_stem(tmp_path: Path) -> None:
    f = write(tmp_path / "laporan-harga.pdf", make_pdf(PDF_LINES))
    d = only_draft(run(f))
    assert d.title == "laporan harga"


def test_pdf_sniffed_by_magic_whatever_the_suffix(tmp_path: Path) -> None:
    f = write(tmp_path / "laporan.txt", make_pdf(PDF_LINES))
    assert PDF_LINES[0] in only_draft(run(f)).text


def test_pdf_made_by_pypdf_is_readable(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_LINES))))
    writer.add_metadata({"/Title": "Dari pypdf"})
    buf = io.BytesIO()
    writer.write(buf)
    f = write(tmp_path / "x.pdf", buf.getvalue())
    d = only_draft(run(f))
    assert d.title == "Dari pypdf"
    assert PDF_LINES[1] in d.text


@pytest.mark.parametrize("cut", ["half", "head", "garbage", "magic-only"])
def test_pdf_broken(tmp_path: Path, cut: str) -> None:
    good = make_pdf(PDF_LINES, "Judul")
    data = {
        "half": good[: len(good) // 2],
        "head": good[:120],
        "garbage": b"%PDF-1.7\n" + bytes(random.Random(7).randrange(1, 256) for _ in range(900)),
        "magic-only": b"%PDF-",
    }[cut]
    f = write(tmp_path / "rusak.pdf", data)
    only_failure(run(f), key(f), "PDF")


def test_pdf_without_text(tmp_path: Path) -> None:
    f = write(tmp_path / "scan.pdf", make_pdf([], text=False))
    only_failure(run(f), key(f), "no text")


def test_pdf_encrypted(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_LINES))))
    writer.encrypt(user_password="rahasia", owner_password="pemilik")
    buf = io.BytesIO()
    writer.write(buf)
    f = write(tmp_path / "rahasia.pdf", buf.getvalue())
    only_failure(run(f), key(f), "encrypted")


def test_pdf_with_owner_password_only_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_LINES))))
    writer.encrypt(user_password="", owner_password="pemilik")
    buf = io.BytesIO()
    writer.write(buf)
    f = write(tmp_path / "terkunci.pdf", buf.getvalue())
    assert PDF_LINES[0] in only_draft(run(f)).text


def test_pdf_aes_without_cryptography_is_a_failure(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """pypdf raises DependencyError (not a PyPdfError) for AES when 'cryptography' is missing."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import DependencyError

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_LINES))))
    writer.encrypt(user_password="rahasia")
    buf = io.BytesIO()
    writer.write(buf)

    def needs_aes(self: object, password: str) -> None:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(PdfReader, "decrypt", needs_aes)
    f = write(tmp_path / "aes.pdf", buf.getvalue())
    only_failure(run(f), key(f), "encrypted")


def test_pdf_page_limit(tmp_path: Path) -> None:
    f = write(tmp_path / "tebal.pdf", make_pdf(PDF_LINES))
    only_failure(run(f, limits=SourceLimits(max_pdf_pages=0)), key(f), "pages", "limit")


# --- JSONL -----------------------------------------------------------------------------------


def test_jsonl_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a-1", "title": "Satu", "text": "Teks pertama.",
                    "url": "https://wargasipil.com/1", "published": "2024-03-05T22:30:00+07:00",
                    "outlet": "wargasipil.com", "language": "id"}),
        json.dumps({"title": "Dua", "text": "Teks kedua tanpa id."}),
        "{not json",
        json.dumps({"title": "Tanpa teks"}),
        "",
        "[1, 2, 3]",
        json.dumps({"id": 7, "text": "Teks ketujuh.", "published": "2024-03-07"}),
        json.dumps({"id": "", "text": "Id kosong."}),
        json.dumps({"text": "   "}),
    ]
    f = write(tmp_path / "arsip-berita.jsonl", "\n".join(lines) + "\n")
    path = key(f)
    result = run(f)

    assert [d.id for d in result.drafts] == ["a-1", "arsip-berita-2", "7", "arsip-berita-8"]
    first, second, seventh, eighth = result.drafts
    assert first.source == f"{path}#a-1"
    assert (first.title, first.text, first.url) == ("Satu", "Teks pertama.",
                                                    "https://wargasipil.com/1")
    assert (first.published, first.outlet, first.language) == ("2024-03-05", "wargasipil.com",
                                                               "id")
    assert second.title == "Dua" and second.url is None
    assert second.source.startswith(path + "#") and second.source != first.source
    assert seventh.source == f"{path}#7" and seventh.published == "2024-03-07"
    assert eighth.text == "Id kosong." and eighth.source.startswith(path + "#")
    assert len({d.source for d in result.drafts}) == 4

    reasons = {f.reason.split(":", 1)[0]: f for f in result.failures}
    assert set(reasons) == {"line 3", "line 4", "line 6", "line 9"}
    check_failure(reasons["line 3"], path, "not JSON")
    check_failure(reasons["line 4"], path, "text")
    check_failure(reasons["line 6"], path, "object")
    check_failure(reasons["line 9"], path, "text")
    assert {path} | {d.source for d in result.drafts} <= result.seen


def test_jsonl_ndjson_suffix_and_crlf(tmp_path: Path) -> None:
    f = write(tmp_path / "x.ndjson", b'{"id": "k", "text": "satu"}\r\n{"text": "dua"}\r\n')
    result = run(f)
    assert result.failures == []
    assert [d.text for d in result.drafts] == ["satu", "dua"]


# --- feeds -----------------------------------------------------------------------------------


def test_rss_file_full_content(tmp_path: Path) -> None:
    items = (rss_item("Jalan Tol Dibuka", "https://wargasipil.com/tol", "tol-1",
                      content=f"<p>{LONG_BODY}</p>")
             + rss_item("Harga &amp; Pasokan Beras", "https://wargasipil.com/beras", "beras-2",
                        content=f"<p>{LONG_BODY} Beras &amp; gula.</p>",
                        date="Wed, 06 Mar 2024 23:30:00 GMT"))
    f = write(tmp_path / "wargasipil.rss", rss(items))
    result = run(f)
    assert result.failures == []
    assert len(result.drafts) == 2
    tol, beras = result.drafts
    assert (tol.title, tol.url, tol.published) == ("Jalan Tol Dibuka",
                                                   "https://wargasipil.com/tol", "2024-03-05")
    assert tol.source == f"{key(f)}#tol-1"
    assert tol.outlet == "Warta Sipil"
    assert PARAGRAPHS[0][:50] in tol.text and "<p>" not in tol.text
    assert beras.title == "Harga & Pasokan Beras"
    assert beras.published == "2024-03-06"
    assert "Beras & gula." in beras.text
    assert {tol.source, beras.source, key(f)} <= result.seen


def test_atom_file_full_content(tmp_path: Path) -> None:
    entries = "".join(f"""<entry><title>Berita {n}</title>
<link href="https://wargasipil.com/atom/{n}" rel="alternate"/>
<id>tag:wargasipil.com,2024:{n}</id><updated>2024-03-0{n}T08:00:00Z</updated>
<published>2024-03-0{n}T23:30:00+07:00</published>
<content type="html">&lt;p&gt;{LONG_BODY}&lt;/p&gt;</content></entry>""" for n in (1, 2))
    feed = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Warta Atom</title>
<id>tag:wargasipil.com,2024:feed</id><updated>2024-03-02T08:00:00Z</updated>{entries}</feed>"""
    f = write(tmp_path / "atom.xml", feed)
    result = run(f)
    assert result.failures == []
    assert [d.title for d in result.drafts] == ["Berita 1", "Berita 2"]
    assert [d.url for d in result.drafts] == ["https://wargasipil.com/atom/1",
                                              "https://wargasipil.com/atom/2"]
    assert [d.published for d in result.drafts] == ["2024-03-01", "2024-03-02"]
    assert result.drafts[0].source == f"{key(f)}#tag:wargasipil.com,2024:1"
    assert all(d.outlet == "Warta Atom" for d in result.drafts)
    assert all("<p>" not in d.text and PARAGRAPHS[1][:40] in d.text for d in result.drafts)


def test_feed_sniffed_in_txt_file(tmp_path: Path) -> None:
    f = write(tmp_path / "feed.txt", rss(rss_item("Judul", "https://x.example/1", "g1",
                                                  content=LONG_BODY)))
    assert only_draft(run(f)).title == "Judul"


def test_feed_teaser_fetches_linked_article(tmp_path: Path, server: str) -> None:
    link = f"{server}/berita/jembatan.html"
    f = write(tmp_path / "feed.xml", rss(rss_item(
        "Jembatan Baru", link, "jembatan-1", summary="Ringkasan singkat saja.")))
    d = only_draft(run(f))
    assert d.url == link
    assert d.title == "Jembatan Baru"
    assert d.published == "2024-03-05"
    assert d.source == f"{key(f)}#jembatan-1"
    assert PARAGRAPHS[2][:60] in d.text
    assert "Ringkasan singkat" not in d.text
    assert NAV_MARK not in d.text


def test_feed_teaser_with_dead_link(tmp_path: Path, server: str) -> None:
    items = (rss_item("Masih Ada Ringkasan", f"{server}/hilang", "r1",
                      summary="Ringkasan singkat tetap dipakai.")
             + rss_item("Tanpa Apa-apa", f"{server}/hilang-juga", "r2")
             + rss_item("Hanya Menu", f"{server}/menu.html", "r3"))
    f = write(tmp_path / "feed.xml", rss(items))
    result = run(f)
    d = only_draft(Scan(drafts=result.drafts))
    assert d.text == "Ringkasan singkat tetap dipakai."
    assert d.url == f"{server}/hilang"
    assert len(result.failures) == 2
    check_failure(result.failures[0], key(f), "entry 2", "HTTP 404")
    check_failure(result.failures[1], key(f), "entry 3", "no main text")


@pytest.mark.parametrize(("name", "data"), [
    ("katalog.xml", b'<?xml version="1.0"?><catalog><book id="1">Buku</book></catalog>'),
    ("rusak.xml", b'<?xml version="1.0"?><rss><channel><title>a</b></channel>'),
    ("halaman.xml", NAV_ONLY_HTML),
    ("teks.xml", b"ini bukan xml sama sekali\nhanya teks biasa\n"),
    ("kosong.rss", b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
                   b"</channel></rss>"),
])
def test_xml_that_is_not_a_feed(tmp_path: Path, name: str, data: bytes) -> None:
    f = write(tmp_path / name, data)
    only_failure(run(f), key(f), "not an RSS/Atom feed")


def test_feed_bytes_are_never_taken_for_a_path(tmp_path: Path) -> None:
    """feedparser opens bytes naming a file; a feed's content must never be read as a path."""
    other = write(tmp_path / "lain" / "asli.rss",
                  rss(rss_item("Rahasia", "https://x.example/r", "r", content=LONG_BODY)))
    f = write(tmp_path / "penunjuk.xml", str(other).encode())
    only_failure(run(f), key(f), "not an RSS/Atom feed")


# --- folders ---------------------------------------------------------------------------------


def _tree(root: Path) -> list[Path]:
    """A small mixed folder; returns the files expected to be read, in walk order."""
    expected = [
        write(root / "a-berita.txt", "Judul A\nIsi A.\n"),
        write(root / "b-catatan.md", "# Judul B\n\nIsi B.\n"),
        write(root / "c-besar.TXT", "Judul C\nIsi C.\n"),
        write(root / "2024" / "01" / "d.html", article_html("Judul D")),
        write(root / "2024" / "02" / "e.txt", "Judul E\nIsi E.\n"),
        write(root / "z-arsip" / "f.markdown", "# Judul F\n\nIsi F.\n"),
    ]
    write(root / ".tersembunyi.txt", "Tersembunyi\nJangan dibaca.\n")
    write(root / ".git" / "g.txt", "Git\nJangan dibaca.\n")
    write(root / "2024" / ".cache" / "h.md", "# Cache\n\nJangan dibaca.\n")
    write(root / "foto.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(root / "dokumen.docx", b"PK\x03\x04")
    write(root / "README", "tanpa akhiran\n")
    # reorder to the stable walk order: files of a folder (sorted), then its subfolders (sorted)
    order = ["a-berita.txt", "b-catatan.md", "c-besar.TXT", "2024/01/d.html", "2024/02/e.txt",
             "z-arsip/f.markdown"]
    by_rel = {str(p.relative_to(root)): p for p in expected}
    return [by_rel[rel] for rel in order]


def test_folder_recursive_walk(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    expected = _tree(root)
    seen_items: list[str] = []
    result = scan([str(root)], SourceLimits(), on_item=seen_items.append)
    assert result.failures == []
    assert [d.source for d in result.drafts] == [key(p) for p in expected]
    assert [d.title for d in result.drafts] == ["Judul A", "Judul B", "Judul C", "Judul D",
                                                "Judul E", "Judul F"]
    assert seen_items == [key(p) for p in expected]
    assert result.seen == {key(p) for p in expected}
    assert result.prune_roots == [key(root)]
    again = run(root)
    assert again.drafts == result.drafts


def test_folder_prune_root_is_resolved(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    write(root / "a.txt", "Judul\nIsi.\n")
    (root / "sub").mkdir()
    link = tmp_path / "tautan"
    link.symlink_to(root, target_is_directory=True)
    for spec in (root / "sub" / "..", link):
        result = run(spec)
        assert result.prune_roots == [str(root.resolve())]
        assert [d.source for d in result.drafts] == [key(root / "a.txt")]


def test_folder_symlink_loop(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    good = write(root / "a.txt", "Judul\nIsi.\n")
    loop = root / "x.txt"
    loop.symlink_to("x.txt")
    result = run(root)
    assert [d.source for d in result.drafts] == [key(good)]
    assert len(result.failures) == 1
    check_failure(result.failures[0], loop, "symbolic links")


def test_folder_symlinked_subfolder_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    good = write(root / "a.txt", "Judul\nIsi.\n")
    (root / "lingkaran").symlink_to(root, target_is_directory=True)
    result = run(root)
    assert [d.source for d in result.drafts] == [key(good)]
    assert result.failures == []


def test_folder_dangling_symlink(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    good = write(root / "b.txt", "Judul\nIsi.\n")
    dangling = root / "a.txt"
    dangling.symlink_to(tmp_path / "sudah-dihapus.txt")
    result = run(root)
    assert [d.source for d in result.drafts] == [key(good)]
    assert len(result.failures) == 1
    check_failure(result.failures[0], dangling, "no such file")


def test_folder_symlinked_file_is_read_under_its_target(tmp_path: Path) -> None:
    target = write(tmp_path / "luar" / "asli.txt", "Judul Asli\nIsi.\n")
    root = tmp_path / "artikel"
    root.mkdir()
    (root / "tautan.txt").symlink_to(target)
    assert only_draft(run(root)).source == key(target)


def test_folder_directory_named_like_a_file(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    inner = write(root / "dir.txt" / "dalam.txt", "Judul Dalam\nIsi.\n")
    assert only_draft(run(root)).source == key(inner)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    good = write(root / "a.txt", "Judul\nIsi.\n")
    fifo = root / "pipa.txt"
    os.mkfifo(fifo)
    result = scan_with_deadline([str(root)])
    assert [d.source for d in result.drafts] == [key(good)]
    assert len(result.failures) == 1
    check_failure(result.failures[0], fifo, "not a regular file")
    only_failure(scan_with_deadline([str(fifo)]), fifo, "not a regular file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_is_a_failure_not_endless(tmp_path: Path) -> None:
    link = tmp_path / "nol.txt"
    link.symlink_to("/dev/zero")
    only_failure(scan_with_deadline([str(link)]), "/dev/zero", "not a regular file")


def test_missing_path(tmp_path: Path) -> None:
    spec = str(tmp_path / "tidak-ada")
    result = run(spec)
    only_failure(result, spec, "no such file or folder")
    assert result.prune_roots == [] and result.seen == set()


def test_one_bad_source_does_not_stop_the_rest(tmp_path: Path, server: str) -> None:
    good = write(tmp_path / "a.txt", "Judul\nIsi.\n")
    bad = write(tmp_path / "b.txt", b"")
    missing = str(tmp_path / "hilang.txt")
    result = run(bad, missing, f"{server}/tidak-ada", good)
    assert [d.source for d in result.drafts] == [key(good)]
    assert [f.source for f in result.failures] == [key(bad), missing, f"{server}/tidak-ada"]
    for failure in result.failures:
        check_failure(failure, failure.source)


def test_file_over_size_limit(tmp_path: Path) -> None:
    f = write(tmp_path / "besar.txt", "Judul\n" + "kata " * 200)
    size = f.stat().st_size
    assert only_draft(run(f, limits=SourceLimits(max_bytes=size))).title == "Judul"
    only_failure(run(f, limits=SourceLimits(max_bytes=size - 1)), key(f),
                 f"over the limit of {size - 1}")


def test_folder_file_over_size_limit(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    small = write(root / "a.txt", "Judul\nIsi.\n")
    big = write(root / "b.txt", "Judul\n" + "kata " * 200)
    result = run(root, limits=SourceLimits(max_bytes=100))
    assert [d.source for d in result.drafts] == [key(small)]
    assert len(result.failures) == 1
    check_failure(result.failures[0], key(big), "limit")


@pytest.mark.skipif(PERMISSIONS_IGNORED, reason="running as root: root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    good = write(root / "a.txt", "Judul\nIsi.\n")
    locked = write(root / "b.txt", "Judul\nIsi.\n")
    locked.chmod(0)
    try:
        result = run(root)
    finally:
        locked.chmod(0o644)
    assert [d.source for d in result.drafts] == [key(good)]
    assert len(result.failures) == 1
    check_failure(result.failures[0], key(locked), "permission")


@pytest.mark.skipif(PERMISSIONS_IGNORED, reason="running as root: root reads any folder")
def test_unreadable_subfolder(tmp_path: Path) -> None:
    root = tmp_path / "artikel"
    good = write(root / "a.txt", "Judul\nIsi.\n")
    locked = root / "terkunci"
    write(locked / "b.txt", "Judul\nIsi.\n")
    locked.chmod(0)
    try:
        result = run(root)
    finally:
        locked.chmod(0o755)
    assert [d.source for d in result.drafts] == [key(good)]
    assert len(result.failures) == 1
    check_failure(result.failures[0], str(locked), "permission")


def test_read_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading can fail even for root (EIO on a bad disk); simulated here."""
    root = tmp_path / "artikel"
    good = write(root / "a.txt", "Judul\nIsi.\n")
    bad = write(root / "b.txt", "Judul\nIsi.\n")
    real: Callable[[Path], bytes] = Path.read_bytes

    def flaky(self: Path) -> bytes:
        if self.name == "b.txt":
            raise OSError(5, "Input/output error", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", flaky)
    result = run(root)
    assert [d.source for d in result.drafts] == [key(good)]
    assert len(result.failures) == 1
    check_failure(result.failures[0], key(bad), "input/output error")


# --- URLs ------------------------------------------------------------------------------------


def test_is_url() -> None:
    assert is_url("http://127.0.0.1/x") and is_url("HTTPS://example.com")
    assert not is_url("/tmp/x.html") and not is_url("file:///tmp/x.html")
    assert not is_url("C:\\berita\\x.txt")


def test_url_html_page(server: str) -> None:
    url = f"{server}/berita/jembatan.html"
    result = run(url)
    d = only_draft(result)
    assert d.url == url and d.source == url
    assert d.title == ARTICLE_TITLE
    assert d.outlet == "Warta Sipil"
    assert PARAGRAPHS[1][:60] in d.text and NAV_MARK not in d.text
    assert url in result.seen
    assert result.prune_roots == []


def test_url_redirect_is_followed(server: str) -> None:
    url = f"{server}/moved"
    d = only_draft(run(url))
    assert d.source == url and d.title == ARTICLE_TITLE


def test_url_plain_text_and_pdf_and_feed(server: str) -> None:
    txt = only_draft(run(f"{server}/catatan.txt"))
    assert txt.title == "Catatan Rapat Warga" and txt.url == f"{server}/catatan.txt"
    pdf = only_draft(run(f"{server}/unduh?id=7"))
    assert pdf.title == "Laporan Harga" and PDF_LINES[0] in pdf.text
    assert pdf.url == f"{server}/unduh?id=7"
    feed = only_draft(run(f"{server}/feed"))
    assert feed.url == "https://wargasipil.com/tol"
    assert feed.source == f"{server}/feed#tol-1"


def test_url_page_without_main_text(server: str) -> None:
    url = f"{server}/menu.html"
    only_failure(run(url), url, "no main text")


@pytest.mark.parametrize(("path", "needle"), [("/tidak-ada", "HTTP 404"), ("/error", "HTTP 500")])
def test_url_http_error(server: str, path: str, needle: str) -> None:
    only_failure(run(server + path), server + path, needle)


def test_url_redirect_loop(server: str) -> None:
    url = f"{server}/loop"
    only_failure(run(url, limits=SourceLimits(max_redirects=3, allow=LOCAL)), url, "redirects")


def test_url_timeout(server: str) -> None:
    url = f"{server}/slow"
    started = time.monotonic()
    result = run(url, limits=SourceLimits(timeout_s=0.5, allow=LOCAL))
    assert time.monotonic() - started < 1.8
    only_failure(result, url, "timed out")


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_url_response_over_size_limit(server: str, path: str) -> None:
    url = server + path
    only_failure(run(url, limits=SourceLimits(max_bytes=1000, allow=LOCAL)), url,
                 "over the limit of 1000")
    whole = SourceLimits(max_bytes=len(BIG_BODY), allow=LOCAL)
    assert only_draft(run(server + "/big", limits=whole)).url


def test_url_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.html"
    only_failure(run(url, limits=SourceLimits(timeout_s=2, allow=LOCAL)), url, "cannot fetch")


# --- small units -----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None),
    ("2024-03-05", "2024-03-05"),
    ("2024-03-05T23:30:00Z", "2024-03-05"),
    ("Tue, 05 Mar 2024 10:00:00 +0700", "2024-03-05"),
    ("5 Maret 2024", "5 Maret 2024"),
])
def test_iso_date(value: str | None, expected: str | None) -> None:
    assert iso_date(value) == expected


def test_folder_documentation_is_not_an_article(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# About this folder\nThese are my news clippings.\n")
    (tmp_path / "story.md").write_text("# Story\nA ferry sank near the harbour.\n")
    found = scan([str(tmp_path)], SourceLimits())
    assert [d.title for d in found.drafts] == ["Story"]
    alone = scan([str(tmp_path / "README.md")], SourceLimits())
    assert [d.title for d in alone.drafts] == ["About this folder"]
