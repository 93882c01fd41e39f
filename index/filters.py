"""Filters on article metadata (publication date, outlet), applied inside retrieval.

Both candidate lists are restricted before ranking: FAISS searches only the allowed chunk ids
and FTS5 matches only their rows, so a filtered search still returns k hits when k exist.
Dates are the articles' ISO publication dates; an article without a date passes a date filter
only when the filter is `soft` (a year read from the question itself, where an undated article
may still be about it), never when the user set the date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from index.errors import FilterError

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine writes what Filters.where needs."""

    mark: str  # a parameter's placeholder
    iso_day: str  # a.published starts with an ISO day
    everything: str  # the condition every row passes
    outlets_as_array: bool  # the outlets as one array parameter (= ANY), not one each (IN)


SQLITE = Dialect("?", "a.published GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'", "1",
                 False)


@dataclass(frozen=True)
class Filters:
    """What a search may return: published in [since, until], by one of the outlets."""

    since: date | None = None
    until: date | None = None
    outlets: tuple[str, ...] = ()
    soft: bool = False  # undated articles pass the date range

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.outlets)

    def where(self, dialect: Dialect | None = None) -> tuple[str, list[Any]]:
        """An SQL condition over the articles table aliased `a`, and its parameters, written
        for `dialect` (SQLite's by default)."""
        d = dialect or SQLITE
        parts: list[str] = []
        params: list[Any] = []
        dated = []
        if self.since:
            dated.append(f"substr(a.published, 1, 10) >= {d.mark}")
            params.append(self.since.isoformat())
        if self.until:
            dated.append(f"substr(a.published, 1, 10) <= {d.mark}")
            params.append(self.until.isoformat())
        if dated:
            cond = f"({d.iso_day} AND {' AND '.join(dated)})"
            if self.soft:
                cond = f"({cond} OR a.published IS NULL OR NOT {d.iso_day})"
            parts.append(cond)
        if self.outlets:
            folded = [o.casefold() for o in self.outlets]
            if d.outlets_as_array:
                parts.append(f"lower(a.outlet) = ANY({d.mark})")
                params.append(folded)
            else:
                parts.append(f"lower(a.outlet) IN ({','.join(d.mark * len(folded))})")
                params += folded
        return " AND ".join(parts) or d.everything, params

    def describe(self) -> str:
        """A short human description, e.g. "since 2023-04-01, outlet Kompas"."""
        out = []
        if self.since:
            out.append(f"since {self.since.isoformat()}")
        if self.until:
            out.append(f"until {self.until.isoformat()}")
        if self.outlets:
            out.append("outlet " + " or ".join(self.outlets))
        return ", ".join(out)


def parse_day(text: str, *, end: bool = False) -> date:
    """YYYY, YYYY-MM or YYYY-MM-DD as a day: the first of the period, or its last with end."""
    m = _PARTIAL.match(text.strip())
    if not m:
        raise FilterError(text, "expected a date as YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(m[1]), m[2], m[3]
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, int(month))[1]
            return date(year, int(month), last if end else 1)
        return date(year, int(month), int(day))
    except ValueError as exc:
        raise FilterError(text, str(exc)) from exc


def build(since: str | None = None, until: str | None = None,
          outlets: tuple[str, ...] | list[str] = ()) -> Filters:
    """Filters from user input; a range that ends before it starts is an error."""
    f = Filters(parse_day(since) if since else None,
                parse_day(until, end=True) if until else None,
                tuple(o.strip() for o in outlets if o.strip()))
    if f.since and f.until and f.since > f.until:
        raise FilterError(f"{since}..{until}", "the range ends before it starts")
    return f
