"""Which PostgreSQL text search configuration reads an article: its language's, else simple."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# ISO 639 codes (and the old `in` for Indonesian) -> the configuration of that language.
BY_LANGUAGE = {"id": "indonesian", "in": "indonesian", "ind": "indonesian",
               "en": "english", "eng": "english"}
SIMPLE = "simple"


def available(conn: psycopg.Connection[Any]) -> tuple[str, ...]:
    """The configurations of BY_LANGUAGE this server has (indonesian came with PostgreSQL
    12's Snowball stemmers), and simple."""
    wanted = sorted({*BY_LANGUAGE.values(), SIMPLE})
    rows = conn.execute("SELECT cfgname FROM pg_ts_config WHERE cfgname = ANY(%s) "
                        "ORDER BY cfgname", (wanted,)).fetchall()
    return tuple(str(r[0]) for r in rows)


def config_for(language: str | None, have: tuple[str, ...]) -> str:
    """The configuration for an article's language (`id`, `en-US`...), simple when unknown
    or when the server lacks it."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    config = BY_LANGUAGE.get(code, SIMPLE)
    return config if config in have else SIMPLE
