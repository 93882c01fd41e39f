"""Which addresses a fetched URL may reach: public unicast only, unless the operator opens more.

Names are resolved once here and the checked addresses are the ones connected to (index.fetching),
so a name that answers differently on a second lookup (DNS rebinding) gets nowhere new.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from index.readers import SourceReadError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "TANYA_FETCH_ALLOW"
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
                   r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
_PRIVATE = tuple(ipaddress.ip_network(n) for n in
                 ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
# Special-purpose blocks (IANA registries) that Python 3.11's ipaddress still calls global.
_SPECIAL = tuple(ipaddress.ip_network(n) for n in
                 ("192.0.0.0/24", "192.88.99.0/24", "fec0::/10", "64:ff9b:1::/48"))


class FetchRefused(SourceReadError):
    """A URL that points where tanya does not fetch (a non-public address or scheme)."""


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def kind(address: Address) -> str | None:
    """Why an address is no public unicast one ("loopback", "private", ...), or None."""
    inner = embedded_ipv4(address)
    if inner is not None:  # IPv4 in IPv6 clothing goes where its IPv4 address goes
        return kind(inner)
    checks = (
        ("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
        ("shared (carrier-grade NAT)", address in _SHARED),
        ("private", any(address in n for n in _PRIVATE)),
        ("reserved", address.is_reserved),
        ("special-purpose", address.is_private or not address.is_global
         or any(address in n for n in _SPECIAL)),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class FetchPolicy:
    """The ranges and host names an operator opened beyond the public internet."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> FetchPolicy:
        """CIDR ranges (or single addresses) and host names; ValueError names a bad entry."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = _host_key(entry)
            if not _HOST.match(name):
                raise ValueError(f"{SETTING}: {entry!r} is neither a CIDR range nor a host name")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def refusal(self, host: str, address: Address) -> str | None:
        """Why connecting to address (resolved from host) is refused, or None when allowed."""
        inner = embedded_ipv4(address)
        reason = kind(address)
        if reason is None or self._opened(host, address, inner):
            return None
        shown = f"{address} (IPv4 {inner})" if inner is not None else str(address)
        name = "" if _is_literal(host) else f"{host} resolves to "
        article = "an" if reason[0] in "aeiou" else "a"
        verb = ", " if name else " is "
        return f"{name}{shown}{verb}{article} {reason} address (set {SETTING} to allow it)"

    def _opened(self, host: str, address: Address, inner: Address | None) -> bool:
        if _host_key(host) in self.hosts:
            return True
        return any(a in n for n in self.networks for a in (address, inner)
                   if a is not None and a.version == n.version)

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of host to connect to, every one checked; FetchRefused if any fails."""
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        for text in addresses:
            reason = self.refusal(host, ipaddress.ip_address(text))
            if reason is not None:
                raise FetchRefused(reason)
        return addresses


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(_host_key(host))
    except ValueError:
        return False
    return True
