"""The grouped settings: every default written once, every variable name as it always was."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.config.flat import variables
from bot.pipeline.evidence import EvidenceSettings
from bot.pipeline.settings import AnswerSettings
from index.chunking import ChunkSettings
from index.search import SearchSettings
from index.sources import SourceLimits

# Each setting the pipeline also has, and the pipeline's field for it.
SHARED: list[tuple[str, type[Any], str]] = [
    ("TANYA_CHUNK_WORDS", ChunkSettings, "words"),
    ("TANYA_CHUNK_MAX_WORDS", ChunkSettings, "max_words"),
    ("TANYA_CHUNK_OVERLAP_SENTENCES", ChunkSettings, "overlap_sentences"),
    ("TANYA_MAX_PDF_PAGES", SourceLimits, "max_pdf_pages"),
    ("TANYA_FETCH_TIMEOUT_S", SourceLimits, "timeout_s"),
    ("TANYA_SEARCH_CANDIDATES", SearchSettings, "candidates"),
    ("TANYA_SEARCH_DENSE_WEIGHT", SearchSettings, "dense_weight"),
    ("TANYA_ANSWER_PASSAGES", EvidenceSettings, "passages"),
    ("TANYA_ANSWER_PASSAGE_WORDS", EvidenceSettings, "words_per_passage"),
    ("TANYA_EVIDENCE_MIN_SIMILARITY", EvidenceSettings, "min_similarity"),
    ("TANYA_ANSWER_MAX_TOKENS", AnswerSettings, "max_tokens"),
    ("TANYA_ANSWER_TIMEOUT_S", AnswerSettings, "timeout_s"),
    ("TANYA_CITATION_MIN_SIMILARITY", AnswerSettings, "min_similarity"),
    ("TANYA_ANSWER_SELFCHECK", AnswerSettings, "selfcheck"),
    ("TANYA_ANSWER_RENDER_QUOTES", AnswerSettings, "render_quotes"),
    ("TANYA_ANSWER_MIN_ACCURACY", AnswerSettings, "sure_accuracy"),
]

# Every variable (those of the flat Settings before the groups, commit 792b6b0, and
# TANYA_LLM_BACKEND and TANYA_DATABASE_URL since), a value other than its default, and where
# that value must land.
VARIABLES: list[tuple[str, str, tuple[str, ...], Any]] = [
    ("TANYA_HOME", "/srv/tanya", ("home",), Path("/srv/tanya")),
    ("TANYA_DATABASE_URL", "postgresql://t:pw@db/news", ("database_url",),
     SecretStr("postgresql://t:pw@db/news")),
    ("TANYA_EMBED_MODEL", "some/model", ("embedding", "model"), "some/model"),
    ("TANYA_EMBED_BACKEND", "onnx-int8", ("embedding", "backend"), "onnx-int8"),
    ("TANYA_EMBED_QUERY_PREFIX", "q: ", ("embedding", "query_prefix"), "q: "),
    ("TANYA_EMBED_PASSAGE_PREFIX", "p: ", ("embedding", "passage_prefix"), "p: "),
    ("TANYA_EMBED_BATCH_SIZE", "7", ("embedding", "batch_size"), 7),
    ("TANYA_EMBED_URL", "http://e:1", ("embedding", "url"), "http://e:1"),
    ("TANYA_EMBED_SERVER_KIND", "openai", ("embedding", "server_kind"), "openai"),
    ("TANYA_EMBED_TIMEOUT_S", "9.5", ("embedding", "timeout_s"), 9.5),
    ("TANYA_CHUNK_WORDS", "99", ("chunk", "words"), 99),
    ("TANYA_CHUNK_MAX_WORDS", "199", ("chunk", "max_words"), 199),
    ("TANYA_CHUNK_OVERLAP_SENTENCES", "2", ("chunk", "overlap_sentences"), 2),
    ("TANYA_MAX_SOURCE_MB", "3.5", ("sources", "max_source_mb"), 3.5),
    ("TANYA_MAX_PDF_PAGES", "11", ("sources", "max_pdf_pages"), 11),
    ("TANYA_FETCH_TIMEOUT_S", "4", ("sources", "fetch_timeout_s"), 4.0),
    ("TANYA_FETCH_ALLOW", "10.0.0.0/8, wiki.internal", ("sources", "fetch_allow"),
     ["10.0.0.0/8", "wiki.internal"]),
    ("TANYA_SEARCH_CANDIDATES", "33", ("search", "candidates"), 33),
    ("TANYA_SEARCH_DENSE_WEIGHT", "0.3", ("search", "dense_weight"), 0.3),
    ("TANYA_MODEL", "x.gguf", ("model", "name"), "x.gguf"),
    ("TANYA_LLM_BACKEND", "openai", ("model", "backend"), "openai"),
    ("TANYA_LLM_URL", "http://l:2", ("model", "url"), "http://l:2"),
    ("TANYA_LLM_MODEL", "served-name", ("model", "server_model"), "served-name"),
    ("TANYA_LLM_API_KEY", "key-1", ("model", "api_key"), SecretStr("key-1")),
    ("TANYA_LLM_TIMEOUT_S", "8", ("model", "timeout_s"), 8.0),
    ("TANYA_LLM_THREADS", "3", ("model", "threads"), 3),
    ("TANYA_LLM_CONTEXT", "2048", ("model", "context"), 2048),
    ("TANYA_ANSWER_MAX_TOKENS", "77", ("answer", "max_tokens"), 77),
    ("TANYA_ANSWER_TIMEOUT_S", "66", ("answer", "timeout_s"), 66.0),
    ("TANYA_ANSWER_PASSAGES", "5", ("evidence", "passages"), 5),
    ("TANYA_ANSWER_PASSAGE_WORDS", "44", ("evidence", "words_per_passage"), 44),
    ("TANYA_EVIDENCE_MIN_SIMILARITY", "0.5", ("evidence", "min_similarity"), 0.5),
    ("TANYA_CITATION_MIN_SIMILARITY", "0.6", ("answer", "min_similarity"), 0.6),
    ("TANYA_ANSWER_SELFCHECK", "false", ("answer", "selfcheck"), False),
    ("TANYA_ANSWER_RENDER_QUOTES", "0", ("answer", "render_quotes"), False),
    ("TANYA_ANSWER_MIN_ACCURACY", "0.9", ("answer", "sure_accuracy"), 0.9),
    ("TANYA_ANSWER_CALIBRATION", "/srv/fit.json", ("answer", "calibration"),
     Path("/srv/fit.json")),
    ("TANYA_PROMPTS_DIR", "/srv/prompts", ("prompts_dir",), Path("/srv/prompts")),
    ("TANYA_TELEGRAM_TOKEN", "1:abc", ("telegram", "token"), SecretStr("1:abc")),
    ("TANYA_TELEGRAM_ALLOWED", "11, 22", ("telegram", "allowed"), [11, 22]),
    ("TANYA_TELEGRAM_ADMINS", "11", ("telegram", "admins"), [11]),
    ("TANYA_TELEGRAM_API_URL", "http://t/bot", ("telegram", "api_url"), "http://t/bot"),
    ("TANYA_TELEGRAM_WEBHOOK_URL", "https://h/", ("telegram", "webhook_url"), "https://h/"),
    ("TANYA_TELEGRAM_WEBHOOK_SECRET", "s3cret", ("telegram", "webhook_secret"),
     SecretStr("s3cret")),
    ("TANYA_TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1", ("telegram", "webhook_listen"), "127.0.0.1"),
    ("TANYA_TELEGRAM_WEBHOOK_PORT", "8444", ("telegram", "webhook_port"), 8444),
    ("TANYA_TELEGRAM_QUEUE_SIZE", "9", ("telegram", "queue_size"), 9),
    ("TANYA_TELEGRAM_WORKERS", "4", ("telegram", "workers"), 4),
    ("TANYA_TELEGRAM_CONVERSATION_HOURS", "2", ("telegram", "conversation_hours"), 2.0),
    ("TANYA_TELEGRAM_RATE_PER_MINUTE", "5", ("telegram", "rate_per_minute"), 5),
    ("TANYA_TELEGRAM_STREAM_INTERVAL_S", "0.25", ("telegram", "stream_interval_s"), 0.25),
    ("TANYA_TELEGRAM_SYNC_PATHS", "/a, /b", ("telegram", "sync_paths"), ["/a", "/b"]),
]


def _at(settings: Settings, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for name in path:
        value = getattr(value, name)
    return value


def _default(var: str) -> Any:
    return next(field.default for v, _, field in variables(Settings) if v == var)


@pytest.mark.parametrize(("var", "owner", "name"), SHARED)
def test_a_pipeline_default_is_the_settings_default(var: str, owner: type[Any],
                                                    name: str) -> None:
    pipeline = {f.name: f.default for f in dataclasses.fields(owner)}[name]
    assert _default(var) == pipeline, f"{var} and {owner.__name__}.{name} disagree"


def test_unset_settings_build_the_pipelines_own_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TANYA_EVIDENCE_MIN_SIMILARITY", "TANYA_CITATION_MIN_SIMILARITY"):
        monkeypatch.delenv(var)  # set by conftest for the tests' fake embedder
    settings = Settings(_env_file=None)
    assert _default("TANYA_MAX_SOURCE_MB") * 2**20 == SourceLimits.max_bytes
    assert settings.chunking() == ChunkSettings()
    assert settings.source_limits() == SourceLimits()
    assert settings.searching() == SearchSettings()
    answering = settings.answering()
    assert answering.calibration is not None  # the shipped fit
    assert dataclasses.replace(answering, calibration=None) == AnswerSettings()


def test_every_variable_keeps_its_name_and_lands_in_its_field(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert {var for var, _, _ in variables(Settings)} == {var for var, *_ in VARIABLES}
    for var, raw, _, _ in VARIABLES:
        monkeypatch.setenv(var, raw)
    settings = Settings(_env_file=None)
    for var, _, path, expected in VARIABLES:
        assert _at(settings, path) == expected, var


def test_a_dotenv_file_is_read_by_the_same_names(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TANYA_ANSWER_PASSAGE_WORDS=44\nTANYA_MODEL=x.gguf\n"
                                   "TANYA_EMBED_BATCH_SIZE=8\n")
    monkeypatch.setenv("TANYA_EMBED_BATCH_SIZE", "9")  # the environment wins over .env
    settings = Settings()
    assert (settings.evidence.words_per_passage, settings.model.name) == (44, "x.gguf")
    assert settings.embedding.batch_size == 9
    assert settings.answering().evidence.words_per_passage == 44
    assert Settings(embedding={"batch_size": 3}).embedding.batch_size == 3  # arguments win
