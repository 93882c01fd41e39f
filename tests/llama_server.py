"""Real llama.cpp model servers on loopback, for the pool tests and benchmarks/load.py.

Each server is `python -m llama_cpp.server` (llama-cpp-python's `server` extra) over the
smollm2-135m preset, optionally pinned to one core with taskset, with one thread.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.pipeline import models

PRESET = "smollm2-135m"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    """One running server process and where its log goes."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def requests(self) -> int:
        """Chat completions the server has been asked for so far (from its access log)."""
        return self.log.read_text(errors="replace").count("POST /v1/chat/completions")

    def rss_mib(self) -> float:
        """Resident memory of the server process (model pages it has touched included)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for server process {self.process.pid}")

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would end it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def _wait_ready(server: LlamaServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {server.log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/v1/models", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"llama_cpp.server at {server.url} not ready in {timeout_s:.0f} s")


@contextlib.contextmanager
def llama_servers(count: int, logs: Path, *, cores: Sequence[int] | None = None,
                  n_ctx: int = 4096, models_dir: Path | None = None,
                  interrupt_requests: bool = False,
                  ready_timeout_s: float = 120.0) -> Iterator[list[LlamaServer]]:
    """Start `count` servers (server i on core cores[i] when given); stop them all at exit.

    interrupt_requests=True keeps llama_cpp.server's default, under which a new request ends
    the running answer early; tanya's deployments turn it off.
    """
    model = models.resolve(PRESET, models_dir or logs / "models")
    logs.mkdir(parents=True, exist_ok=True)
    servers: list[LlamaServer] = []
    try:
        for i in range(count):
            port = free_port()
            command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                       "--model_alias", PRESET, "--host", "127.0.0.1", "--port", str(port),
                       "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", str(n_ctx),
                       "--interrupt_requests", str(interrupt_requests)]
            if cores is not None:
                taskset = shutil.which("taskset")
                if taskset is None:
                    raise RuntimeError("taskset (util-linux) is needed to pin servers to cores")
                command = [taskset, "-c", str(cores[i]), *command]
            log = logs / f"server-{i}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
            servers.append(LlamaServer(process, f"http://127.0.0.1:{port}", log))
        for server in servers:
            _wait_ready(server, ready_timeout_s)
        yield servers
    finally:
        for server in servers:
            server.kill()
