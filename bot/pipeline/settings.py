"""The answer pipeline's knobs, filled from bot.config.Settings (tests build them directly)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.pipeline.calibrator import Calibration
from bot.pipeline.evidence import EvidenceSettings
from index.search import SearchSettings


@dataclass(frozen=True)
class AnswerSettings:
    """What the pipeline reads: how much evidence, how long a draft, how sure `sure` is."""

    retrieve_k: int = 8
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    max_tokens: int = 200
    timeout_s: float = 120.0
    # Measured with multilingual-e5-small on real drafts (docs: Benchmarks): right claim-
    # passage pairs score 0.82 or more (5th percentile), unrelated pairs about 0.73 (median).
    min_similarity: float = 0.80
    selfcheck: bool = True  # ask the model whether the passages say what it wrote
    render_quotes: bool = True  # a quote in another language gets a checked rendering
    calibration: Calibration | None = None  # the fitted certainty (None: the checks decide)
    sure_accuracy: float = 0.95  # how often a `sure` answer must be right
    history_turns: int = 3
