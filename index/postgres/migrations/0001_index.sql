-- 0001: the article index (read by index/postgres/store.py, written by index/postgres/writer.py).
-- The vector column gets its dimension, and its HNSW index, from the first writer: the
-- dimension is the embedder's, not known here.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE index_meta(
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    format_version integer NOT NULL,
    embed_model text NOT NULL,
    dim integer NOT NULL,
    chunking text NOT NULL,
    created text NOT NULL,
    last_sync text,
    probes jsonb,
    served_model text);

CREATE TABLE articles(
    id text PRIMARY KEY,
    title text NOT NULL,
    text text NOT NULL,
    source text NOT NULL UNIQUE,
    url text,
    published text,
    outlet text,
    language text,
    content_hash text NOT NULL,
    added text NOT NULL,
    updated text NOT NULL);
CREATE INDEX articles_hash ON articles(content_hash);
CREATE INDEX articles_outlet ON articles(lower(outlet));
CREATE INDEX articles_published ON articles(published);

-- tsconfig: the text search configuration of the article's language (indonesian, english,
-- simple), kept as text (a regconfig column would block pg_upgrade).
CREATE TABLE chunks(
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id text NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    embedding vector NOT NULL,
    tsconfig text NOT NULL,
    tsv tsvector NOT NULL);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE INDEX chunks_tsv ON chunks USING gin(tsv);
