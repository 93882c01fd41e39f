"""Small text facts used to check evidence and answers: words, numbers, names, language."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from index.chunking import sentence_bounds

_WORD = re.compile(r"\w+(?:['’-]\w+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w]*(?:['’-]\w+)*")
_CALENDAR = ("january", "february", "march", "april", "may", "june", "july", "august",
             "september", "october", "november", "december", "monday", "tuesday", "wednesday",
             "thursday", "friday", "saturday", "sunday")
# Capitalized English words that are not names, and generic acronyms a paraphrase may add.
_NOT_NAMES = {*_CALENDAR, "ceo", "cfo", "cto", "ai", "us", "usa", "uk", "eu", "un", "mr", "mrs",
              "ms", "dr", "english", "indonesian"}
# A citation marker of a draft: [1], [1, 2], [1; 3].
MARKERS = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
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


@cache
def _stemmer() -> Any:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Indonesian affixes off (Sastrawi: dijanjikan -> janji), then an English plural -s."""
    base = str(_stemmer().stem(word)) or word
    return base[:-1] if len(base) > 3 and base.endswith("s") and not base.endswith("ss") else base


def content_words(text: str) -> set[str]:
    """Words that carry meaning: not stopwords, longer than two letters."""
    stop = _stopwords()
    return {w for w in words(text) if len(w) > 2 and w not in stop}


def terms(text: str) -> set[str]:
    """Stemmed content words, for matching across word forms."""
    return {stem(w) for w in content_words(text)}


def coverage(query_terms: set[str], text: str) -> float:
    """Share of the query's terms (see `terms`) that occur in the text (0 when it has none)."""
    if not query_terms:
        return 0.0
    found = {stem(w) for w in words(text)}
    return sum(1 for t in query_terms if t in found) / len(query_terms)


_CONTROL = re.compile(
    r"<\|[^<>|]{1,40}\|>|</?s>|\[/?INST\]|<<SYS>>|<</SYS>>|<(?:start|end)_of_turn>")
# Every form the citation checker reads as a marker: [1], [12], [0001], [1, 2], [1; 2].
_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def quoted(text: str) -> str:
    """Text safe to put inside a prompt as quoted material.

    Chat-template control tokens (<|im_start|> and the like) are removed, so an article cannot
    open a fake system turn, and [n] markers become (n), so it cannot fake a citation.
    Removal repeats until no token is left: "<|im_<|x|>start|>" would otherwise leave one.
    """
    while (clean := _CONTROL.sub("", text)) != text:
        text = clean
    return _MARKER.sub(r"(\1)", text)


# Scale words, Indonesian and English: "10 ribu" = 10,000; "1 miliar" = "1 billion".
SCALES = {"ribu": 3, "rb": 3, "thousand": 3, "juta": 6, "jt": 6, "million": 6, "mn": 6,
           "miliar": 9, "milyar": 9, "billion": 9, "bn": 9, "triliun": 12, "trillion": 12}
_SCALED = re.compile(r"(\d+(?:[.,]\d+)*)(?:\s*(" + "|".join(SCALES) + r")\b)?", re.IGNORECASE)


def numbers(text: str) -> set[str]:
    """Numbers as digit strings, separators removed (10,000 == 10.000 == 10000), with scale
    words applied ("10 ribu" == "10 thousand" == 10000; "1 miliar" != "1 million")."""
    out = set()
    for raw, scale in _SCALED.findall(text):
        out.add(scaled(raw, SCALES[scale.lower()]) if scale else
                re.sub(r"[.,]", "", raw).lstrip("0") or "0")
    return out


_UNITS = {word: str(i) for words in (
    "one two three four five six seven eight nine ten eleven twelve",
    "satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas")
    for i, word in enumerate(words.split(), start=1)}


def numbers_written(text: str) -> set[str]:
    """`numbers`, and small numbers written as words ("usia sembilan tahun" holds 9): what a
    passage says, for checking the digits of a claim against it."""
    return numbers(text) | {_UNITS[w] for w in words(text) if w in _UNITS}


# Indonesian writes borrowed names its own way (Afrika, Arktik, Cina, eksekutif; Soekarno in the
# old spelling): both spellings are brought to one form before they are compared.
_RESPELL = ((r"oe", "u"), (r"dj", "j"), (r"tj", "c"), (r"ph", "f"), (r"th", "t"),
            (r"ch", "c"), (r"x", "ks"), (r"q", "k"), (r"c(?=[^ei]|$)", "k"), (r"v", "f"),
            (r"y", "i"), (r"(\w)\1", r"\1"))


def spelling(word: str) -> str:
    """A lower-case word in a spelling shared by English and Indonesian (Arctic and Arktik
    are both 'arktik'); for matching names across the two languages."""
    out = word.lower()
    for pattern, replacement in _RESPELL:
        out = re.sub(pattern, replacement, out)
    return out


