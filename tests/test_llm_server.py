"""OpenAIServerGenerator against a small streaming chat server running in the test."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot import runtime
from bot.errors import GenerationError
from bot.pipeline.llm import OpenAIServerGenerator
from bot.pipeline.pool import ServerPool
from tests.conftest import flat_settings
from tests.fakes import ScriptedGenerator

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
PIECES = ["Hel", "lo", ", wor", "ld."]


def _event(payload: object) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _delta(content: str) -> bytes:
    return _event({"choices": [{"delta": {"content": content}}]})


FINISH = _event({"choices": [{"delta": {}, "finish_reason": "stop"}]})
GOOD_STREAM = [
    _event({"choices": [{"delta": {"role": "assistant"}}]}),  # no content: skipped
    b": keep-alive comment\n\n",
    *(_delta(p) for p in PIECES),
    FINISH,
    b"data: [DONE]\n\n",
]


@dataclass
class Request:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Script:
    """What the server answers; `reply` gets the handler and the request number (from 0)."""

    reply: Callable[[Handler, int], None]
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    """Set at teardown so that slow handlers finish."""


class Server(ThreadingHTTPServer):
    """Handler threads are joined by server_close, so no thread outlives its test."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script = script


class Handler(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: record the request, then play the script."""

    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        script = self.server.script
        script.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                                       json.loads(raw)))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            script.reply(self, len(script.requests) - 1)

    def start_stream(self) -> None:
        """Status line and headers of a server-sent event stream (ended by closing)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()

    def send_events(self, events: list[bytes]) -> None:
        """Write events one by one, flushing after each."""
        for event in events:
            self.wfile.write(event)
            self.wfile.flush()


def good_reply(handler: Handler, n: int) -> None:
    """The well-behaved server."""
    handler.start_stream()
    handler.send_events(GOOD_STREAM)


ServerFactory = Callable[[Callable[[Handler, int], None]], tuple[str, Script]]


@pytest.fixture
def serve() -> Iterator[ServerFactory]:
    """Start servers on 127.0.0.1:<free port>; shut them and their threads down afterwards."""
    running: list[tuple[Server, threading.Thread]] = []

    def start(reply: Callable[[Handler, int], None]) -> tuple[str, Script]:
        script = Script(reply)
        server = Server(script)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        running.append((server, thread))
        host, port = server.server_address[:2]
        return f"http://{host!s}:{port}", script

    yield start
    for server, thread in running:
        server.script.release.set()
        server.shutdown()
        server.server_close()  # joins the handler threads
        thread.join(timeout=5)
        assert not thread.is_alive()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment must not swallow requests to 127.0.0.1."""
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(key, raising=False)


def _run(gen: OpenAIServerGenerator, max_tokens: int = 64) -> str:
    return "".join(gen.stream(MESSAGES, max_tokens))


# ---- the happy path ------------------------------------------------------------------------

def test_streamed_pieces_join_to_the_answer(serve: ServerFactory) -> None:
    url, script = serve(good_reply)
    gen = OpenAIServerGenerator(url, "qwen-test")
    assert list(gen.stream(MESSAGES, 64)) == PIECES
    assert len(script.requests) == 1


def test_request_body(serve: ServerFactory) -> None:
    url, script = serve(good_reply)
    _run(OpenAIServerGenerator(url, "qwen-test"), max_tokens=77)
    (request,) = script.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["content-type"].startswith("application/json")
    assert request.body == {"model": "qwen-test", "messages": MESSAGES, "stream": True,
                            "temperature": 0.0, "max_tokens": 77}


def test_bearer_token_is_sent_when_given(serve: ServerFactory) -> None:
    url, script = serve(good_reply)
    _run(OpenAIServerGenerator(url, "m", api_key="sekret"))
    assert script.requests[0].headers["authorization"] == "Bearer sekret"


def test_no_authorization_header_without_key(serve: ServerFactory) -> None:
    url, script = serve(good_reply)
    _run(OpenAIServerGenerator(url, "m"))
    _run(OpenAIServerGenerator(url, "m", api_key=""))
    assert all("authorization" not in r.headers for r in script.requests)


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_base_url_with_or_without_v1(serve: ServerFactory, suffix: str) -> None:
    url, script = serve(good_reply)
    gen = OpenAIServerGenerator(url + suffix, "m")
    assert _run(gen) == "Hello, world."
    assert script.requests[0].path == "/v1/chat/completions"
    assert gen.name == f"m @ {url}/v1"


def test_pieces_arrive_while_the_server_is_still_writing(serve: ServerFactory) -> None:
    first_seen = threading.Event()
    waited: list[bool] = []

    def reply(handler: Handler, n: int) -> None:
        handler.start_stream()
        handler.send_events([_delta("first ")])
        waited.append(first_seen.wait(timeout=5))  # only continue once the client has it
        handler.send_events([_delta("second"), FINISH, b"data: [DONE]\n\n"])

    url, _ = serve(reply)
    pieces = []
    for piece in OpenAIServerGenerator(url, "m").stream(MESSAGES, 8):
        pieces.append(piece)
        first_seen.set()
    assert pieces == ["first ", "second"]
    assert waited == [True]


def test_text_after_done_is_ignored(serve: ServerFactory) -> None:
    def reply(handler: Handler, n: int) -> None:
        handler.start_stream()
        handler.send_events([_delta("ok"), FINISH, b"data: [DONE]\n\n", _delta("not this")])

    url, _ = serve(reply)
    assert _run(OpenAIServerGenerator(url, "m")) == "ok"


def test_utf8_pieces(serve: ServerFactory) -> None:
    def reply(handler: Handler, n: int) -> None:
        handler.start_stream()
        handler.send_events([_delta("Harga beras naik — "), _delta("5.100 rupiah ✓"),
                             FINISH, b"data: [DONE]\n\n"])

    url, _ = serve(reply)
    assert _run(OpenAIServerGenerator(url, "m")) == "Harga beras naik — 5.100 rupiah ✓"


# ---- failures ------------------------------------------------------------------------------

def test_http_500_names_the_server_and_status(serve: ServerFactory) -> None:
    def reply(handler: Handler, n: int) -> None:
        body = b'{"error": "model not loaded"}'
        handler.send_response(500)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    url, script = serve(reply)
    with pytest.raises(GenerationError) as info:
        _run(OpenAIServerGenerator(url, "m"))
    message = str(info.value)
    assert f"{url}/v1" in message
    assert "500" in message
    assert "model not loaded" in message
    assert len(script.requests) == 1  # an answer from the server is not retried


def test_malformed_event(serve: ServerFactory) -> None:
    def reply(handler: Handler, n: int) -> None:
        handler.start_stream()
        handler.send_events([_delta("Hel"), b"data: {not json\n\n", _delta("lo")])

    url, _ = serve(reply)
    pieces: list[str] = []
    with pytest.raises(GenerationError, match="malformed"):
        pieces.extend(OpenAIServerGenerator(url, "m").stream(MESSAGES, 8))
    assert pieces == ["Hel"]


@pytest.mark.parametrize("payload", [{"error": {"message": "context overflow"}},
                                     {"choices": []}, ["not", "an", "object"]])
def test_events_of_the_wrong_shape(serve: ServerFactory, payload: object) -> None:
    def reply(handler: Handler, n: int) -> None:
        handler.start_stream()
        handler.send_events([_event(payload)])

    url, _ = serve(reply)
    with pytest.raises(GenerationError, match="malformed"):
        _run(OpenAIServerGenerator(url, "m"))


@pytest.mark.parametrize("end", [[b"data: [DONE]\n\n"], []], ids=["done", "eof"])
def test_an_answer_cut_short_without_a_finish_reason_is_an_error(
        serve: ServerFactory, end: list[bytes]) -> None:
    """What llama_cpp.server sends when a new request interrupts a running answer."""
    def reply(handler: Handler, n: int) -> None:
        handler.start_stream()
        handler.send_events([_delta("Musk left "), _delta("because"), *end])

    url, _ = serve(reply)
    pieces: list[str] = []
    with pytest.raises(GenerationError, match="before finishing"):
        pieces.extend(OpenAIServerGenerator(url, "m").stream(MESSAGES, 8))
    assert pieces == ["Musk left ", "because"]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_server_down_is_unreachable_after_bounded_retries() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    gen = OpenAIServerGenerator(url, "m", timeout_s=2.0, retries=1)
    started = time.monotonic()
    with pytest.raises(GenerationError, match="unreachable") as info:
        _run(gen)
    elapsed = time.monotonic() - started
    assert f"{url}/v1" in str(info.value)
    assert 0.5 <= elapsed < 4.0  # one back-off of 0.5 s between the two tries


def test_server_down_with_default_retries_still_returns_quickly() -> None:
    gen = OpenAIServerGenerator(f"http://127.0.0.1:{_closed_port()}", "m")
    started = time.monotonic()
    with pytest.raises(GenerationError, match="unreachable"):
        _run(gen)
    assert time.monotonic() - started < 5.0


def test_slow_server_times_out(serve: ServerFactory) -> None:
    def reply(handler: Handler, n: int) -> None:
        handler.server.script.release.wait(timeout=10)  # never answers in time
        handler.start_stream()
        handler.send_events(GOOD_STREAM)

    url, script = serve(reply)
    gen = OpenAIServerGenerator(url, "m", timeout_s=0.5, retries=1)
    started = time.monotonic()
    with pytest.raises(GenerationError, match="Timeout") as info:
        _run(gen)
    elapsed = time.monotonic() - started
    assert f"{url}/v1" in str(info.value)
    assert elapsed < 4.0
    assert len(script.requests) == 2  # retried once before anything was streamed


def test_stall_after_the_first_piece_is_not_retried(serve: ServerFactory) -> None:
    def reply(handler: Handler, n: int) -> None:
        handler.start_stream()
        handler.send_events([_delta("partial")])
        handler.server.script.release.wait(timeout=10)

    url, script = serve(reply)
    pieces: list[str] = []
    started = time.monotonic()
    with pytest.raises(GenerationError, match="Timeout"):
        pieces.extend(OpenAIServerGenerator(url, "m", timeout_s=0.5, retries=2).stream(
            MESSAGES, 8))
    assert time.monotonic() - started < 3.0
    assert pieces == ["partial"]  # the answer cannot be restarted once the user saw text
    assert len(script.requests) == 1


def test_dropped_connection_is_retried(serve: ServerFactory) -> None:
    def reply(handler: Handler, n: int) -> None:
        if n == 0:  # close without any response
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        good_reply(handler, n)

    url, script = serve(reply)
    assert _run(OpenAIServerGenerator(url, "m", retries=1)) == "Hello, world."
    assert len(script.requests) == 2


# ---- a pool of servers (TANYA_LLM_URL=url1,url2) ---------------------------------------------

class Broken:
    """A generator that fails, before its first token or after a few."""

    def __init__(self, after: int = 0) -> None:
        self.after = after
        self.calls = 0

    @property
    def name(self) -> str:
        """Model identity."""
        return "broken"

    def stream(self, messages: list[dict[str, str]], max_tokens: int,
               **_: object) -> Iterator[str]:
        """Yield `after` pieces, then fail."""
        self.calls += 1
        yield from ["half "] * self.after
        raise GenerationError("model server http://x/v1 is unreachable (ConnectError)")


def test_pool_sends_each_answer_to_the_least_busy_server() -> None:
    a, b = ScriptedGenerator("one two three", name="a"), ScriptedGenerator("four five", name="b")
    pool = ServerPool([a, b])
    first = pool.stream(MESSAGES, 8)
    assert next(first) == "one "  # a is now busy with an answer
    assert pool.in_flight() == [1, 0]
    assert "".join(pool.stream(MESSAGES, 8)) == "four five"  # so b takes the next one
    assert "".join(first) == "two three" and pool.in_flight() == [0, 0]


def test_pool_skips_a_failing_server_and_sets_it_aside() -> None:
    broken, good = Broken(), ScriptedGenerator("ok", "ok again")
    pool = ServerPool([broken, good])
    assert "".join(pool.stream(MESSAGES, 8)) == "ok"
    assert "".join(pool.stream(MESSAGES, 8)) == "ok again"
    assert broken.calls == 1, "set aside after failing, the broken server is not tried again"


def test_pool_never_mixes_two_servers_text_and_fails_clearly() -> None:
    pool = ServerPool([Broken(after=2), ScriptedGenerator("whole answer")])
    with pytest.raises(GenerationError, match="after part of the answer"):
        "".join(pool.stream(MESSAGES, 8))
    with pytest.raises(GenerationError, match="all 2 model servers failed"):
        "".join(ServerPool([Broken(), Broken()]).stream(MESSAGES, 8))


def test_pool_over_http_goes_around_a_server_that_refuses(serve: ServerFactory) -> None:
    url, script = serve(good_reply)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings = flat_settings(llm_url=f"{dead}, {url}", llm_model="qwen-test")
    gen = runtime.generator(settings)
    assert isinstance(gen, ServerPool)
    started = time.perf_counter()
    assert "".join(gen.stream(MESSAGES, 64)) == "".join(PIECES)
    assert "".join(gen.stream(MESSAGES, 64)) == "".join(PIECES)
    assert len(script.requests) == 2 and time.perf_counter() - started < 5
