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
    calibration_error_against_truth,
    calibration_noise,
    evaluate,
    expected_calibration_error,
    time_split,
    top_decile_capture,
    top_decile_lift,
    validation_curves,
)
from engine.models._params import InvalidParameterError
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
    "CANDIDATE_FAMILIES",
    "DEFAULT_ARTIFACT_DIR",
    "DEFAULT_CANDIDATES",
    "PUBLISH_METRICS",
    "TARGET_DEFINITIONS",
    "AutoClassifier",
    "ChurnModel",
    "DriftCheck",
    "ForwardGroupSplit",
    "InvalidParameterError",
    "ModelCard",
    "ModelSpec",
    "NotFittedError",
    "PublishDecision",
    "TimeSplit",
    "WinModel",
    "data_fingerprint",
    "drift_report",
    "evaluate",
    "expected_calibration_error",
    "calibration_noise",
    "calibration_error_against_truth",
    "expected_deal_value",
    "explain",
    "generic_reason",
    "library_versions",
    "load_model",
    "load_model_spec",
    "priority_rank",
    "publish",
    "read_card",
    "reasons_list",
    "save_model",
    "time_split",
    "top_decile_capture",
    "top_decile_lift",
    "training_distribution",
    "validation_curves",
    "value_at_risk",
]
