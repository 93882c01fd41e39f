"""Time in the question: a year or a relative period narrows the dated articles, "latest"
puts newer relevant articles first, and a question about the present says "as of" its date.

Relative periods resolve against today, never against an article. Filters read from the
question are soft: an undated article still passes, since it may be about that time, and when
no article of the period is relevant the pipeline searches them all (a 2023 report may tell
what happened in 2018).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from index.filters import Filters

_YEAR = r"((?:19|20)\d{2})"
_IN_YEAR = re.compile(rf"\b(?:in|during|of|tahun|pada|di)\s+(?:tahun\s+)?{_YEAR}\b", re.I)
_SINCE_YEAR = re.compile(rf"\b(?:since|sejak)\s+(?:tahun\s+)?{_YEAR}\b", re.I)
_BEFORE_YEAR = re.compile(rf"\b(?:before|sebelum)\s+(?:tahun\s+)?{_YEAR}\b", re.I)
_AFTER_YEAR = re.compile(rf"\b(?:after|sesudah|setelah)\s+(?:tahun\s+)?{_YEAR}\b", re.I)
_LATEST = re.compile(r"\b(latest|newest|most recent|recently|terbaru|terkini)\b", re.I)
_PRESENT = re.compile(r"\b(now|currently|current|today|these days|still|sekarang|saat ini|"
                      r"kini|hari ini|masih)\b", re.I)
_RELATIVE: dict[str, re.Pattern[str]] = {
    "today": re.compile(r"\b(today|hari ini)\b", re.I),
    "yesterday": re.compile(r"\b(yesterday|kemarin)\b", re.I),
    "this week": re.compile(r"\b(this week|minggu ini|pekan ini)\b", re.I),
    "last week": re.compile(r"\b(last week|minggu lalu|pekan lalu)\b", re.I),
    "this month": re.compile(r"\b(this month|bulan ini)\b", re.I),
    "last month": re.compile(r"\b(last month|bulan lalu)\b", re.I),
    "this year": re.compile(r"\b(this year|tahun ini)\b", re.I),
    "last year": re.compile(r"\b(last year|tahun lalu)\b", re.I),
}


@dataclass(frozen=True)
class TimeIntent:
    """What the question says about time."""

    since: date | None = None
    until: date | None = None
    latest: bool = False
    present: bool = False

    def narrow(self, filters: Filters) -> Filters:
        """The user's filters, plus this period where the user set no dates (soft)."""
        if filters.since or filters.until or not (self.since or self.until):
            return filters
        return replace(filters, since=self.since, until=self.until, soft=True)


def _period(name: str, today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    if name == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if name == "this week":
        return monday, today
    if name == "last week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if name == "this month":
        return first, today
    if name == "last month":
        end = first - timedelta(days=1)
        return end.replace(day=1), end
    if name == "this year":
        return today.replace(month=1, day=1), today
    if name == "last year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return today, today


def read(question: str, today: date) -> TimeIntent:
    """The time intent of a question, relative periods resolved against today."""
    latest = bool(_LATEST.search(question))
    present = latest or bool(_PRESENT.search(question))
    if m := _IN_YEAR.search(question):
        y = int(m[1])
        return TimeIntent(date(y, 1, 1), date(y, 12, 31), latest, present=False)
    since = until = None
    if m := _SINCE_YEAR.search(question):
        since = date(int(m[1]), 1, 1)
    if m := _AFTER_YEAR.search(question):
        since = date(int(m[1]) + 1, 1, 1)
    if m := _BEFORE_YEAR.search(question):
        until = date(int(m[1]) - 1, 12, 31)
    if since or until:
        return TimeIntent(since, until, latest, present=False)
    for name, pattern in _RELATIVE.items():
        if pattern.search(question):
            start, end = _period(name, today)
            return TimeIntent(start, end, latest, present)
    return TimeIntent(latest=latest, present=present)


def newest_first(published: list[str | None]) -> list[int]:
    """Positions ordered by publication date, newest first; undated ones last, order kept."""
    dated = sorted((i for i, p in enumerate(published) if p), key=lambda i: published[i] or "",
                   reverse=True)
    return dated + [i for i, p in enumerate(published) if not p]


def as_of(published: str) -> str:
    """'2023-04-12' -> '12 April 2023' (other text is returned as it is)."""
    try:
        day = date.fromisoformat(published[:10])
    except ValueError:
        return published
    return f"{day.day} {day:%B} {day.year}"
