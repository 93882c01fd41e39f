"""Draw docs/img/telegram-answer.png: one answer exactly as the bot sends it, in a chat bubble.

The answer is the one of README.md's "What it looks like" (the dated corpus in
tests/data/dated/, the default model, a `likely` answer), built by hand from that transcript;
its wording, its Telegram HTML and its buttons come from the bot's own code
(bot.pipeline.wording, bot.telegram.render, bot.telegram.app). The page around it is a plain
imitation of a Telegram chat; headless Chromium (Debian: `apt-get install chromium`) takes the
picture. Run:

    .venv/bin/python -m scripts.telegram_screenshot [--out docs/img/telegram-answer.png]
"""

from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.pipeline import when, wording
from bot.pipeline.answer import Answer
from bot.pipeline.citations import Citation
from bot.pipeline.evidence import Evidence, Sentence
from bot.telegram import render as tr
from bot.telegram.app import answer_buttons
from index.records import Hit

OUT = Path("docs/img/telegram-answer.png")
WIDTH, HEIGHT = 560, 1000  # the window; the picture is cropped to the chat below
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
QUESTION = "What is the latest rice harvest per hectare in Sukamulya?"
SENTENCE = ("Farmers in Sukamulya harvested 6.2 tonnes of rice per hectare this season, up from "
            "5.4 tonnes last year, the village head said on Wednesday.")
PASSAGE = (f"{SENTENCE} New irrigation channels built in 2022 let farmers plant twice a year. "
           "The harvest is expected to keep local rice prices stable until June.")


def _hit(chunk_id: int, article_id: str, title: str, outlet: str, url: str) -> Hit:
    return Hit(chunk_id, article_id, title, PASSAGE, 0, len(PASSAGE), 0.9, url, "2023-03-01",
               outlet, 1, 1)


def fixed_answer() -> Answer:
    """The README's answer: `likely`, one source, the same wire story in a second outlet."""
    first = _hit(1, "wire-rice-harian-timur", "Sukamulya rice harvest beats last year's",
                 "Harian Timur", "https://harian-timur.example.id/sukamulya-rice")
    second = _hit(2, "wire-rice-kabar-nusantara", "Rice harvest in Sukamulya beats last year's",
                  "Kabar Nusantara", "https://kabar-nusantara.example.id/rice-sukamulya")
    best = Sentence(0, len(SENTENCE), SENTENCE, 0.9)
    evidence = Evidence(1, first, (best,), best, 0.9, 1.0, also=(second,))
    cite = Citation(1, first.article_id, first.title, first.url, first.published, first.outlet,
                    SENTENCE, 0, len(SENTENCE), also=(second,))
    draft = "The latest rice harvest per hectare in Sukamulya is 6.2 tonnes [1]."
    stated = f"{draft} (as of {when.as_of('2023-03-01')})"
    text = wording.compose(QUESTION, "likely", stated, (cite,))
    return Answer(QUESTION, QUESTION, text, "likely", (cite,), (evidence,), (), draft,
                  "qwen2.5-coder-1.5b", {}, confidence=0.71, stated=stated)


STYLE = """
body { margin: 0; background: #dfe6d3; font: 15px/1.35 "DejaVu Sans", sans-serif; }
.chat { width: 520px; padding: 16px 20px; box-sizing: border-box; }
.row { display: flex; margin: 0 0 10px; }
.row.me { justify-content: flex-end; }
.bubble { max-width: 440px; padding: 7px 11px 8px; border-radius: 14px; color: #000;
          white-space: pre-wrap; overflow-wrap: anywhere; box-shadow: 0 1px 1px #0002; }
.me .bubble { background: #e3fdd0; border-bottom-right-radius: 4px; }
.bot .bubble { background: #fff; border-bottom-left-radius: 4px; }
.name { display: block; color: #3a8dd8; font-weight: bold; font-size: 14px; }
.bubble a { color: #168acd; text-decoration: none; }
.bubble blockquote { margin: 4px 0; padding: 2px 8px; border-left: 3px solid #3a8dd8;
                     background: #e8f2fb; border-radius: 4px; }
.buttons { display: flex; gap: 4px; width: 462px; margin: -6px 0 10px; }
.buttons span { flex: 1; text-align: center; padding: 8px; border-radius: 8px; color: #fff;
                background: #5d7a5380; font-size: 14px; font-weight: bold; }
"""


def page(answer: Answer) -> str:
    """The chat page: the question, then every message the bot sends for `answer` (its real
    Telegram HTML) and the buttons under the last one."""
    messages = tr.pack(tr.answer_blocks(answer))
    markup = answer_buttons("1") if answer.evidence else None
    rows = [f'<div class="row me"><div class="bubble">{html.escape(answer.question)}</div>'
            "</div>"]
    rows += [f'<div class="row bot"><div class="bubble"><span class="name">tanya</span>'
             f"{message}</div></div>" for message in messages]
    if markup is not None:
        for line in markup.inline_keyboard:
            rows.append('<div class="buttons">' + "".join(
                f"<span>{html.escape(b.text)}</span>" for b in line) + "</div>")
    return ('<!doctype html><html><head><meta charset="utf-8"><style>' + STYLE
            + '</style></head><body><div class="chat">' + "".join(rows) + "</div></body></html>")


def browser() -> str:
    """The Chromium to run; exits with one line when there is none."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    sys.exit("telegram_screenshot: chromium not found; install it (apt-get install -y chromium)")


def screenshot(markup: str, out: Path) -> None:
    """Render `markup` in headless Chromium to `out`, cropped to the chat."""
    exe = browser()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "answer.html"
        source.write_text(markup, encoding="utf-8")
        shot = Path(tmp) / "shot.png"
        run = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp}/profile", f"--window-size={WIDTH},{HEIGHT}",
             f"--screenshot={shot}", source.as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
        if not shot.is_file():
            sys.exit(f"telegram_screenshot: chromium wrote no picture (exit {run.returncode}): "
                     + " ".join(run.stderr.split())[-300:])
        _crop(shot, out)


def _crop(shot: Path, out: Path) -> None:
    """Cut the empty background under and right of the chat."""
    from PIL import Image, ImageChops

    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        background = Image.new("RGB", rgb.size, rgb.getpixel((rgb.width - 1, rgb.height - 1)))
        box = ImageChops.difference(rgb, background).getbbox()
        if box is not None:
            rgb = rgb.crop((0, 0, min(rgb.width, box[2] + 20), min(rgb.height, box[3] + 16)))
        rgb.save(out, optimize=True)


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--html", type=Path, help="also write the page itself here")
    args = ap.parse_args()
    markup = page(fixed_answer())
    if args.html:
        args.html.write_text(markup, encoding="utf-8")
    screenshot(markup, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
