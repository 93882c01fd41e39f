"""The fitted certainty: signals -> the probability that the draft is right -> a band.

`benchmarks/calibrate.py` fits a logistic regression on records of the training splits
("the draft holds the gold answer") and exports it with the band boundaries read off held-out
folds to `calibration.json` beside this module; here it is applied with numpy alone. The
bands are what tanya says: `sure` (the answer, plainly), `likely` (the answer as a reading of
the articles, its sentence under it), `unsure` (no answer, the closest passage). How right a
`sure` answer must be is a setting (TANYA_ANSWER_MIN_ACCURACY); the `likely` boundary is the
fit's. Refit whenever the model, a prompt or the embedder changes (the file names them).
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
Certainty = Literal["sure", "likely", "unsure", "not_found"]
ANY = "*"  # the boundary for a kind of question not fitted apart: the strictest


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

    def to_json(self) -> dict[str, Any]:
        """The model as exported."""
        return {"features": list(self.features), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Logistic:
        """Read one exported model."""
        return cls(tuple(data["features"]), np.array(data["mean"], dtype=np.float64),
                   np.array(data["scale"], dtype=np.float64),
                   np.array(data["coef"], dtype=np.float64), float(data["intercept"]))


@dataclass(frozen=True)
class Calibration:
    """The model and the band boundaries, per kind of question (see `kind`)."""

    answer: Logistic
    # accuracy wanted of `sure` -> kind -> least probability shown as sure
    sure: dict[float, dict[str, float]]
    likely: dict[str, float]  # kind -> least probability shown as likely
    fitted_for: dict[str, str]

    def sure_at(self, accuracy: float, kind: str = ANY) -> float:
        """The `sure` boundary of the highest fitted level not above `accuracy` (the lowest
        level when all are above), for one kind of question."""
        levels = sorted(a for a in self.sure if a <= accuracy + 1e-9)
        by_kind = self.sure[levels[-1] if levels else min(self.sure)]
        return by_kind.get(kind, by_kind[ANY])

    def band(self, p: float, accuracy: float, kind: str = ANY) -> Certainty:
        """What a draft of probability `p` is shown as."""
        top = self.sure_at(accuracy, kind)
        if p >= top:
            return "sure"
        return "likely" if p >= min(self.likely.get(kind, self.likely[ANY]), top) else "unsure"

    def fits(self, model: str, embedder: str) -> bool:
        """Whether the signals of this model and embedder are what the file was fitted on:
        each one it names must match (a model behind a server counts by the name sent to it).
        Another model's log-probabilities and self-check mean something else, so for it the
        checks decide until a calibration is fitted for it."""
        fitted = self.fitted_for.get("model")
        if fitted and model != fitted and not model.startswith(f"{fitted} @ "):
            return False
        return self.fitted_for.get("embedder", embedder) == embedder


def kind(signals: dict[str, float]) -> str:
    """The kind of question, as the boundaries are fitted: one asking for a cause or a way
    ("cause"), a factoid asked in another language than the articles ("across"), or in theirs
    ("same")."""
    if signals.get("q_cause") == 1.0:
        return "cause"
    return "across" if signals.get("q_across") == 1.0 else "same"


def _by_kind(raw: Any, where: str) -> dict[str, float]:
    out = {str(k): float(v) for k, v in dict(raw).items()}
    if ANY not in out:
        raise ValueError(f"{where} has no '{ANY}' boundary")
    return out


def to_json(cal: Calibration) -> dict[str, Any]:
    """A calibration as `load` reads it."""
    return {"fitted_for": cal.fitted_for, "answer": cal.answer.to_json(),
            "sure": {str(a): v for a, v in cal.sure.items()}, "likely": cal.likely}


def load(path: Path = DEFAULT) -> Calibration | None:
    """The exported calibration, or None when there is none (the checks alone decide)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sure = {float(a): _by_kind(v, f"sure level {a}") for a, v in data["sure"].items()}
        if not sure:
            raise ValueError("no sure levels")
        return Calibration(Logistic.from_json(data["answer"]), sure,
                           _by_kind(data["likely"], "likely"), dict(data.get("fitted_for", {})))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise TanyaBotError(f"calibration file {path} is not valid: {exc}") from exc
