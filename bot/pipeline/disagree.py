"""Sources that disagree: decided from the evidence, not by the model.

For a "how many / how much" question, each dated passage's best sentence gives a value when it
holds exactly one number (leaving out numbers the question itself contains), together with the
word it counts ("10,000 GPUs", "10.000 unit GPU"). For a "when" question the value is the one
year or date of the best sentence, compared by year (a day and its year are not a dispute).
When passages from different articles give different values for the same thing, the answer
gives every value with its outlet and date, newest first; when they agree, the answer cites
every agreeing source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.pipeline import lexical, when
from bot.pipeline.citations import Citation, cite
from bot.pipeline.evidence import Evidence

_WHEN = re.compile(r"\b(?:\d{1,2}\s+[^\W\d_]+\s+)?((?:1[5-9]|20)\d\d)\b")
_COUNTED = re.compile(
    r"(\d[\d.,]*\d|\d)\s*(ribu|juta|miliar|triliun|thousand|million|billion|trillion)?"
    r"\s+(?:unit\s+|units of\s+|buah\s+)?([^\W\d_]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Value:
    """One source's value for the asked quantity."""

    number: str  # digits, as lexical.numbers gives them
    shown: str  # as written, e.g. "10,000 GPUs"
    unit: str
    evidence: Evidence


def _unit(word: str) -> str:
    w = word.lower()
    return w[:-1] if len(w) > 3 and w.endswith("s") else w


def value(question: str, e: Evidence) -> Value | None:
    """The value a dated passage gives for the question's quantity, if it gives exactly one."""
    if not e.hit.published:
        return None
    if lexical.answer_kind(question) == "time":
        asked_years = set(_WHEN.findall(question))
        dates = [m for m in _WHEN.finditer(e.best.text) if m[1] not in asked_years]
        return Value(dates[0][1], dates[0][0], "date", e) if len(dates) == 1 else None
    asked = lexical.numbers(question)
    found = [(m, lexical.numbers(m.group(0))) for m in _COUNTED.finditer(e.best.text)]
    found = [(m, n) for m, n in found if n and not n <= asked]
    if len(found) != 1 or len(lexical.numbers(e.best.text) - asked) != 1:
        return None
    m, digits = found[0]
    return Value(min(digits), m.group(0), _unit(m.group(3)), e)


def values(question: str, evidence: Sequence[Evidence]) -> list[Value]:
    """Every passage's value for the asked quantity, one per article, newest first."""
    if lexical.answer_kind(question) not in ("number", "time"):
        return []
    found = [v for e in evidence if (v := value(question, e))]
    order = when.newest_first([v.evidence.hit.published for v in found])
    by_unit: dict[str, list[Value]] = {}
    for v in (found[i] for i in order):
        by_unit.setdefault(v.unit, []).append(v)
    best = max(by_unit.values(), key=len, default=[])
    return best if len({v.evidence.hit.article_id for v in best}) >= 2 else []


def citation(v: Value) -> Citation:
    """The passage a value comes from, quoting its sentence."""
    return cite(v.evidence, v.evidence.best)


def phrase(question: str, found: Sequence[Value]) -> str:
    """"The sources disagree: A according to X (date) [1]; B according to Y (date) [2]."""
    indonesian = lexical.language(question) == "id"
    parts = []
    for v in found:
        h = v.evidence.hit
        who = h.outlet or h.title or h.article_id
        day = when.as_of(h.published or "")
        link = "menurut" if indonesian else "according to"
        parts.append(f"{v.shown} {link} {who} ({day}) [{v.evidence.n}]")
    lead = "Sumber-sumber berbeda" if indonesian else "The sources disagree"
    return f"{lead}: {'; '.join(parts)}."
