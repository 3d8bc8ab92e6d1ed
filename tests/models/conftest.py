"""Shared data and fitted models for the model tests (small, seeded, fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

#: A quick configuration: one candidate per family, three folds.
FAST = {
    "cv": 3,
    "candidates": {"logistic": [{"C": 1.0}], "hist_gradient_boosting": [{"max_iter": 40}]},
}


def make_mixed_frame(n: int, seed: int, positive_shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Every dtype kam must take raw: float, int, skewed, str, category, bool, datetime, NA."""
    rng = np.random.default_rng(seed)
    complaints = rng.poisson(1.2, n)
    revenue = rng.lognormal(10, 1, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    industry = pd.Categorical(rng.choice(["gov", "edu", "finance"], n))
    has_partner = rng.random(n) < 0.5
    last_order = pd.Timestamp("2025-06-30") - pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    noise = rng.normal(size=n)
    logit = (0.9 * complaints - 0.5 * np.log(revenue / 20000) + 0.8 * (region == "south")
             - 0.7 * has_partner + (pd.Timestamp("2025-06-30") - last_order).days / 120
             - 2.2 + positive_shift)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({
        "account_id": [f"ACC-{seed}-{i:05d}" for i in range(n)],
        "row_number": np.arange(n, dtype=np.int64),
        "complaints_90d": complaints.astype(np.int64),
        "revenue_12m": revenue,
        "region": pd.Series(region, dtype="str"),
        "industry": industry,
        "has_partner": has_partner,
        "last_order_date": last_order,
        "noise": noise,
        "currency": "CNY",
        "nullable_visits": pd.array(rng.integers(0, 5, n), dtype="Int64"),
    })
    X.loc[rng.random(n) < 0.1, "revenue_12m"] = np.nan
    X.loc[rng.random(n) < 0.1, "region"] = None
    X.loc[rng.random(n) < 0.05, "nullable_visits"] = pd.NA
    X.loc[rng.random(n) < 0.05, "last_order_date"] = pd.NaT
    return X, y


@pytest.fixture(scope="session")
def mixed_frame():
    """The factory ``mixed_frame(n, seed, positive_shift=0.0) -> (X, y)`` (tests take it as a
    fixture: a test module never imports from a conftest)."""
    return make_mixed_frame


@pytest.fixture(scope="session")
def fast():
    """A quick configuration: one candidate per family, three folds (unpack it: ``**fast``)."""
    return {"cv": FAST["cv"], "candidates": {k: [dict(p) for p in v] for k, v in FAST["candidates"].items()}}


@pytest.fixture(scope="session")
def mixed_data():
    return make_mixed_frame(900, seed=0)


@pytest.fixture(scope="session")
def fitted_churn(mixed_data):
    from engine.models import ChurnModel

    X, y = mixed_data
    return ChurnModel(**FAST).fit(X, y)
