"""The docs stay readable: README.md is a short guide, and every page the site's nav names
exists (the build itself, `mkdocs build --strict`, runs in .ci/run)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

README_MAX_LINES = 250
# A nav entry of mkdocs.yml: "- Title: page.md" (nested sections are entries without a page).
NAV_PAGE = re.compile(r"^\s*-\s+[^:#]+:\s*(\S+\.md)\s*$")


def nav_pages() -> list[str]:
    """The pages listed under `nav:` in mkdocs.yml, in order."""
    lines = (REPO / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("nav:")
    pages = []
    for line in lines[start + 1:]:
        if line and not line.startswith(" "):
            break  # the next top-level key
        found = NAV_PAGE.match(line)
        if found:
            pages.append(found.group(1))
    return pages


def test_readme_is_a_short_guide() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; move detail into docs/ (at most {README_MAX_LINES})")


def test_every_page_in_the_nav_exists() -> None:
    pages = nav_pages()
    assert "index.md" in pages and "configuration.md" in pages, pages
    missing = [p for p in pages if not (REPO / "docs" / p).is_file()]
    assert not missing, f"mkdocs.yml names pages that docs/ lacks: {missing}"


def test_every_page_in_docs_is_in_the_nav() -> None:
    listed = set(nav_pages())
    pages = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    assert pages <= listed, f"pages no one can reach from the nav: {sorted(pages - listed)}"


def test_the_readme_links_into_docs_resolve() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]*)?\)", readme)
    assert any(t.startswith("docs/") for t in targets)
    missing = [t for t in targets if not (REPO / t).is_file()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


# The pictures of the docs and the pages that show them (each drawn by a committed script:
# benchmarks/calibrate.py --png, scripts/telegram_screenshot.py).
PICTURES = {"img/certainty-bands.png": "benchmarks.md", "img/telegram-answer.png": "telegram.md"}


def test_the_pictures_exist_and_their_pages_show_them() -> None:
    for picture, page in PICTURES.items():
        data = (REPO / "docs" / picture).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000, picture
        text = (REPO / "docs" / page).read_text(encoding="utf-8")
        assert f"]({picture})" in text, f"docs/{page} does not show {picture}"


def test_the_screenshot_page_holds_the_bots_own_answer_html() -> None:
    from bot.telegram import render as tr
    from bot.telegram.app import answer_buttons
    from scripts import telegram_screenshot as shot

    answer = shot.fixed_answer()
    page = shot.page(answer)
    messages = tr.pack(tr.answer_blocks(answer))
    assert messages and all(m in page for m in messages)
    assert answer.certainty == "likely" and answer.text.startswith("The articles suggest: ")
    assert "<blockquote>The sentence it rests on, [1]: “Farmers in Sukamulya" in page
    assert '<a href="https://kabar-nusantara.example.id/rice-sukamulya">' in page
    assert all(f"<span>{b.text}</span>" in page
               for line in answer_buttons("1").inline_keyboard for b in line)


def test_the_screenshot_script_says_in_one_line_when_chromium_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scripts import telegram_screenshot as shot

    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(SystemExit) as stop:
        shot.browser()
    assert "chromium not found" in str(stop.value) and "\n" not in str(stop.value)
