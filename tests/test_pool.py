"""The shared server pool (index.pool): least busy first, failing servers set aside, one error."""

from __future__ import annotations

import threading

import pytest

from index.errors import EmbeddingServerError
from index.pool import Pool


class Server:
    """A stand-in server that answers its name, or fails while `down`."""

    def __init__(self, name: str, down: bool = False) -> None:
        self.name = name
        self.down = down
        self.calls = 0

    def answer(self) -> str:
        """Its name, or the pool's failure."""
        self.calls += 1
        if self.down:
            raise EmbeddingServerError(f"embedding server {self.name}: connection refused")
        return self.name


def test_a_call_goes_to_the_least_busy_server() -> None:
    a, b = Server("a"), Server("b")
    pool = Pool([a, b], EmbeddingServerError, "embedding servers")
    inside, leave = threading.Event(), threading.Event()

    def slow(server: Server) -> str:
        inside.set()
        leave.wait(5)
        return server.answer()

    thread = threading.Thread(target=pool.call, args=(slow,))
    thread.start()
    assert inside.wait(5) and pool.in_flight() == [1, 0]
    assert pool.call(Server.answer) == "b"  # a is busy
    leave.set()
    thread.join(5)
    assert pool.in_flight() == [0, 0]


def test_a_failing_server_is_passed_over_and_set_aside() -> None:
    a, b = Server("a", down=True), Server("b")
    pool = Pool([a, b], EmbeddingServerError, "embedding servers")
    assert pool.call(Server.answer) == "b"
    assert pool.call(Server.answer) == "b"
    assert a.calls == 1, "set aside after failing, it is tried last"


def test_when_all_fail_one_error_names_each() -> None:
    pool = Pool([Server("a", down=True), Server("b", down=True)], EmbeddingServerError,
                "embedding servers")
    with pytest.raises(EmbeddingServerError, match=r"all 2 embedding servers failed: .*a.*b"):
        pool.call(Server.answer)


def test_other_errors_are_not_a_server_failing() -> None:
    a, b = Server("a"), Server("b")
    pool = Pool([a, b], EmbeddingServerError, "embedding servers")

    def wrong(server: Server) -> str:
        raise ValueError("not the server's fault")

    with pytest.raises(ValueError, match="not the server's fault"):
        pool.call(wrong)
    assert pool.in_flight() == [0, 0] and pool.call(Server.answer) == "a", "nothing set aside"


def test_an_empty_pool_is_refused() -> None:
    with pytest.raises(EmbeddingServerError, match="no embedding servers given"):
        Pool([], EmbeddingServerError, "embedding servers")


def test_a_call_on_one_server_counts_and_sets_it_aside_when_it_fails() -> None:
    a, b = Server("a", down=True), Server("b")
    pool = Pool([a, b], EmbeddingServerError, "embedding servers")
    with pytest.raises(EmbeddingServerError, match="a: connection refused"):
        pool.call_on(0, Server.answer)
    assert pool.call_on(1, Server.answer) == "b" and pool.in_flight() == [0, 0]
    assert pool.call(Server.answer) == "b" and a.calls == 1, "a was set aside"
