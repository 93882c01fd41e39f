"""Search filters (index.filters.Filters) as a PostgreSQL condition over `articles a`.

The same rules as the SQLite condition of Filters.where: a date range passes only articles
whose `published` starts with an ISO day inside it (and, when soft, undated ones too); an
outlet is matched without regard to case.
"""

from __future__ import annotations

from typing import Any

from index.filters import Filters

ISO_DAY = "a.published ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'"


def condition(filters: Filters | None) -> tuple[str, list[Any]]:
    """(SQL condition with %s placeholders, its parameters); `true` without filters."""
    if not filters:
        return "true", []
    parts: list[str] = []
    params: list[Any] = []
    dated = []
    if filters.since:
        dated.append("substr(a.published, 1, 10) >= %s")
        params.append(filters.since.isoformat())
    if filters.until:
        dated.append("substr(a.published, 1, 10) <= %s")
        params.append(filters.until.isoformat())
    if dated:
        cond = f"({ISO_DAY} AND {' AND '.join(dated)})"
        if filters.soft:
            cond = f"({cond} OR a.published IS NULL OR NOT {ISO_DAY})"
        parts.append(cond)
    if filters.outlets:
        parts.append("lower(a.outlet) = ANY(%s)")
        params.append([o.casefold() for o in filters.outlets])
    return " AND ".join(parts) or "true", params


def chunk_restriction(filters: Filters | None) -> tuple[str, list[Any]]:
    """A condition on `chunks c` keeping the chunks of articles that pass; '' without filters."""
    cond, params = condition(filters)
    if cond == "true":
        return "", []
    return f"c.article_id IN (SELECT a.id FROM articles a WHERE {cond})", params
