"""Scale words put right: the small model reads "miliar" as million and "ribu" as million.

A draft's number whose value no passage gives, while a passage gives the same digits with
another scale word ("Rp 1,3 million" over "Rp 1,3 miliar"), takes the passage's scale; a
scale word in the articles' language is written in the answer's ("US$ 13,48 miliar" in an
English answer becomes "US$ 13.48 billion"), with that language's decimal mark. The value
is always the passage's own, so the citation checks see a number the passage holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.pipeline import lexical
from bot.pipeline.evidence import Evidence

WORDS = {"en": {3: "thousand", 6: "million", 9: "billion", 12: "trillion"},
         "id": {3: "ribu", 6: "juta", 9: "miliar", 12: "triliun"}}
_SCALED = re.compile(r"\b(\d+(?:[.,]\d+)*)\s*(" + "|".join(lexical.SCALES) + r")\b",
                     re.IGNORECASE)


def given(passages: Iterable[str]) -> dict[str, set[int]]:
    """The scales each number is given with in the passages: {"1.3": {9}}."""
    out: dict[str, set[int]] = {}
    for text in passages:
        for raw, word in _SCALED.findall(text):
            out.setdefault(lexical.mantissa(raw), set()).add(lexical.SCALES[word.lower()])
    return out


def as_passages_say(draft: str, evidence: Sequence[Evidence], question: str) -> str:
    """`repaired` over the prompt's passages, in the question's language."""
    return repaired(draft, [e.text for e in evidence],
                    lexical.family(lexical.language(question)))


def repaired(draft: str, passages: Iterable[str], language: str) -> str:
    """The draft with each scaled number the passages give another way written as they give
    it, in `language`'s words ("en" or "id"); every other number left as it was."""
    texts = list(passages)
    scales = given(texts)
    values = set().union(*(lexical.numbers_written(t) for t in texts)) if texts else set()
    words = WORDS.get(language, WORDS["en"])

    def mend(m: re.Match[str]) -> str:
        raw, word = m.group(1), m.group(2)
        power = lexical.SCALES[word.lower()]
        key = lexical.mantissa(raw)
        if lexical.scaled(raw, power) in values:
            wanted = power  # the value is right; only its words may be in another language
        elif len(scales.get(key, ())) == 1:
            wanted = next(iter(scales[key]))  # the passage's scale for these digits
        else:
            return m.group(0)
        if wanted == power and word.lower() in words.values():
            return m.group(0)
        return f"{written(key, language)} {words[wanted]}"

    return _SCALED.sub(mend, draft)


def written(key: str, language: str) -> str:
    """A mantissa ("1135.4") with the language's marks: 1,135.4 in English, 1.135,4 in
    Indonesian."""
    whole, _, frac = key.partition(".")
    grouped = f"{int(whole):,}" if whole else "0"
    if language == "id":
        return grouped.replace(",", ".") + ("," + frac if frac else "")
    return grouped + ("." + frac if frac else "")
