"""`tanya config` and the configuration reference of the docs, both generated from Settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from bot.config import Settings
from bot.config.flat import variables
from index.postgres.urls import mask

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


@dataclass(frozen=True)
class Row:
    """One setting: its variable, effective value, where it came from, and what it does."""

    variable: str
    value: str
    source: str
    default: str
    description: str


def _show(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _default(var: str, field: FieldInfo) -> str:
    if var == "TANYA_HOME":
        return "platform user data dir (e.g. ~/.local/share/tanya)"
    if field.default_factory is not None:
        return _show(field.default_factory())  # type: ignore[call-arg]
    return _show(field.default)


def _value(settings: Settings, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for name in path:
        value = getattr(value, name)
    return value


def rows(settings: Settings, env_file: Path = Path(".env")) -> list[Row]:
    """Every setting with its effective value (secrets masked) and its source."""
    from_file = dotenv_values(env_file) if env_file.is_file() else {}
    out = []
    for var, path, field in variables(Settings):
        source = ("environment" if var in os.environ else
                  ".env" if var in from_file else "default")
        value = _value(settings, path)
        # the database URL is shown, as everywhere, with only its password masked
        shown = (mask(value.get_secret_value()) if var == "TANYA_DATABASE_URL"
                 and isinstance(value, SecretStr) else _show(value))
        out.append(Row(var, shown, source, _default(var, field), field.description or ""))
    return out


def reference_markdown() -> str:
    """The configuration table for docs/configuration.md."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for var, _, field in variables(Settings):
        default = (_default(var, field) or "unset").replace("|", "\\|")
        desc = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{var}` | {default} | {desc} |")
    return "\n".join(lines)


REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def update_reference(page: Path = REFERENCE) -> bool:
    """Rewrite the generated block of docs/configuration.md; True when it changed."""
    text = page.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{reference_markdown()}\n{END}{tail}"
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    changed = update_reference()
    print(f"{REFERENCE.name} updated" if changed else f"{REFERENCE.name} already up to date")
