"""Search filters (index.filters.Filters) as a PostgreSQL condition over `articles a`.

Filters.where itself, in PostgreSQL's dialect: a date range passes only articles whose
`published` starts with an ISO day inside it (and, when soft, undated ones too); an outlet is
matched without regard to case.
"""

from __future__ import annotations

from typing import Any

from index.filters import Dialect, Filters

POSTGRES = Dialect("%s", "a.published ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'", "true", True)


def condition(filters: Filters | None) -> tuple[str, list[Any]]:
    """(SQL condition with %s placeholders, its parameters); `true` without filters."""
    return filters.where(POSTGRES) if filters else ("true", [])


def chunk_restriction(filters: Filters | None) -> tuple[str, list[Any]]:
    """A condition on `chunks c` keeping the chunks of articles that pass; '' without filters."""
    cond, params = condition(filters)
    if cond == "true":
        return "", []
    return f"c.article_id IN (SELECT a.id FROM articles a WHERE {cond})", params
