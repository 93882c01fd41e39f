"""The generation groups of settings: the language model, the evidence and the answer
(bot.config.flat says how each field keeps its TANYA_ name). A default the pipeline also uses
is read from the pipeline's own settings class, so it is written once.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.config.flat import one_of, prefixed
from bot.pipeline.backends import BACKENDS
from bot.pipeline.evidence import EvidenceSettings
from bot.pipeline.settings import AnswerSettings


class ModelGroup(BaseModel):
    """The language model: in process (TANYA_MODEL) or on servers (TANYA_LLM_*)."""

    model_config = prefixed("llm_")

    name: str = Field("qwen2.5-coder-1.5b", validation_alias="model", description=(
        "Language model: a preset (see `tanya models list`), a path to a .gguf file, or "
        "hf:REPO/FILE.gguf (downloaded once; needs internet)."))
    backend: str = Field("auto", description=(
        "How the language model runs: llama-cpp (TANYA_MODEL in this process) or openai (the "
        "servers of TANYA_LLM_URL). auto: openai when TANYA_LLM_URL is set (and a command is "
        "given no --model), else llama-cpp."))
    url: str | None = Field(None, description=(
        "Base URL of an OpenAI-compatible server (llama.cpp server, vLLM, Ollama), or several "
        "separated by commas (each answer goes to the least busy; a failing one is skipped for "
        "30 s); when set, generation runs there instead of in process."))
    server_model: str = Field("default", validation_alias="llm_model",
                              description="Model name sent to the server at TANYA_LLM_URL.")
    api_key: SecretStr | None = Field(None, description="Bearer token for TANYA_LLM_URL.")
    timeout_s: float = Field(120, gt=0, description="Timeout of one server request, seconds.")
    threads: int | None = Field(None, ge=1,
                                description="CPU threads for llama.cpp (default: all cores).")
    context: int = Field(4096, ge=512, description="llama.cpp context window in tokens.")

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        return one_of(value, ["auto", *BACKENDS], "bot.pipeline.backends")


class EvidenceGroup(BaseModel):
    """What counts as evidence; the fields of bot.pipeline.evidence.EvidenceSettings."""

    model_config = prefixed("evidence_")

    passages: int = Field(EvidenceSettings.passages, validation_alias="answer_passages", ge=1,
                          le=10, description="Passages quoted in the prompt.")
    words_per_passage: int = Field(EvidenceSettings.words_per_passage, ge=10,
                                   validation_alias="answer_passage_words",
                                   description="Words kept from each passage.")
    min_similarity: float = Field(EvidenceSettings.min_similarity, ge=-1, le=1, description=(
        "Least question-sentence similarity for a passage to count as evidence; below it (and "
        "with few shared words) the question is refused without a model call. Measured for "
        "multilingual-e5-small; about 0.35 suits MiniLM."))


class AnswerGroup(BaseModel):
    """The draft and its checks (TANYA_ANSWER_*); fields of bot.pipeline.settings.AnswerSettings."""

    model_config = prefixed("answer_")

    max_tokens: int = Field(AnswerSettings.max_tokens, ge=16,
                            description="Longest answer, in tokens.")
    timeout_s: float = Field(AnswerSettings.timeout_s, gt=0, description=(
        "Longest generation; a slower answer is cut and replaced by quoting the evidence."))
    min_similarity: float = Field(AnswerSettings.min_similarity, ge=-1, le=1,
                                  validation_alias="citation_min_similarity", description=(
        "Least claim-passage similarity for a citation to stand. Measured for "
        "multilingual-e5-small; about 0.1 suits MiniLM."))
    selfcheck: bool = Field(AnswerSettings.selfcheck, description=(
        "After the draft, ask the model whether the passages say what it wrote (one token on "
        "the cached conversation); its probability of yes is a signal of the calibrated "
        "decision (pipeline.selfcheck)."))
    render_quotes: bool = Field(AnswerSettings.render_quotes, description=(
        "When a `likely` or `unsure` answer quotes a sentence in another language than the "
        "question, add the model's rendering of it, shown only when it keeps the sentence's "
        "numbers and names and means the same (pipeline.rendering); else 'not translated'."))
    sure_accuracy: float = Field(AnswerSettings.sure_accuracy, ge=0.5, le=0.99,
                                 validation_alias="answer_min_accuracy", description=(
        "How often an answer shown as `sure` must be right: the calibrated probability must "
        "reach the boundary measured for this accuracy on held-out training records; below "
        "it the answer is shown as `likely` (worded as a reading of the articles, its "
        "sentence under it) or `unsure` (no answer, the closest passage), by the fit's own "
        "boundary (docs: Benchmarks, Answers)."))
    calibration: Path | None = Field(None, description=(
        "A file of the fitted certainty (benchmarks/calibrate.py --export FILE); unset means "
        "the shipped bot/pipeline/calibration.json, fitted for qwen2.5-coder-1.5b with "
        "multilingual-e5-small. A file applies only to the model and embedder it names; for "
        "any other the checks decide, and never say `sure` (docs: Benchmarks, Answers)."))