def _split(raw: str) -> tuple[str, str]:
    """A number's whole digits and decimals. A last separator before exactly three digits
    groups thousands (1.500); any other is the decimal mark (1,5 = 1.5)."""
    head, sep, tail = raw.replace(",", ".").rpartition(".")
    if not sep or len(tail) == 3:
        return re.sub(r"[.,]", "", raw), ""
    return head.replace(".", ""), tail


def scaled(raw: str, power: int) -> str:
    """'1,5' juta -> 1500000 (decimals past the scale are cut off)."""
    whole, frac = _split(raw)
    digits = whole + (frac + "0" * power)[:power]
    return digits.lstrip("0") or "0"


def mantissa(raw: str) -> str:
    """A number's digits, whichever marks it is written with: '1,3' and '1.3' are '1.3',
    '1.135,4' and '1,135.4' are '1135.4'."""
    whole, frac = _split(raw)
    return (whole.lstrip("0") or "0") + ("." + frac if frac else "")


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
    return sentence_bounds(text, language)


def language(text: str) -> str:
    """ISO code of the text's language (py3langid)."""
    import py3langid

    code, _ = py3langid.classify(text)
    return str(code)


def family(code: str) -> str:
    """A language code with Malay and Javanese counted as Indonesian (py3langid often calls
    short Indonesian text 'ms')."""
    return "id" if code in ("id", "ms", "jv") else code


def identifiers(text: str) -> set[str]:
    """Acronyms and codes (IAEA, GA-181), lower-cased: verbatim in every language."""
    return {w.lower() for w in _NAME.findall(text)
            if any(c.isdigit() for c in w)
            or any(len(part) > 1 and part.isupper() for part in re.split(r"['’-]", w))}


def language_name(code: str) -> str:
    """English name of a language code for the prompt; unknown codes are described."""
    return _LANGUAGE_NAMES.get(code, "the language of the question")


_KINDS = {
    "number": re.compile(r"\b(how (many|much)|berapa|jumlah|what (percentage|share))\b", re.I),
    "time": re.compile(r"\b(when|what year|kapan|tahun berapa|pada tahun)\b", re.I),
}
_YEAR_OR_DATE = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b|\b\d{1,2}\s+\w+\s+\d{4}\b")


def answer_kind(question: str) -> str | None:
    """'number' or 'time' when the question asks for one, else None."""
    for kind, pattern in _KINDS.items():
        if pattern.search(question):
            return kind
    return None


def has_kind(text: str, kind: str) -> bool:
    """True when the text holds what `answer_kind` asked for."""
    if kind == "time":
        return bool(_YEAR_OR_DATE.search(text))
    return bool(_NUMBER.search(text))


_COUNTED = re.compile(r"\d+(?:[.,]\d+)*\s+\S+")
_WHO = re.compile(r"^\W*(who|whom|whose|siapa|siapakah)\b", re.IGNORECASE)
_NUMBER_WORDS = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
    r"thousands?|millions?|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|"
    r"puluhan|ratusan|ribuan|jutaan)\b", re.IGNORECASE)
_TIME_WORDS = re.compile(
    r"\b(" + "|".join(_CALENDAR) + r"|januari|februari|maret|mei|juni|juli|agustus|oktober|"
    r"desember|senin|selasa|rabu|kamis|jumat|sabtu|century|abad|decade)\b", re.IGNORECASE)


def gives_asked(question: str, answer: str) -> bool:
    """False when the answer only says the question back, or when the question asks who, how
    many or when and the answer holds no name, no number or no time beyond those the question
    already gave: it answers a neighbouring question ("Who did Twitter hire?" answered with
    "10,000 GPUs")."""
    answer = MARKERS.sub(" ", answer)  # citation markers are not numbers of the answer
    if _said_back(question, answer):
        return False
    if _WHO.search(question):  # a word counted by a number is a unit, not a name: 10,000 GPUs
        return bool(names(_COUNTED.sub(" ", answer)) - names(question))
    kind = answer_kind(question)
    new_number = bool(numbers(answer) - numbers(question))
    if kind == "number":
        return new_number or bool(_NUMBER_WORDS.search(answer))
    if kind == "time":
        return new_number or bool(_TIME_WORDS.search(answer))
    return True


# Words an answer may add to the question and still say nothing new.
_GLUE = frozenset({"a", "an", "the", "is", "are", "was", "were", "be", "been", "it", "its",
                   "this", "that", "these", "those", "he", "she", "they", "his", "her",
                   "their", "of", "in", "on", "at", "to", "by", "for", "from", "with", "and",
                   "or", "as"})


def _said_back(question: str, answer: str) -> bool:
    """The answer adds no word to the question but glue ("Which outlet reported it?" answered
    "The outlet reported it"); the words of a stopword list would hide "He wanted to run it"."""
    asked = {stem(w) for w in words(question)}
    return not {stem(w) for w in words(answer)} - asked - _GLUE
