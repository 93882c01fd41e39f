"""Near-duplicate passages from different articles: one wire story republished by several
outlets takes one evidence slot, with every outlet kept as a source.

Two passages are copies when at least half of their word 3-grams are shared (Jaccard). An
outlet's own intro line or credit changes a few 3-grams at the edges; two independent reports
of the same event, written separately, share far fewer.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.pipeline import lexical
from index.records import Hit

MIN_SHARED = 0.5


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = lexical.words(text)
    return {tuple(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def overlap(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word 3-grams."""
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def group(hits: Sequence[Hit], min_shared: float = MIN_SHARED) -> list[tuple[Hit, tuple[Hit, ...]]]:
    """Hits in rank order, each with the copies (from other articles) ranked below it."""
    out: list[tuple[Hit, list[Hit]]] = []
    for hit in hits:
        for first, copies in out:
            if first.article_id != hit.article_id and overlap(first.text, hit.text) >= min_shared:
                copies.append(hit)
                break
        else:
            out.append((hit, []))
    return [(first, tuple(copies)) for first, copies in out]
