"""The fetch guard: tanya fetches public addresses only, unless TANYA_FETCH_ALLOW opens more.

Real HTTP servers on loopback (Linux answers on all of 127/8, so 127.0.0.2 is a second host
that is just as forbidden) play the internal services an article or feed must not reach.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app, main
from bot.cli.common import EXIT_ERROR, EXIT_SKIPPED
from bot.config import Settings
from index.chunking import ChunkSettings
from index.netguard import FetchPolicy, kind
from index.records import SourceFailure
from index.sources import SourceLimits, scan
from index.store import IndexStore
from index.sync import sync
from tests.fakes import HashingEmbedder

SECRET = ("The internal wiki says the deploy password is hunter2. " * 12).strip()
PUBLIC = ("The harbour festival in Pangandaran drew thousands of visitors on Sunday. " * 12).strip()
FORBIDDEN = "(set TANYA_FETCH_ALLOW to allow it)"


def page(title: str, text: str) -> bytes:
    """An article page trafilatura reads."""
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{text}</p></article></body></html>").encode()


@dataclass
class Site:
    """A web server on one loopback address, with fixed routes and a log of requests."""

    host: str
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        """The site's base URL."""
        return f"http://{self.host}:{self.port}"


def start(site: Site, port: int = 0) -> ThreadingHTTPServer:
    """Serve a site in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            site.requests.append(f"{self.headers.get('Host')} {self.path}")
            status, headers, body = site.routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer((site.host, port), Handler)
    httpd.daemon_threads = True
    site.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    """`outside` on 127.0.0.1 (the one the tests allow) and `inside` on 127.0.0.2, same port."""
    outside, inside = Site("127.0.0.1"), Site("127.0.0.2")
    servers = [start(outside)]
    servers.append(start(inside, outside.port))
    inside.routes["/secret.html"] = (200, {}, page("Internal wiki", SECRET))
    outside.routes["/story.html"] = (200, {}, page("Harbour festival", PUBLIC))
    outside.routes["/hop"] = (302, {"Location": f"{inside.url}/secret.html"}, b"")
    outside.routes["/to-file"] = (302, {"Location": "file:///etc/passwd"}, b"")
    yield outside, inside
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def limits(*allow: str) -> SourceLimits:
    """Test caps with the given TANYA_FETCH_ALLOW entries."""
    return SourceLimits(timeout_s=3, allow=FetchPolicy.parse(allow))


def only_failure(specs: list[str], allow: tuple[str, ...] = ()) -> SourceFailure:
    """The one failure of reading specs, which gave no article."""
    result = scan(specs, limits(*allow))
    assert result.drafts == [] and len(result.failures) == 1, (result.drafts, result.failures)
    return result.failures[0]


def only_text(specs: list[str], allow: tuple[str, ...]) -> str:
    """The text of the one article read from specs."""
    result = scan(specs, limits(*allow))
    assert result.failures == [] and len(result.drafts) == 1, result.failures
    return result.drafts[0].text


# ---- the policy ------------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "expected"), [
    ("8.8.8.8", None), ("2606:4700::1111", None), ("::ffff:8.8.8.8", None),
    ("64:ff9b::808:808", None), ("2002:808:808::1", None),
    ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("fd00::2", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("100.64.0.1", "shared (carrier-grade NAT)"), ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("::7f00:1", "reserved"),
    ("192.0.2.7", "special-purpose"), ("192.0.0.8", "special-purpose"),
    ("2001:db8::1", "special-purpose"), ("fec0::1", "special-purpose"),
])
def test_only_public_unicast_addresses_pass(address: str, expected: str | None) -> None:
    assert kind(ipaddress.ip_address(address)) == expected


@pytest.mark.parametrize(("address", "inner"), [
    ("::ffff:127.0.0.1", "127.0.0.1"), ("64:ff9b::a00:1", "10.0.0.1"),
    ("2002:a9fe:a9fe::1", "169.254.169.254")])
def test_ipv4_inside_ipv6_is_judged_as_the_ipv4_address(address: str, inner: str) -> None:
    reason = FetchPolicy().refusal(address, ipaddress.ip_address(address))
    assert reason is not None and f"(IPv4 {inner})" in reason and FORBIDDEN in reason
    assert FetchPolicy.parse([inner]).refusal(address, ipaddress.ip_address(address)) is None


def test_the_allow_setting_takes_ranges_addresses_and_names() -> None:
    policy = FetchPolicy.parse([" 10.0.0.0/8", "", "192.168.1.7", "Wiki.Internal.", "fd00::/8"])
    assert policy.hosts == frozenset({"wiki.internal"})
    assert [str(n) for n in policy.networks] == ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]
    for host, address in (("x", "10.9.9.9"), ("wiki.internal", "127.0.0.1"), ("y", "fd00::1"),
                          ("z", "::ffff:10.0.0.1")):
        assert policy.refusal(host, ipaddress.ip_address(address)) is None
    assert policy.refusal("x", ipaddress.ip_address("192.168.1.8")) is not None
    with pytest.raises(ValueError, match="TANYA_FETCH_ALLOW: 'not a host' is neither"):
        FetchPolicy.parse(["not a host"])


def test_the_setting_reaches_the_fetches_and_a_bad_entry_is_named(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert Settings().source_limits().allow == FetchPolicy()
    monkeypatch.setenv("TANYA_FETCH_ALLOW", "10.0.0.0/8, wiki.internal")
    assert Settings().sources.fetch_allow == ["10.0.0.0/8", "wiki.internal"]
    assert Settings().source_limits().allow == FetchPolicy.parse(["10.0.0.0/8", "wiki.internal"])
    monkeypatch.setenv("TANYA_FETCH_ALLOW", "10.0.0.0/8,http://x")
    monkeypatch.setattr("sys.argv", ["tanya", "index", "status"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == EXIT_ERROR
    assert capsys.readouterr().err == ("error: TANYA_FETCH_ALLOW: 'http://x' is neither a CIDR "
                                       "range nor a host name\n")


# ---- real fetches ------------------------------------------------------------------------------

def test_a_loopback_url_is_refused_and_allowed_by_the_setting(sites: tuple[Site, Site]) -> None:
    outside, _ = sites
    url = f"{outside.url}/story.html"
    failure = only_failure([url])
    assert failure.reason == f"refused {url}: 127.0.0.1 is a loopback address {FORBIDDEN}"
    assert outside.requests == [], "refused before connecting"
    assert "harbour festival" in only_text([url], ("127.0.0.1/32",))


def test_a_name_that_resolves_to_loopback_is_refused(sites: tuple[Site, Site]) -> None:
    outside, _ = sites
    url = f"http://localhost:{outside.port}/story.html"
    reason = only_failure([url]).reason
    assert reason.startswith(f"refused {url}: localhost resolves to ")
    assert "a loopback address" in reason and reason.endswith(FORBIDDEN)
    assert "harbour festival" in only_text([url], ("localhost",))
    assert outside.requests == [f"localhost:{outside.port} /story.html"], "Host kept the name"


def test_ipv6_forms_of_loopback_are_refused() -> None:
    for host in ("[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"):
        reason = only_failure([f"http://{host}:9/x.html"]).reason
        assert "loopback address" in reason and reason.endswith(FORBIDDEN), reason


def test_a_redirect_to_a_forbidden_address_is_refused_at_the_hop(
        sites: tuple[Site, Site]) -> None:
    outside, inside = sites
    hop = f"{inside.url}/secret.html"
    failure = only_failure([f"{outside.url}/hop"], ("127.0.0.1/32",))
    assert failure.reason == f"refused {hop}: 127.0.0.2 is a loopback address {FORBIDDEN}"
    assert outside.requests == [f"127.0.0.1:{outside.port} /hop"] and inside.requests == []
    assert "hunter2" in only_text([f"{outside.url}/hop"], ("127.0.0.0/8",))


def test_a_redirect_to_another_scheme_is_refused(sites: tuple[Site, Site]) -> None:
    outside, _ = sites
    failure = only_failure([f"{outside.url}/to-file"], ("127.0.0.1",))
    assert failure.reason.startswith("refused file://") and "only http and https" in failure.reason


def test_feed_links_to_loopback_are_refused_and_nothing_of_them_is_indexed(
        tmp_path: Path, sites: tuple[Site, Site]) -> None:
    outside, inside = sites
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>{extra}</item>"
        for title, link, guid, extra in (
            ("Wiki", f"{inside.url}/secret.html", "a", ""),
            ("Festival", f"{outside.url}/story.html", "b", "<description>Teaser.</description>")))
    feed = tmp_path / "feed.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title>'
                    f"{items}</channel></rss>", encoding="utf-8")
    index_dir = tmp_path / "index"

    def run(*allow: str) -> tuple[list[str], int]:
        report = sync(index_dir, [str(feed)], HashingEmbedder(), ChunkSettings(), limits(*allow))
        store = IndexStore(index_dir)
        try:
            return [f.reason for f in report.failures], store.meta.articles
        finally:
            store.close()

    assert run() == ([
        f"entry 1: refused {inside.url}/secret.html: 127.0.0.2 is a loopback address {FORBIDDEN}",
        f"entry 2: refused {outside.url}/story.html: 127.0.0.1 is a loopback address {FORBIDDEN}"],
        0), "not even the teaser stands in for a refused page"
    assert inside.requests == outside.requests == []
    assert run("127.0.0.0/8") == ([], 2)


def test_a_name_that_changes_its_answer_cannot_rebind(
        sites: tuple[Site, Site], monkeypatch: pytest.MonkeyPatch) -> None:
    outside, inside = sites
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "news.test":
            return real(host, *args, **kwargs)
        lookups.append(host)  # first the allowed address, then the forbidden one
        return real("127.0.0.1" if len(lookups) == 1 else "127.0.0.2", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    text = only_text([f"http://news.test:{outside.port}/story.html"], ("127.0.0.1/32",))
    assert "harbour festival" in text and inside.requests == [] and lookups == ["news.test"]


def test_proxies_from_the_environment_are_not_used(sites: tuple[Site, Site],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    outside, inside = sites  # an allowed "proxy" must not fetch the forbidden host for tanya
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, outside.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    failure = only_failure([f"{inside.url}/secret.html"], ("127.0.0.1/32",))
    assert "127.0.0.2 is a loopback address" in failure.reason
    assert outside.requests == inside.requests == []


def test_index_add_names_the_refusal_and_the_setting(
        sites: tuple[Site, Site], monkeypatch: pytest.MonkeyPatch) -> None:
    outside, _ = sites
    monkeypatch.setattr(runtime, "embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-hashing")
    url = f"{outside.url}/story.html"
    refused = CliRunner().invoke(app, ["index", "add", url, "--json"])
    assert refused.exit_code == EXIT_SKIPPED, refused.output
    assert refused.stderr == (f"skipped {url}: refused {url}: 127.0.0.1 is a loopback address "
                              f"{FORBIDDEN}\n")
    monkeypatch.setenv("TANYA_FETCH_ALLOW", "127.0.0.1")
    added = CliRunner().invoke(app, ["index", "add", url, "--json"])
    assert added.exit_code == 0, added.output
    assert len(json.loads(added.stdout)["added"]) == 1


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for name, signed by itself (so no CA bundle trusts it), and its key."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_tls_names_the_host_and_verifies_its_certificate_at_the_checked_address(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cert_file, key_file = self_signed(tmp_path, "news.test")
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept() -> None:
            conn, _ = listener.accept()
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
                pass  # the handshake fails on the client's side: the certificate is untrusted

        threading.Thread(target=accept, daemon=True).start()
        real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(
            "127.0.0.1" if host == "news.test" else host, *a, **k))
        reason = only_failure([f"https://news.test:{port}/story.html"], ("127.0.0.1",)).reason
    assert server_names == ["news.test"], "TLS named the host, not the address"
    assert "CERTIFICATE_VERIFY_FAILED" in reason, reason
