"""Prompt templates from prompts/*.txt ($placeholders), checked once at start-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from bot.errors import PromptTemplateError
from bot.pipeline import lexical
from bot.pipeline.evidence import Evidence

REQUIRED: dict[str, set[str]] = {
    "answer_system": {"refusal"},
    "answer_user": {"passages", "question", "language"},
    "answer_check": set(),
    "rewrite": {"history", "question"},
    "translate": {"language", "text"},
}


@dataclass(frozen=True)
class Prompts:
    """The loaded, validated templates."""

    answer_system: Template
    answer_user: Template
    answer_check: Template
    rewrite: Template
    translate: Template


def default_dir() -> Path:
    """prompts/ at the top of the checkout, beside the packages."""
    return Path(__file__).resolve().parents[2] / "prompts"


def load(folder: Path | None = None) -> Prompts:
    """Read every template and check it has exactly the placeholders the code fills in."""
    folder = folder or default_dir()
    loaded: dict[str, Template] = {}
    for name, wanted in REQUIRED.items():
        path = folder / f"{name}.txt"
        try:
            template = Template(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PromptTemplateError(f"prompt template {path}: {exc.strerror or exc}") from exc
        if not template.is_valid():
            raise PromptTemplateError(f"prompt template {path}: a '$' is not a valid placeholder "
                                      "(write $$ for a literal dollar sign)")
        found = set(template.get_identifiers())
        if found != wanted:
            missing, extra = sorted(wanted - found), sorted(found - wanted)
            raise PromptTemplateError(f"prompt template {path}: missing {missing}, unknown {extra}")
        loaded[name] = template
    return Prompts(**loaded)


def passages(evidence: Sequence[Evidence]) -> str:
    """The numbered passages as the prompts show them (title, then the trimmed text)."""
    return "\n\n".join(
        f"[{e.n}] {lexical.quoted(e.hit.title)}: {lexical.quoted(e.text)}" if e.hit.title else
        f"[{e.n}] {lexical.quoted(e.text)}" for e in evidence)
