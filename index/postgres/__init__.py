"""The index in PostgreSQL (TANYA_DATABASE_URL): one database that several bot processes share.

`urls` masks the URL for every message; `connect` opens a connection (one clear line when the
server is down or lacks pgvector) and `migrate` applies the versioned SQL files of
`migrations/` in order under an advisory lock; `store` reads and searches (pgvector HNSW and
ts_rank_cd, the filters of `filtering` inside both queries), `writer` writes one article per
transaction behind an advisory lock, `textsearch` picks an article's text search
configuration. psycopg and pgvector (the `postgres` extra) are imported only when a
database is opened.
"""
