"""The model loads beside the evidence without taking its cores; evidence embeds few hits."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from bot.engine import LOAD_NICENESS, PendingGenerator
from bot.pipeline.evidence import EvidenceSettings, pick
from bot.pipeline.llm import Generator
from index.records import Hit
from tests.fakes import HashingEmbedder, ScriptedGenerator


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_model_loads_at_a_lower_priority_than_the_caller() -> None:
    seen: list[int] = []

    def load() -> Generator:
        seen.append(_niceness())
        return ScriptedGenerator("ok")

    before = _niceness()
    PendingGenerator(load, "fake").ready()
    assert seen == [min(before + LOAD_NICENESS, 19)]
    assert _niceness() == before  # the caller, who picks the evidence, keeps its priority


def _hit(n: int) -> Hit:
    text = f"Kalimat pertama berita {n}. Kalimat kedua berita {n}. Kalimat ketiga berita {n}."
    return Hit(n, f"a{n}", f"Berita {n}", text, 0, len(text), 1.0 / n, None, None, None, n, n)


def test_evidence_embeds_the_sentences_of_one_hit_more_than_it_keeps() -> None:
    emb = HashingEmbedder()
    pick("berita kalimat", [_hit(n) for n in range(1, 9)], emb, EvidenceSettings(passages=3))
    assert emb.passages_embedded == 4 * 3  # four hits of three sentences, not all eight
