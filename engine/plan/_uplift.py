"""``churn_if_contacted``: kam's own churn model asked what a contact this week would change.

The plan's ``ranking: value_saved`` values a contact by the uplift of kam's published churn
model: the churn probability as scored minus the probability with the visit features as if the
account were visited on the week's Monday (``days_since_last_visit`` 0, one more visit in the
last 90 days); everything else stays as scored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from engine._errors import DataError

__all__ = ["VISIT_FEATURES", "churn_if_contacted"]

#: The account features a contact changes (engine.features): days since the last visit, visits in 90 days.
VISIT_FEATURES = ("days_since_last_visit", "visits_90d")


def churn_if_contacted(model: Any, features: pd.DataFrame) -> np.ndarray:
    """Churn probability of each row of ``features`` if the account were contacted this week.

    Parameters
    ----------
    model : fitted churn model
        kam's churn model (``engine.models.load_model(..., kind="churn")``): ``predict_proba`` and
        ``feature_names_in_``.
    features : pandas.DataFrame
        The accounts' features as they are on the week's Monday (as the model scores them),
        holding :data:`VISIT_FEATURES`.

    Returns
    -------
    numpy.ndarray
        One probability per row, in the order of ``features``.

    Raises
    ------
    DataError
        ``features`` lacks a visit feature.
    """
    missing = [c for c in VISIT_FEATURES if c not in features.columns]
    if missing:
        raise DataError(
            f"features lack the visit features {missing}; expected {list(VISIT_FEATURES)} (engine.features "
            f"account features); got {list(features.columns)[:12]}... Fix: pass the frame the churn model scores."
        )
    if features.empty:
        return np.zeros(0)
    visited = features.copy()
    visited["days_since_last_visit"] = 0.0
    visited["visits_90d"] = pd.to_numeric(visited["visits_90d"], errors="coerce").fillna(0).astype(np.int64) + 1
    names = [str(c) for c in getattr(model, "feature_names_in_", visited.columns)]
    present = [c for c in names if c in visited.columns]
    return np.asarray(model.predict_proba(visited[present])[:, 1], dtype=float)
