"""Where the shared QA sets live (loading is bot.qa_sets, the format `tanya eval` reads)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
NAMES = ("facqa", "tydiqa-id", "idk-mrc")
