"""Database URLs as they may be shown: the password masked in every message, log and table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SCHEMES = ("postgresql", "postgres")
MASK = "***"
_DSN_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_QUERY_PASSWORD = re.compile(r"(?i)((?:^|&)password=)([^&]*)")


def is_database_url(value: str) -> bool:
    """True for a postgresql:// (or postgres://) URL."""
    return urlsplit(value.strip()).scheme in SCHEMES


def mask(url: str) -> str:
    """The URL with its password replaced by ***, e.g. postgresql://tanya:***@host/db."""
    if not is_database_url(url):  # a libpq key=value string
        return _DSN_PASSWORD.sub(lambda m: m.group(1) + MASK, url)
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + MASK
        netloc = f"{userinfo}@{hostport}"
    query = _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, parts.query)
    # by hand: urlunsplit drops the `//` of an empty host (a Unix socket in the query)
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def secrets(url: str) -> list[str]:
    """Every form in which the URL's password could appear in a message (raw and decoded)."""
    found: list[str] = []
    if is_database_url(url):
        netloc = urlsplit(url.strip()).netloc
        userinfo = netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
        found += [m.group(2) for m in _QUERY_PASSWORD.finditer(urlsplit(url.strip()).query)]
    else:
        found += [m.group(2).strip("'") for m in _DSN_PASSWORD.finditer(url)]
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(message: str, url: str) -> str:
    """A driver message with the whole URL masked and any trace of the password removed."""
    message = message.replace(url, mask(url))
    for secret in secrets(url):
        message = message.replace(secret, MASK)
    return message


@dataclass(frozen=True, repr=False)
class Database:
    """Where the index lives when it is in PostgreSQL; shown only with the password masked."""

    url: str

    @property
    def masked(self) -> str:
        """The URL as it may be shown."""
        return mask(self.url)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Database({self.masked!r})"
