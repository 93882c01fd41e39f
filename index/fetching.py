"""GET one URL for the index: guarded connections, redirects followed hop by hop, a size cap.

Every connection is made by GuardedBackend, which resolves the name once, checks each address
(index.netguard) and connects to the checked address itself; TLS still verifies the name and
the Host header still carries it. Proxies from the environment are ignored (trust_env=False):
a proxy would connect on tanya's behalf, past the check.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from index.netguard import FetchPolicy, FetchRefused
from index.readers import SourceReadError

USER_AGENT = "tanya/0.1 (+article indexer)"


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        """Resolve once, refuse if any address is forbidden, else connect to the first that
        answers (by its address, so a second lookup cannot change where it goes)."""
        try:
            addresses = self.policy.resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        failed: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address,
                                           socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failed = exc
        raise failed or httpcore.ConnectError(f"{host} has no address")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose every connection is guarded."""

    def __init__(self, policy: FetchPolicy) -> None:
        super().__init__(verify=_tls(), trust_env=False)
        # httpx takes no network backend of its own; its transport sends through the httpcore
        # pool in `_pool` (httpx and httpcore are pinned in constraints.txt; tests/test_fetching.py
        # fails if the guard is bypassed).
        self._pool = httpcore.ConnectionPool(ssl_context=_tls(),
                                             network_backend=GuardedBackend(policy))


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every fetch (loading the CA bundle takes ~30 ms)."""
    return httpx.create_ssl_context(trust_env=False)


def fetch(url: str, policy: FetchPolicy, *, timeout_s: float, max_redirects: int,
          max_bytes: int) -> tuple[bytes, str]:
    """The body and content type of url; SourceReadError (FetchRefused) with one-line reasons."""
    try:
        with httpx.Client(transport=GuardedTransport(policy), timeout=timeout_s,
                          trust_env=False, headers={"User-Agent": USER_AGENT}) as client:
            request = client.build_request("GET", url)
            for _ in range(max_redirects + 1):
                if request.url.scheme not in ("http", "https"):
                    raise FetchRefused(f"refused {request.url}: only http and https are fetched")
                try:
                    response = client.send(request, stream=True)
                except FetchRefused as exc:
                    raise FetchRefused(f"refused {request.url}: {exc}") from None
                try:
                    if response.next_request is None:
                        return _body(response, max_bytes)
                    request = response.next_request
                finally:
                    response.close()
            raise SourceReadError(f"too many redirects (over {max_redirects})")
    except httpx.TimeoutException as exc:
        raise SourceReadError(f"timed out after {timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise SourceReadError(f"cannot fetch: {exc}") from exc


def _body(response: httpx.Response, max_bytes: int) -> tuple[bytes, str]:
    if response.status_code >= 400:
        raise SourceReadError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
    chunks: list[bytes] = []
    total = 0
    for part in response.iter_bytes():
        total += len(part)
        if total > max_bytes:
            raise SourceReadError(f"response over the limit of {max_bytes} bytes "
                                  "(TANYA_MAX_SOURCE_MB)")
        chunks.append(part)
    return b"".join(chunks), response.headers.get("content-type", "").lower()
