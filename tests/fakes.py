"""Light stand-ins for the heavy models: deterministic and fast."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

from bot.pipeline.calibrator import ANY, Calibration, Logistic
from bot.pipeline.evidence import EvidenceSettings
from bot.pipeline.lexical import content_words
from bot.pipeline.settings import AnswerSettings
from index.embedding import Vectors

# Similarity floors on the hashing embedder's scale (bag-of-words cosines are lower than e5's).
FAKE_EVIDENCE_MIN_SIMILARITY = 0.35
FAKE_CITATION_MIN_SIMILARITY = 0.1
# How the self-check prompt (prompts/answer_check.txt) ends.
CHECK_ENDING = "Answer yes or no."


# A calibration for the fakes, applied by the same calibrated path as the shipped one: a
# draft the checks keep and that gives what was asked is `sure` (p 0.95), one they keep that
# does not give it is `unsure` (p 0.5), one they drop `unsure` (p 0.05 or less).
FAKE_CALIBRATION = Calibration(
    Logistic(("chk_kept", "chk_gives"), np.zeros(2), np.ones(2), np.array([3.0, 3.0]), -3.0),
    sure={0.9: {ANY: 0.9}, 0.95: {ANY: 0.94}}, likely={ANY: 0.6}, fitted_for={})


def fake_answer_settings(**changes: object) -> AnswerSettings:
    """AnswerSettings with the similarity floors of the hashing embedder and the fakes'
    calibration."""
    evidence = EvidenceSettings(min_similarity=FAKE_EVIDENCE_MIN_SIMILARITY)
    changes.setdefault("calibration", FAKE_CALIBRATION)
    changes.setdefault("min_similarity", FAKE_CITATION_MIN_SIMILARITY)
    return AnswerSettings(evidence=evidence, **changes)  # type: ignore[arg-type]


class HashingEmbedder:
    """Bag-of-words vectors via feature hashing: same words -> similar vectors."""

    def __init__(self, dim: int = 256, name: str = "fake-hashing") -> None:
        self._dim = dim
        self._name = name
        self.passages_embedded = 0

    @property
    def name(self) -> str:
        """Model identity stored in meta.json."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector length."""
        return self._dim

    def _vec(self, text: str) -> Vectors:
        v = np.zeros(self._dim, dtype=np.float32)
        for word in content_words(text):  # stopwords would make everything look alike
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            v[h % self._dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """One row per text; counts how many passages were embedded."""
        self.passages_embedded += len(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.vstack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> Vectors:
        """One row for the query."""
        return self._vec(text)[None, :]


class ScriptedGenerator:
    """Plays back scripted replies token by token and records every prompt it was given."""

    def __init__(self, *replies: str, name: str = "scripted", logprob: float = -0.1,
                 check: str = "yes") -> None:
        self.replies = list(replies)
        self.logprob = logprob  # every token's log-probability, when asked for
        self.prompts: list[list[dict[str, str]]] = []
        self.check_prompts: list[list[dict[str, str]]] = []
        self.check = check  # the reply to the self-check (pipeline.selfcheck)
        self._name = name
        self.last = ""  # the last draft given

    @property
    def name(self) -> str:
        """Model identity."""
        return self._name

    def stream(self, messages: list[dict[str, str]], max_tokens: int, *,
               scores: list[tuple[str, float]] | None = None) -> Iterator[str]:
        """Yield the next scripted reply in small pieces (each scored `logprob` when asked)."""
        if messages[-1]["content"].endswith(CHECK_ENDING):
            self.check_prompts.append(messages)
            if scores is not None:
                scores.append((self.check, self.logprob))
            yield self.check
            return
        self.prompts.append(messages)
        reply = self.last = self.replies.pop(0) if self.replies else ""
        for piece in re.findall(r"\S+\s*", reply):
            if scores is not None:
                scores.append((piece, self.logprob))
            yield piece
