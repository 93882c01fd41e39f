"""Print the candidate passages of the why/how dev set (see README.md, "Selection").

Run from the repository root: python3 benchmarks/dev_why/select_passages.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
MARKERS = re.compile(
    r"\b(karena|akibat|disebabkan|sebab|sehingga|oleh karena itu|menyebabkan|dengan cara|agar"
    r"|setelah|untuk (me|mem|men|meng|meny|ber|di)\w+)\b",
    re.IGNORECASE,
)
SETS = ("facqa", "idk-mrc", "tydiqa-id")
WANTED = 40  # about this many candidates per set: k = matches // WANTED


def passages(name: str) -> list[dict[str, str]]:
    """One set's passages in file order."""
    path = DATASETS / name / "passages.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def candidates() -> dict[str, tuple[int, int, list[str]]]:
    """Per set: the marker matches, the step k, and the candidate passage ids."""
    idk_texts = {p["text"] for p in passages("idk-mrc")}
    out: dict[str, tuple[int, int, list[str]]] = {}
    for name in SETS:
        matches = [p for p in passages(name) if MARKERS.search(p["text"])
                   and not (name == "tydiqa-id" and p["text"] in idk_texts)]
        step = len(matches) // WANTED
        out[name] = (len(matches), step, [p["id"] for p in matches[::step]])
    return out


if __name__ == "__main__":
    for name, (n, step, ids) in candidates().items():
        print(f"{name}: {n} matches, every {step}th -> {len(ids)} candidates")
        print("  " + " ".join(ids))
