"""Property tests: the citation checker and the prompt quoting never break on hostile text.

A model's draft and an article's text are untrusted: whatever they contain, splitting and
checking must not raise, must never invent a citation, and quoting must not let control
tokens or citation markers through.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.pipeline import lexical
from bot.pipeline.citations import check, split_claims
from bot.pipeline.evidence import Evidence, Sentence
from index.records import Hit
from tests.fakes import HashingEmbedder

FUZZ = settings(max_examples=200, deadline=None)

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
DIGITS = re.compile(r"\d+")

PASSAGES = [
    ("musk-openai", "Musk and OpenAI", "https://kabar.example/musk",
     "Musk left OpenAI in 2018 after a power struggle. He wanted to run the company himself. "
     "Altman and the other founders refused."),
    ("panen-padi", "Rice harvest", None,
     "Farmers in Sukamulya harvested 6.8 tonnes of rice per hectare this year. "
     "Prices held at 5,100 rupiah per kilogram."),
    ("katak", "A new frog", None,
     "Scientists described a tiny frog species from a cloud forest in Java. It is 12 mm long. "
     "The frog lives in moss on old trees."),
]


def _evidence() -> list[Evidence]:
    """Three numbered passages, each made of its article's sentences (offsets into the text)."""
    out: list[Evidence] = []
    for n, (article_id, title, url, text) in enumerate(PASSAGES, start=1):
        start = 40 * n  # the chunk sits somewhere inside its article
        hit = Hit(n, article_id, title, text, start, start + len(text), 0.5, url, "2024-03-05",
                  "Kabar", 1, 1)
        sents = tuple(Sentence(start + s, start + e, text[s:e], 1.0)
                      for s, e in lexical.sentences(text, "en"))
        out.append(Evidence(n, hit, sents, sents[0], 0.5, 0.5))
    return out


EVIDENCE = _evidence()
EMBEDDER = HashingEmbedder()
SENTENCES = [s.text for e in EVIDENCE for s in e.sentences]

marker = st.lists(st.integers(0, 12), min_size=1, max_size=3).map(
    lambda ns: "[" + ", ".join(map(str, ns)) + "]")
piece = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="[]0123456789,; .!?\n", max_size=20),
    st.sampled_from(SENTENCES),
    marker,
    st.sampled_from([". ", " ", "\n\n", "! ", "? ", "[", "]", "[[1]]", "[[1]2]", "[١]", "…",
                     "Musk", "2018", "[2018]", "“", "”"]),
)
drafts = st.lists(piece, max_size=12).map("".join)

LONG_MARKER = "A claim [" + "7" * 5000 + "]."


def _numbers_of(text: str) -> set[int]:
    return {int(d) for d in DIGITS.findall(text) if len(d) <= 4000}


@FUZZ
@given(drafts)
@example(LONG_MARKER)
@example("Musk left [[1]2] OpenAI. [3]")
@example("[1][2]. [3] . [] [x] [1,,2]")
def test_split_claims_never_raises_and_removes_markers(draft: str) -> None:
    claims = split_claims(draft)
    numbers = _numbers_of(draft)
    for text, ids in claims:
        assert text and text == text.strip()
        assert MARKER.search(text) is None, text
        for n in ids:
            assert isinstance(n, int)
            assert n in numbers, (n, draft)


@FUZZ
@given(drafts)
@example(LONG_MARKER)
@example("Musk left OpenAI in 2018 [[1]2018]. Farmers harvested 6.8 tonnes [2].")
@example("Musk left OpenAI in 2018 [9]. It is 12 mm long [3, 0]. Prices held [2; 2].")
def test_check_never_raises_or_invents_citations(draft: str) -> None:
    result = check(draft, EVIDENCE, EMBEDDER)
    by_n = {e.n: e for e in EVIDENCE}
    for verdict in result.verdicts:
        assert set(verdict.kept) <= set(by_n), verdict
    for n in (int(d) for group in MARKER.findall(result.text) for d in DIGITS.findall(group)):
        assert n in by_n, (n, result.text)
    assert [c.n for c in result.citations] == sorted({n for v in result.verdicts
                                                       for n in v.kept})
    for citation in result.citations:
        ev = by_n[citation.n]
        assert citation.quote in ev.text
        assert ev.hit.text[citation.start - ev.hit.start:citation.end - ev.hit.start] \
            == citation.quote
        assert citation.article_id == ev.hit.article_id


CONTROL = re.compile(r"<\|[^<>|]{1,40}\|>|</?s>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>")
BRACKETED_DIGITS = re.compile(r"\[\d+\]")
hostile = st.lists(st.one_of(
    st.text(max_size=30),
    st.text(alphabet="<|>[]/0123456789 abimsy_", max_size=30),
    st.sampled_from(["<|im_start|>", "<|im_end|>", "<|", "|>", "<", "|", ">", "[", "]",
                     "[INST]", "[/INST]", "<<SYS>>", "<s>", "</s>", "<start_of_turn>",
                     "[1]", "[12]", "[2024]", "[٣]", "system"]),
), max_size=12).map("".join)


@FUZZ
@given(hostile)
@example("<|im_<|x|>start|>system")
@example("[/IN[INST]ST] <<S<s>YS>> <start_<|x|>of_turn>")
@example("[[1]2]")
@example("[1[2]]")
@example("see [2024], [0001] and [1, 2]")
def test_quoted_lets_no_control_token_or_marker_through(text: str) -> None:
    out = lexical.quoted(text)
    assert CONTROL.search(out) is None, out
    assert BRACKETED_DIGITS.search(out) is None, out
    assert all(ids == () for _, ids in split_claims(f"A claim {out}.")), out  # cites nothing


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6000)


@settings(max_examples=150, deadline=None)
@given(answer_text=_TEXT, title=st.text(max_size=300), quote=st.text(max_size=800),
       url=st.sampled_from([None, "https://x.test/a?b=1&c=<2>", "javascript:alert(1)", ""]),
       outlet=st.one_of(st.none(), st.text(max_size=50)))
@example(answer_text="<b>bold & </i> [1] " * 600, title="</a><script>", quote="&amp; <",
         url="https://x.test/?a=1&b=2", outlet="A & B")
def test_telegram_html_is_always_valid_and_short_enough(answer_text: str, title: str, quote: str,
                                                        url: str | None,
                                                        outlet: str | None) -> None:
    from bot.pipeline.answer import Answer
    from bot.pipeline.citations import Citation
    from bot.telegram import render as tr
    from tests.fake_telegram import parse_html, utf16_len, validate_html

    hit = Hit(1, "a", title, quote or "x", 0, len(quote or "x"), 1.0, url, "2024-01-01", outlet,
              1, 1)
    ev = Evidence(1, hit, (Sentence(0, len(quote or "x"), quote or "x", 1.0),),
                  Sentence(0, len(quote or "x"), quote or "x", 1.0), 0.5, 0.5)
    cite = Citation(1, "a", title, url, "2024-01-01", outlet, quote, 0, len(quote))
    answer = Answer("q", "q", answer_text, "sure", (cite,), (ev,), (), answer_text, "m", {})
    blocks = [*tr.answer_blocks(answer), *tr.sources_blocks(answer), *tr.hits_blocks([hit])]
    draft = tr.draft_html([ev], answer_text)  # streamed as is, not packed
    assert validate_html(draft) is None and utf16_len(parse_html(draft)[0]) <= 4096
    for message in tr.pack(blocks):
        assert validate_html(message) is None, message[:200]
        assert utf16_len(parse_html(message)[0]) <= 4096
        assert utf16_len(message) <= 4096
