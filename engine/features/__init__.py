"""Point-in-time features: one builder for the tier rules, the churn model and the win model.

Every builder reads only rows dated strictly before the as-of date; labels read the window
``as_of <= date < as_of + horizon_days``, so no row is both a feature input and a label input.
``docs/features.md`` documents every feature (meaning, formula, unit, null rule).
"""

from engine.features._accounts import (
    ACCOUNT_FEATURE_COLUMNS,
    ACCOUNT_INPUT_COLUMNS,
    WINDOW_DAYS,
    build_account_features,
)
from engine.features._catalog import FEATURE_CATALOG, FeatureInfo, describe
from engine.features._opportunities import (
    LINKED_ACCOUNT_FEATURES,
    OPPORTUNITY_FEATURE_COLUMNS,
    build_opportunity_features,
)
from engine.features._reference import FeatureReference, feature_reference
from engine.features._training import (
    CHURN_FEATURE_COLUMNS,
    WIN_FEATURE_COLUMNS,
    build_churn_training_frame,
    build_win_training_frame,
    churn_eligible,
    data_end_date,
)
from engine.features._transactions import TRANSACTION_FEATURES, churn_labels, from_transactions

__all__ = [
    "ACCOUNT_FEATURE_COLUMNS",
    "ACCOUNT_INPUT_COLUMNS",
    "CHURN_FEATURE_COLUMNS",
    "FEATURE_CATALOG",
    "FeatureInfo",
    "FeatureReference",
    "LINKED_ACCOUNT_FEATURES",
    "OPPORTUNITY_FEATURE_COLUMNS",
    "TRANSACTION_FEATURES",
    "WIN_FEATURE_COLUMNS",
    "WINDOW_DAYS",
    "build_account_features",
    "build_churn_training_frame",
    "build_opportunity_features",
    "build_win_training_frame",
    "churn_eligible",
    "churn_labels",
    "data_end_date",
    "describe",
    "feature_reference",
    "from_transactions",
]
