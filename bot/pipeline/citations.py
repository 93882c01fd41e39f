"""Check every citation of a draft answer against the passages it cites.

A sentence is kept only when a passage supports it: every number and name in the sentence
occurs in the passage, and the sentence is similar enough to it. Citations to passages that do
not exist or do not support the sentence are removed; a sentence whose cited passage fails but
another passage of the prompt passes is re-cited to that passage; a sentence that no passage
supports (cited or not) is dropped. The model is never trusted on its own word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from bot.pipeline import lexical
from bot.pipeline.evidence import Evidence, Sentence
from index.embedding import Embedder, Vectors
from index.records import Hit

# A claim with no number or name has nothing exact to match: it must be this much more similar.
UNANCHORED_MARGIN = 0.05
# A number or name of the claim must be said of the same thing in the passage: the claim
# must be this much above the citation floor in similarity to a passage sentence that holds
# it. Set on the drafts of one run over the English dev set (16 of 139 wrong drafts that
# passed the other checks dropped, 5 of 87 right ones, e.g. "149 people were killed by
# Hurricane Wilma in Haiti" where 149 is another toll); on a second run's drafts it kept
# 0.42 of the wrong drafts instead of 0.53 and dropped 0.30 of the right ones instead of
# 0.26 (docs: Benchmarks; benchmarks.answer --rejudge).
ANCHOR_MARGIN = 0.04
# Across languages a name may be spelled the other language's way (Russia/Rusia): this close.
RESPELLED = 0.85
SAME_LANGUAGE_COVERAGE = 0.5
_LEADING = re.compile(r"^(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+[.,;]?")


@dataclass(frozen=True)
class Citation:
    """A cited passage: where it comes from and the sentence that supports the answer."""

    n: int
    article_id: str
    title: str
    url: str | None
    published: str | None
    outlet: str | None
    quote: str
    start: int
    end: int
    also: tuple[Hit, ...] = ()  # the same passage republished in other articles


@dataclass(frozen=True)
class Verdict:
    """What happened to one sentence of the draft."""

    sentence: str
    cited: tuple[int, ...]
    kept: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Checked:
    """The verified answer text and its citations."""

    text: str
    citations: tuple[Citation, ...]
    verdicts: tuple[Verdict, ...]
    sentence_vectors: Vectors | None = None  # the evidence's sentences, in order, if embedded


def split_claims(draft: str) -> list[tuple[str, tuple[int, ...]]]:
    """Sentences of the draft with the passage numbers each one cites.

    Markers written after the full stop ("... GPUs. [2]") belong to the sentence before.
    """
    claims: list[tuple[str, list[int]]] = []
    for start, end in lexical.sentences(draft, "en"):
        piece = draft[start:end]
        lead = _LEADING.match(piece)
        if lead and claims:
            claims[-1][1].extend(_numbers_in(lead.group(0)))
            piece = piece[lead.end():]
        text, ids = _strip_markers(piece)
        text = text.strip()
        if text:
            claims.append((text, ids))
    unique: dict[str, tuple[str, tuple[int, ...]]] = {}
    for text, ids in claims:  # small models loop; a repeated sentence counts once
        unique.setdefault(" ".join(lexical.words(text)), (text, tuple(dict.fromkeys(ids))))
    return list(unique.values())


def _strip_markers(text: str) -> tuple[str, list[int]]:
    """The text without citation markers, and the numbers its own markers held.

    Removal repeats until none is left: removing one can join the brackets around it into another
    ("[[1]2]" leaves "[2]", "0[1[0]0]" leaves "0[10]"), which would otherwise reach the answer as
    a fake citation. Only markers of the original text count as citations.
    """
    ids = _numbers_in(text)
    while (stripped := lexical.MARKERS.sub("", text)) != text:
        text = stripped
    return text, ids


def _numbers_in(text: str) -> list[int]:
    # A 5,000-digit "marker" would make int() raise; no passage has such a number anyway.
    return [int(n) for group in lexical.MARKERS.findall(text) for n in re.findall(r"\d+", group)
            if len(n) <= 9]


def _missing_name(claim: str, passage: str, asked: set[str], across: bool,
                  shown: str = "") -> str | None:
    """The first name of the claim that the passage lacks (shown: all the prompt's passages,
    lower-cased).

    Across languages a capitalized English word is often a translated title or institution
    ("Director-General", "Nobel Prize"): one the question itself used is the user's own word,
    not an invented name, unless it is an identifier (an acronym, a code with digits). A name
    spelled the other language's way (Rusia for Russia) counts as present, and so does the
    rest of a full name another passage gives when this one uses the short form ("Maria
    Sharapova" where it says "Sharapova").
    """
    low = passage.lower()
    here = set(lexical.words(passage))
    codes = lexical.identifiers(claim)
    for name in sorted(lexical.names(claim)):
        if name in low or (across and name in asked and name not in codes):
            continue
        if across and name not in codes and respelled(name, here):
            continue
        if _shortened(name, lexical.words(claim), here, shown):
            continue
        return name
    return None


def _shortened(name: str, said: list[str], here: set[str], shown: str) -> bool:
    """The claim (its words: said) writes the name beside a word the passage has (here), and
    the two stand together in one of the passages shown: a full name the passage shortens."""
    for i, word in enumerate(said):
        if word != name:
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(said) and said[j] in here \
                    and " ".join(said[min(i, j): max(i, j) + 1]) in shown:
                return True
    return False


def respelled(name: str, words: set[str]) -> bool:
    """A name written the other language's way: Russia/Rusia, Arctic/Arktik, Sukarno/Soekarno
    (compared in the spelling both languages share, lexical.spelling)."""
    mine = lexical.spelling(name)
    return any(w[0] == mine[0] and SequenceMatcher(None, mine, w).ratio() >= RESPELLED
               for w in map(lexical.spelling, words) if abs(len(w) - len(mine)) <= 2)


def _supports(claim: str, passage: str, similarity: float, min_similarity: float,
              asked: set[str], shown: str = "") -> str | None:
    """None when the passage supports the claim, else the reason it does not.

    A claim with no number and no name has nothing to match exactly, so it must clear a
    higher similarity bar (UNANCHORED_MARGIN above the normal one). When claim and passage
    share a language, half of the claim's other content words must occur in the passage.
    """
    missing_numbers = lexical.numbers(claim) - lexical.numbers_written(passage)
    if missing_numbers:
        return f"number {sorted(missing_numbers)[0]} is not in the passage"
    claim_in, passage_in = lexical.language(claim), lexical.language(passage)
    across = lexical.family(claim_in) != lexical.family(passage_in)
    missing_name = _missing_name(claim, passage, asked, across, shown)
    if missing_name:
        return f"name {missing_name!r} is not in the passage"
    if claim_in == passage_in:
        words = lexical.terms(claim) - {lexical.stem(n) for n in lexical.names(claim)}
        if words and lexical.coverage(words, passage) < SAME_LANGUAGE_COVERAGE:
            return "its words are not in the passage"
    anchored = lexical.numbers(claim) or lexical.names(claim)
    needed = min_similarity if anchored else min_similarity + UNANCHORED_MARGIN
    if similarity < needed:
        return f"too little in common with the passage (similarity {similarity:.2f})"
    return None


def _said_of_other(claim: str, question: str, sentences: Sequence[Sentence],
                   sims: Vectors, floor: float) -> str | None:
    """The reason when a number or name the claim adds to the question occurs in the passage
    only in sentences unlike the claim (sims: the claim's similarity to each; it is said there
    of something else), else None."""
    added = [(n, True) for n in lexical.numbers(claim) - lexical.numbers(question)]
    added += [(n, False) for n in lexical.names(claim) - lexical.names(question)]
    for anchor, is_number in added:
        holding = [float(sim) for s, sim in zip(sentences, sims, strict=True)
                   if (anchor in lexical.numbers_written(s.text) if is_number
                       else anchor in s.text.lower())]
        if holding and max(holding) < floor:
            return (f"{anchor} is said of something else in the passage (similarity "
                    f"{max(holding):.2f})")
    return None


def check(draft: str, evidence: Sequence[Evidence], embedder: Embedder,
          min_similarity: float = 0.1, question: str = "") -> Checked:
    """Verify a draft answer sentence by sentence against the numbered evidence (across
    languages, names the question used need not occur in the passage)."""
    claims = split_claims(draft)
    asked = lexical.names(question)
    if not claims or not evidence:
        return Checked("", (), tuple(Verdict(c, ids, (), "no passages") for c, ids in claims))
    by_n = {e.n: e for e in evidence}
    claim_vecs = embedder.embed_passages([c for c, _ in claims])
    # The model sees each passage with its article title, so the title may support a claim too.
    shown = {e.n: f"{e.hit.title}\n{e.text}" if e.hit.title else e.text for e in evidence}
    passage_vecs = embedder.embed_passages([shown[e.n] for e in evidence])
    everything = " ".join(lexical.words(" ".join(shown.values())))
    sims = claim_vecs @ passage_vecs.T
    # Every evidence sentence is embedded once: for the anchors and for the quotes.
    sentence_vecs = embedder.embed_passages([s.text for e in evidence for s in e.sentences])
    rows_of: dict[int, slice] = {}
    start = 0
    for e in evidence:
        rows_of[e.n] = slice(start, start + len(e.sentences))
        start += len(e.sentences)
    sentence_sims = claim_vecs @ sentence_vecs.T
    anchor_floor = min_similarity + ANCHOR_MARGIN
    verdicts: list[Verdict] = []
    kept_text: list[str] = []
    quotes: dict[int, list[int]] = {}
    for row, (claim, cited) in enumerate(claims):
        if claim.rstrip().endswith("?"):  # a small model may echo the question back
            verdicts.append(Verdict(claim, cited, (), "a question, not a statement"))
            continue
        valid = [n for n in cited if n in by_n]
        reasons = {n: _supports(claim, shown[n], float(sims[row, n - 1]), min_similarity, asked,
                                everything)
                   or _said_of_other(claim, question, by_n[n].sentences,
                                     sentence_sims[row, rows_of[n]], anchor_floor)
                   for n in by_n}
        kept = tuple(n for n in valid if reasons[n] is None)
        reason = "supported"
        if not kept:
            others = sorted((n for n in by_n if reasons[n] is None),
                            key=lambda n: -float(sims[row, n - 1]))
            if others:
                kept = (others[0],)
                reason = (f"re-cited to [{kept[0]}], which supports it" if cited
                          else f"citation [{kept[0]}] added: that passage supports it")
            elif valid:
                reason = reasons[valid[0]] or ""
            else:  # say why the closest passage does not support it either
                near = max(by_n, key=lambda n: float(sims[row, n - 1]))
                reason = (f"cites [{cited[0]}], which is not one of the passages" if cited
                          else "no citation") + f"; closest [{near}]: {reasons[near]}"
        verdicts.append(Verdict(claim, cited, kept, reason))
        if kept:
            kept_text.append(claim.rstrip() + "".join(f" [{n}]" for n in kept))
            for n in kept:
                quotes.setdefault(n, []).append(row)
    citations = tuple(_citation(by_n[n], [claims[r][0] for r in rows], embedder,
                                sentence_vecs[rows_of[n]])
                      for n, rows in sorted(quotes.items()))
    return Checked(" ".join(tidy(t) for t in kept_text), citations, tuple(verdicts),
                   sentence_vecs)


def tidy(sentence: str) -> str:
    """Put the markers before the final full stop: 'X happened [1].'"""
    m = re.match(r"^(.*?)([.!?])((?:\s\[\d+\])+)$", sentence)
    return f"{m.group(1)}{m.group(3)}{m.group(2)}" if m else sentence


def _citation(ev: Evidence, claims: list[str], embedder: Embedder,
              vecs: Vectors) -> Citation:
    """The passage sentence closest to the claims that cite it becomes the quote (vecs: the
    embeddings of its sentences)."""
    sents = list(ev.sentences)
    if len(sents) == 1:
        best = sents[0]
    else:
        claim_vec = embedder.embed_passages([" ".join(claims)])[0]
        overlap = [len(lexical.names(" ".join(claims)) & lexical.names(s.text))
                   + len(lexical.numbers(" ".join(claims)) & lexical.numbers(s.text))
                   for s in sents]
        scores = np.asarray(overlap, dtype=np.float32) + vecs @ claim_vec
        best = sents[int(np.argmax(scores))]
    return cite(ev, best)


def cite(ev: Evidence, sentence: Sentence) -> Citation:
    """A citation of one sentence of a passage (with the passage's republished copies)."""
    h = ev.hit
    return Citation(ev.n, h.article_id, h.title, h.url, h.published, h.outlet, sentence.text,
                    sentence.start, sentence.end, ev.also)
