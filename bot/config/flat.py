"""Grouped settings under flat variable names: `embedding.model` is still TANYA_EMBED_MODEL.

Each group's alias generator gives its fields their variable (`TANYA_` + the group's prefix +
the field's name); a field whose variable does not follow the prefix names it in
`validation_alias`. `FlatEnv` reads those variables from the environment or a .env file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

PREFIX = "TANYA_"


def prefixed(prefix: str) -> ConfigDict:
    """A group's config: its variables are `TANYA_<prefix><field>`; fields are set by name."""
    return ConfigDict(alias_generator=lambda name: prefix + name, validate_by_name=True,
                      validate_by_alias=True)


def _group(field: FieldInfo) -> type[BaseModel] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def variables(settings: type[BaseSettings]) -> Iterator[tuple[str, tuple[str, ...], FieldInfo]]:
    """Every setting in order: its variable, its path in the settings (`("embedding",
    "model")`) and its field."""
    for name, field in settings.model_fields.items():
        group = _group(field)
        if group is None:
            yield PREFIX + name.upper(), (name,), field
            continue
        for sub, info in group.model_fields.items():
            alias = info.validation_alias
            assert isinstance(alias, str), f"{group.__name__}.{sub} needs a plain alias"
            yield PREFIX + alias.upper(), (name, sub), info


def variable(settings: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    """The variable of a validation error's location (`("embedding", "batch_size")`)."""
    return next((var for var, path, _ in variables(settings) if loc[:len(path)] == path),
                PREFIX + "_".join(str(part) for part in loc).upper())


def split_commas(value: str | None) -> list[str]:
    """`a, b,c` as ["a", "b", "c"] (empty entries dropped); none for None."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def comma_list(value: object) -> object:
    """A comma-separated string as its list (`split_commas`); other values unchanged."""
    return split_commas(value) if isinstance(value, str) else value


def one_of(value: str, known: list[str], registry: str) -> str:
    """The value when it is one of the known names, else an error that lists them."""
    if value not in known:
        raise ValueError(f"must be one of {', '.join(known)} ({registry})")
    return value


def comma_ids(value: object) -> object:
    """`11, 22;-3` as [11, 22, -3]; other values unchanged."""
    if isinstance(value, str):
        return [int(v) for v in value.replace(";", ",").split(",") if v.strip()]
    return value


CommaList = Annotated[list[str], BeforeValidator(comma_list)]
CommaIds = Annotated[list[int], BeforeValidator(comma_ids)]


class FlatEnv(PydanticBaseSettingsSource):
    """The settings found under their variables in one place: the environment or a .env file
    (the variables read by pydantic-settings' own source for it)."""

    def __init__(self, settings_cls: type[BaseSettings], found: EnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self._vars = found.env_vars  # names lower-cased: variables are not case-sensitive

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """A plain setting's value, or a dict of the group's values found; None when none."""
        group = _group(field)
        if group is None:
            return self._vars.get((PREFIX + field_name).lower()), field_name, False
        found = {path[1]: self._vars[var.lower()]
                 for var, path, _ in variables(self.settings_cls)
                 if path[0] == field_name and var.lower() in self._vars}
        return found or None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                out[key] = value
        return out
