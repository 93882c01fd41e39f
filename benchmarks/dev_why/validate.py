"""Check questions.jsonl of the why/how dev set (see README.md).

Run from the repository root: python3 benchmarks/dev_why/validate.py
"""

import collections
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parents[2] / "shared" / "datasets"
SETS = ("facqa", "idk-mrc", "tydiqa-id")
STYLES = ("why", "how", "what-happened")
FIELDS = {"id": str, "set": str, "passage_id": str, "style": str, "question": str,
          "question_id": str, "answerable": bool, "key_phrases": list, "key_phrases_id": list}
TARGETS = {"answerable": 66, "unanswerable": 24, "indonesian": 36, "why": 40}


def main() -> int:
    """Check every row; print the counts and any error; 1 when something is wrong."""
    texts = {}
    for name in SETS:
        for line in (DATASETS / name / "passages.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts[row["id"]] = (name, row["text"])
    errors, rows = [], []
    lines = (HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except ValueError as exc:
            errors.append(f"line {n}: does not parse ({exc})")
            continue
        rows.append(row)
        where = f"line {n} ({row.get('id')})"
        if set(row) != set(FIELDS):
            errors.append(f"{where}: fields {sorted(row)}")
            continue
        for field, kind in FIELDS.items():
            if not isinstance(row[field], kind):
                errors.append(f"{where}: {field} is not {kind.__name__}")
        if row["set"] not in SETS or row["style"] not in STYLES:
            errors.append(f"{where}: set or style")
        if not re.fullmatch(rf"why-{re.escape(row['set'])}-\d{{3}}", row["id"]):
            errors.append(f"{where}: id")
        if row["passage_id"] not in texts or texts[row["passage_id"]][0] != row["set"]:
            errors.append(f"{where}: passage_id not in its set")
            continue
        text = texts[row["passage_id"]][1]
        phrases, spans = row["key_phrases"], row["key_phrases_id"]
        if not all(isinstance(p, str) and p for p in phrases + spans):
            errors.append(f"{where}: empty or non-string key phrase")
        if row["answerable"]:
            if not 1 <= len(phrases) <= 4 or not 1 <= len(spans) <= 3:
                errors.append(f"{where}: answerable row needs 1-4 key_phrases, 1-3 key_phrases_id")
        elif phrases or spans:
            errors.append(f"{where}: unanswerable row with key phrases")
        for span in spans:
            if span not in text:
                errors.append(f"{where}: key_phrases_id not verbatim: {span!r}")
        for phrase in phrases:
            if phrase.lower() in row["question"].lower():
                errors.append(f"{where}: key phrase in its question: {phrase!r}")
        for phrase in phrases + spans:
            if row["question_id"] and phrase.lower() in row["question_id"].lower():
                errors.append(f"{where}: key phrase in its Indonesian question: {phrase!r}")
        for phrase in phrases:
            if len(phrase.split()) > 4:
                errors.append(f"{where}: key phrase over 4 words: {phrase!r}")
    ids = [r.get("id") for r in rows]
    for dup in [i for i, c in collections.Counter(ids).items() if c > 1]:
        errors.append(f"duplicate id {dup}")
    passages = [r.get("passage_id") for r in rows]
    for dup in [i for i, c in collections.Counter(passages).items() if c > 1]:
        errors.append(f"passage used twice {dup}")

    counts: collections.Counter[object] = collections.Counter()
    for r in rows:
        label = "answerable" if r.get("answerable") else "unanswerable"
        counts[label] += 1
        counts[(r.get("set"), label)] += 1
        counts[r.get("style")] += 1
        if r.get("question_id"):
            counts["indonesian"] += 1
            counts[("indonesian", label)] += 1
    for key, least in TARGETS.items():
        if counts[key] < least:
            errors.append(f"{key}: {counts[key]} < {least}")
    if not counts[("indonesian", "answerable")] or not counts[("indonesian", "unanswerable")]:
        errors.append("Indonesian versions must cover both answerable and unanswerable rows")

    print(f"{len(rows)} rows: {counts['answerable']} answerable, "
          f"{counts['unanswerable']} unanswerable")
    for name in SETS:
        print(f"  {name}: {counts[(name, 'answerable')]} answerable, "
              f"{counts[(name, 'unanswerable')]} unanswerable")
    print("  styles: " + ", ".join(f"{s} {counts[s]}" for s in STYLES))
    print(f"  Indonesian versions: {counts['indonesian']} "
          f"({counts[('indonesian', 'answerable')]} answerable, "
          f"{counts[('indonesian', 'unanswerable')]} unanswerable)")
    for error in errors:
        print("ERROR", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
