"""The fitted answer decision: signals -> the probability that the draft, or the quote, is right.

`benchmarks/calibrate.py` fits two logistic regressions on the dev sets' records (one for
"the draft holds the answer", one for "the quoted evidence sentence holds it") and exports
them with the thresholds read off their risk-coverage curves to `calibration.json` beside
this module. Here they are applied with numpy alone. Refit whenever the model, a prompt or
the embedder changes (the file names what it was fitted for).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bot.errors import TanyaBotError

DEFAULT = Path(__file__).with_name("calibration.json")
Decision = Literal["answer", "quote", "refuse"]
ANY = "*"  # the thresholds for a kind of question not fitted apart: the strictest


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over standardised signals; an unknown signal counts as average."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, signals: dict[str, float]) -> float:
        """P(right) for one answer's signals."""
        x = np.array([signals.get(f, math.nan) for f in self.features], dtype=np.float64)
        z = (x - self.mean) / self.scale
        z = np.where(np.isfinite(z), z, 0.0)
        return float(1.0 / (1.0 + math.exp(-(float(z @ self.coef) + self.intercept))))

    def reads(self, prefix: str) -> bool:
        """Whether it reads a signal whose name starts with `prefix`."""
        return any(f.startswith(prefix) for f in self.features)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Logistic:
        """Read one exported model."""
        return cls(tuple(data["features"]), np.array(data["mean"]), np.array(data["scale"]),
                   np.array(data["coef"]), float(data["intercept"]))


@dataclass(frozen=True)
class Calibration:
    """Both models and, per wanted accuracy, the least probability that is shown."""

    answer: Logistic
    quote: Logistic
    # accuracy -> kind of question (see `kind`, "*": any) -> (answer, quote) thresholds
    thresholds: dict[float, dict[str, tuple[float, float]]]
    fitted_for: dict[str, str]

    def at(self, accuracy: float, kind: str = ANY) -> tuple[float, float]:
        """The (answer, quote) thresholds of the highest fitted level not above `accuracy`, for
        one kind of question (the strictest of all when that kind was not fitted)."""
        levels = sorted(a for a in self.thresholds if a <= accuracy + 1e-9)
        by_kind = self.thresholds[levels[-1] if levels else min(self.thresholds)]
        return by_kind.get(kind) or by_kind[ANY]

    def reads(self, prefix: str) -> bool:
        """Whether either model reads a signal whose name starts with `prefix`."""
        return self.answer.reads(prefix) or self.quote.reads(prefix)

    def fits(self, model: str, embedder: str) -> bool:
        """Whether the signals of this model and embedder are what the file was fitted on:
        each one it names must match (a model behind a server counts by the name sent to it).
        Another model's log-probabilities and self-check mean something else, so for it the
        checks decide until a calibration is fitted for it."""
        fitted = self.fitted_for.get("model")
        if fitted and model != fitted and not model.startswith(f"{fitted} @ "):
            return False
        return self.fitted_for.get("embedder", embedder) == embedder

    def answers(self, p_answer: float, accuracy: float, can_answer: bool,
                kind: str = ANY) -> bool:
        """Whether the draft is shown: it passed the checks and is likely enough right."""
        return can_answer and p_answer >= self.at(accuracy, kind)[0]

    def decide(self, p_answer: float, p_quote: float, accuracy: float,
               can_answer: bool, kind: str = ANY) -> Decision:
        """Answer when the draft is likely enough right, else quote, else refuse."""
        if self.answers(p_answer, accuracy, can_answer, kind):
            return "answer"
        return "quote" if p_quote >= self.at(accuracy, kind)[1] else "refuse"


def kind(signals: dict[str, float]) -> str:
    """The kind of question, as the thresholds are fitted: one asking for a cause or a way
    ("cause"), a factoid asked in another language than the articles ("across"), or in theirs
    ("same")."""
    if signals.get("q_cause") == 1.0:
        return "cause"
    return "across" if signals.get("q_across") == 1.0 else "same"


def _levels(raw: dict[str, Any]) -> dict[float, dict[str, tuple[float, float]]]:
    """Thresholds as exported: per level, per kind (or one pair for every kind)."""
    out: dict[float, dict[str, tuple[float, float]]] = {}
    for level, value in raw.items():
        pairs = value if isinstance(value, dict) else {ANY: value}
        out[float(level)] = {k: (float(v[0]), float(v[1])) for k, v in pairs.items()}
        if ANY not in out[float(level)]:
            raise ValueError(f"level {level} has no '{ANY}' thresholds")
    return out


def load(path: Path = DEFAULT) -> Calibration | None:
    """The exported calibration, or None when there is none (the checks alone decide)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(Logistic.from_json(data["answer"]), Logistic.from_json(data["quote"]),
                           _levels(data["thresholds"]),
                           dict(data.get("fitted_for", {})))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise TanyaBotError(f"calibration file {path} is not valid: {exc}") from exc
