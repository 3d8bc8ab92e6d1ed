"""The pipeline: the one module that strings the stages together.

load -> validate -> features -> rules (tier, route, assign) -> models -> priority -> write

Names are imported lazily: ``import engine.pipeline`` loads neither scikit-learn nor
durable_rules until a stage that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Ingested": "engine.pipeline._ingest",
    "ingest": "engine.pipeline._ingest",
    "run_demo": "engine.pipeline._demo",
    "default_as_of": "engine._asof",
    "resolve_as_of": "engine._asof",
    "check_run_health": "engine.pipeline._health",
    "demo_artifacts_dir": "engine.pipeline._demo",
    "KINDS": "engine.pipeline._train",
    "TrainResult": "engine.pipeline._train",
    "train_model": "engine.pipeline._train",
    "STAGES": "engine.pipeline._score",
    "ScoreResult": "engine.pipeline._score",
    "ScoredTables": "engine.pipeline._score",
    "PartitionScores": "engine.pipeline._rowwise",
    "score_partition": "engine.pipeline._rowwise",
    "score": "engine.pipeline._score",
    "score_frame": "engine.pipeline._score",
    "score_tables": "engine.pipeline._score",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
