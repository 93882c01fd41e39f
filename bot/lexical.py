"""Small text facts used to check evidence and answers: words, numbers, names, language."""

from __future__ import annotations

import re
from functools import cache

from sentencex import get_sentence_boundaries

_WORD = re.compile(r"\w+(?:['’-]\w+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w]*(?:['’-]\w+)*")
# Capitalized English words that are not names, and generic acronyms a paraphrase may add.
_NOT_NAMES = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "ceo", "cfo", "cto", "ai", "us", "usa", "uk", "eu", "un", "mr", "mrs",
    "ms", "dr", "english", "indonesian",
}
_LANGUAGE_NAMES = {"en": "English", "id": "Indonesian", "ms": "Indonesian", "jv": "Indonesian",
                   "de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch",
                   "pt": "Portuguese", "it": "Italian", "zh": "Chinese", "ja": "Japanese",
                   "ar": "Arabic", "ru": "Russian"}


@cache
def _stopwords() -> frozenset[str]:
    import stopwordsiso

    return frozenset(stopwordsiso.stopwords(["en", "id"]))


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> set[str]:
    """Words that carry meaning: not stopwords, longer than two letters."""
    stop = _stopwords()
    return {w for w in words(text) if len(w) > 2 and w not in stop}


def coverage(query_words: set[str], text: str) -> float:
    """Share of the query's content words found in the text (0 when the query has none)."""
    if not query_words:
        return 0.0
    found = set(words(text))
    return sum(1 for w in query_words if w in found) / len(query_words)


def stem_coverage(terms: set[str], text: str, prefix: int = 5) -> float:
    """Share of terms whose first `prefix` letters start some word of the text (crude stemming)."""
    if not terms:
        return 0.0
    stems = {w[:prefix] for w in words(text)}
    return sum(1 for t in terms if t[:prefix] in stems) / len(terms)


def numbers(text: str) -> set[str]:
    """Numbers with thousands and decimal marks removed, so 10,000 == 10.000 == 10000."""
    out = set()
    for raw in _NUMBER.findall(text):
        digits = re.sub(r"[.,]", "", raw).lstrip("0")
        out.add(digits or "0")
    return out


def names(text: str) -> set[str]:
    """Capitalized words that look like names (not stopwords, months or generic acronyms)."""
    stop = _stopwords()
    out = set()
    for raw in _NAME.findall(text):
        word = re.sub(r"['’]s$", "", raw)
        word = (word[:-1] if re.fullmatch(r"[A-Z]{2,}s", word) else word).lower()  # GPUs -> gpu
        if word not in stop and word not in _NOT_NAMES and not word.isdigit():
            out.add(word)
    return out


def sentences(text: str, language: str = "en") -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed."""
    spans = []
    for b in get_sentence_boundaries(language, text):
        start, end = int(b["start_index"]), int(b["end_index"])
        piece = text[start:end]
        if piece.strip():
            start += len(piece) - len(piece.lstrip())
            spans.append((start, start + len(piece.strip())))
    return spans


def language(text: str) -> str:
    """ISO code of the text's language (py3langid)."""
    import py3langid

    code, _ = py3langid.classify(text)
    return str(code)


def language_name(code: str) -> str:
    """English name of a language code for the prompt; unknown codes are described."""
    return _LANGUAGE_NAMES.get(code, "the language of the question")
