"""PostgreSQL for TANYA_DATABASE_URL: one database that several bot processes share.

`urls` masks the URL for every message; `connect` opens a connection (one clear line when the
server is down or lacks pgvector) and `migrate` applies the versioned SQL files of
`migrations/` in order under an advisory lock; `textsearch` picks the text search
configuration of an article's language. psycopg and pgvector (the `postgres` extra) are
imported only when a database is opened.
"""
