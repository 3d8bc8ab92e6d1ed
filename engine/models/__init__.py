"""Churn and win models: auto-selected, calibrated classifiers with reasons, cards and a publish gate.

Data flows one way: features -> rules -> **models** -> priority. This package imports
scikit-learn; ``import engine`` does not import it until a model is used.
"""

from __future__ import annotations

from engine.models._base import AutoClassifier, ChurnModel, NotFittedError, WinModel
from engine.models._candidates import CANDIDATE_FAMILIES, DEFAULT_CANDIDATES

__all__ = [
    "AutoClassifier",
    "ChurnModel",
    "WinModel",
    "NotFittedError",
    "CANDIDATE_FAMILIES",
    "DEFAULT_CANDIDATES",
]
