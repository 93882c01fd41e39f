"""The house rules of the code: imports run one way, rooms stay small and plainly named.

Front ends (cli, telegram) -> engine/runtime/config -> pipeline -> index; evaluation ->
pipeline -> index. Imports are read with `ast`, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# Which layers each layer may import (its own always).
ALLOWED: dict[str, set[str]] = {
    "index": set(),
    "errors": set(),
    "pipeline": {"errors", "index"},
    "evaluation": {"pipeline", "errors", "index"},
    "core": {"pipeline", "errors", "index"},
    "telegram": {"core", "pipeline", "errors", "index"},
    "cli": {"telegram", "evaluation", "core", "pipeline", "errors", "index"},
}
CORE = {"bot.config", "bot.runtime", "bot.engine"}
PACKAGES = ("index", "bot")
MAX_LINES = 300
MAX_TOP_ENTRIES = 10


def layer(module: str) -> str | None:
    """The layer of a dotted module name of ours (None for outside libraries and `bot`)."""
    parts = module.split(".")
    if parts[0] == "index":
        return "index"
    if parts[0] != "bot" or len(parts) == 1:
        return None
    if ".".join(parts[:2]) in CORE:
        return "core"
    return parts[1] if parts[1] in ALLOWED else None


def module_name(path: Path, root: Path) -> str:
    """Dotted name of a source file under root (a package's __init__ is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, root: Path) -> set[str]:
    """Every module of ours a source imports; `from bot import x` counts as bot.x if x is one."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:
                sub = Path(root, *node.module.split("."), alias.name)
                if sub.with_suffix(".py").is_file() or (sub / "__init__.py").is_file():
                    found.add(f"{node.module}.{alias.name}")
    return {m for m in found if m.split(".")[0] in PACKAGES}


def violations(module: str, source: str, root: Path) -> list[str]:
    """The imports of one module that break the direction rules."""
    own = layer(module)
    if own is None:
        return []
    out = []
    for target in sorted(imported(source, root)):
        theirs = layer(target)
        if theirs is not None and theirs != own and theirs not in ALLOWED[own]:
            out.append(f"{module} ({own}) imports {target} ({theirs})")
    return out


def sources(root: Path) -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (root / pkg).rglob("*.py"))


def test_imports_run_one_way() -> None:
    broken = [v for p in sources(REPO)
              for v in violations(module_name(p, REPO), p.read_text(encoding="utf-8"), REPO)]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(("module", "source"), [
    ("index.search", "from bot.pipeline import answer"),
    ("bot.pipeline.answer", "def f():\n    from bot.cli import render"),
    ("bot.pipeline.evidence", "from bot import config"),
    ("bot.evaluation.runner", "import bot.telegram.app"),
    ("bot.telegram.app", "from bot.cli.common import guard"),
    ("bot.engine", "from bot import telegram"),
])
def test_a_wrong_way_import_is_caught(module: str, source: str) -> None:
    assert violations(module, source, REPO)


def test_every_module_is_small() -> None:
    big = [f"{p.relative_to(REPO)}: {n} lines" for p in sources(REPO)
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not big, big


def test_module_names_carry_no_other_modules_name_as_a_prefix() -> None:
    for folder in {p.parent for p in sources(REPO)}:
        names = {p.stem for p in folder.iterdir()
                 if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
        clashes = [f"{folder.name}/{a} after {b}" for a in names for b in names
                   if a != b and a.startswith(b + "_")]
        assert not clashes, clashes


def test_bot_opens_on_a_few_rooms() -> None:
    entries = [p.name for p in (REPO / "bot").iterdir()
               if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())]
    assert len(entries) <= MAX_TOP_ENTRIES, sorted(entries)


def test_every_package_says_what_lives_there() -> None:
    for init in (p for p in sources(REPO) if p.name == "__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 60, f"{init.relative_to(REPO)} needs a docstring"
