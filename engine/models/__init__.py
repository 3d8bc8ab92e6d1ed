"""Churn and win models: auto-selected, calibrated classifiers with reasons, cards and a publish gate.

Data flows one way: features -> rules -> **models** -> priority. This package imports
scikit-learn; ``import engine`` does not import it until a model is used.

Security: model artifacts are joblib pickles and run code when loaded; load only your own
(see :func:`load_model`).
"""

from __future__ import annotations

from engine.models._artifacts import (
    DEFAULT_ARTIFACT_DIR,
    ModelCard,
    data_fingerprint,
    library_versions,
    load_model,
    read_card,
    save_model,
)
from engine.models._base import AutoClassifier, ChurnModel, NotFittedError, WinModel
from engine.models._candidates import CANDIDATE_FAMILIES, DEFAULT_CANDIDATES
from engine.models._drift import DriftCheck, drift_report, training_distribution
from engine.models._explain import explain, generic_reason, reasons_list
from engine.models._metrics import (
    TimeSplit,
    evaluate,
    expected_calibration_error,
    time_split,
    top_decile_capture,
    top_decile_lift,
    validation_curves,
)
from engine.models._priority import expected_deal_value, priority_rank, value_at_risk
from engine.models._publish import PublishDecision, publish
from engine.models._spec import (
    PUBLISH_METRICS,
    TARGET_DEFINITIONS,
    ModelSpec,
    load_model_spec,
)
from engine.models._splits import ForwardGroupSplit

__all__ = [
    "AutoClassifier",
    "ChurnModel",
    "WinModel",
    "NotFittedError",
    "CANDIDATE_FAMILIES",
    "DEFAULT_CANDIDATES",
    "explain",
    "generic_reason",
    "reasons_list",
    "DriftCheck",
    "drift_report",
    "training_distribution",
    "evaluate",
    "validation_curves",
    "expected_calibration_error",
    "top_decile_lift",
    "top_decile_capture",
    "time_split",
    "ForwardGroupSplit",
    "TimeSplit",
    "ModelSpec",
    "load_model_spec",
    "TARGET_DEFINITIONS",
    "PUBLISH_METRICS",
    "ModelCard",
    "save_model",
    "load_model",
    "read_card",
    "data_fingerprint",
    "library_versions",
    "DEFAULT_ARTIFACT_DIR",
    "PublishDecision",
    "publish",
    "value_at_risk",
    "expected_deal_value",
    "priority_rank",
]
