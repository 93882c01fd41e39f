"""The PostgreSQL foundation against a real server: connecting, masked URLs, migrations."""

from __future__ import annotations

import threading

import pytest

from index.errors import DatabaseError
from index.postgres import migrate, textsearch
from index.postgres.connect import connect, open_database
from index.postgres.urls import Database, mask, scrub
from tests.pg import TestServer


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://tanya:s3cret@db.example:5433/news", "postgresql://tanya:***@db.example:5433/news"),
    ("postgres://tanya@db/news", "postgres://tanya@db/news"),
    ("postgresql://tanya:p%40ss@db/news?sslmode=require",
     "postgresql://tanya:***@db/news?sslmode=require"),
    ("postgresql:///news?host=/run/pg&password=s3cret", "postgresql:///news?host=/run/pg&password=***"),
    ("host=db dbname=news password='s3 cret'", "host=db dbname=news password=***"),
])
def test_the_password_is_masked(url: str, shown: str) -> None:
    assert mask(url) == shown
    assert repr(Database(url)) == f"Database({shown!r})" and str(Database(url)) == shown


def test_a_driver_message_is_scrubbed_of_the_password_in_every_spelling() -> None:
    url = "postgresql://tanya:p%40ss@db/news"
    assert "p@ss" not in scrub("password p@ss and p%40ss rejected", url)
    assert "p%40ss" not in scrub(f"bad {url}", url)


def test_a_server_that_is_down_is_one_line_with_the_masked_url() -> None:
    url = "postgresql://tanya:s3cret@127.0.0.1:1/news"
    with pytest.raises(DatabaseError) as caught:
        connect(url)
    message = str(caught.value)
    assert "\n" not in message and "s3cret" not in message
    assert message.startswith("cannot connect to PostgreSQL at postgresql://tanya:***@127.0.0.1:1/news")


def test_a_refusal_by_a_real_server_keeps_the_password_out(pg_server: TestServer) -> None:
    url = pg_server.url("no_such_database").replace("postgres:@", "postgres:hunter2@")
    with pytest.raises(DatabaseError) as caught:
        open_database(url)
    message = str(caught.value)
    assert "hunter2" not in message and "postgres:***@" in message
    assert "no_such_database" in message and "\n" not in message


def test_a_server_without_pgvector_is_named(pg_server: TestServer) -> None:
    url = pg_server.database(without_pgvector=True)
    try:
        with pytest.raises(DatabaseError, match="no pgvector extension"):
            open_database(url)
    finally:
        pg_server.drop(url)


def test_migrations_apply_once_in_order(pg_url: str) -> None:
    versions = [m.version for m in migrate.migrations()]
    assert versions[0] == 1 and versions == sorted(versions)
    conn = connect(pg_url)
    try:
        assert migrate.migrate(conn, mask(pg_url)) == versions
        assert migrate.migrate(conn, mask(pg_url)) == []
        rows = conn.execute("SELECT version, name FROM schema_version ORDER BY 1").fetchall()
        assert rows[0] == (1, "index")
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'"
                            ).fetchone() is not None
    finally:
        conn.close()


def test_processes_starting_at_once_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_database(pg_url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    conn = connect(pg_url)
    try:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (
            len(migrate.migrations()),)
    finally:
        conn.close()


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    open_database(pg_url).close()
    conn = connect(pg_url)
    try:
        conn.execute("INSERT INTO schema_version(version, name) VALUES (9999, 'future')")
    finally:
        conn.close()
    with pytest.raises(DatabaseError, match="schema version 9999"):
        open_database(pg_url)


def test_the_server_has_the_indonesian_text_search_configuration(pg_url: str) -> None:
    conn = open_database(pg_url)
    try:
        have = textsearch.available(conn)
    finally:
        conn.close()
    assert have == ("english", "indonesian", "simple")
    assert textsearch.config_for("id", have) == "indonesian"
    assert textsearch.config_for("en-US", have) == "english"
    assert textsearch.config_for("fr", have) == "simple"
    assert textsearch.config_for(None, ("simple",)) == "simple"
