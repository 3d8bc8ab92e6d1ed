"""Reasons: faithfulness, shape, wording through engine.features.describe or the fallback."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

from engine.models import generic_reason


def test_moving_top_risk_factor_to_typical_lowers_risk(fitted_churn, mixed_frame):
    """Faithfulness: in >= 90% of records the top raising factor, made typical, lowers risk."""
    X, _ = mixed_frame(300, seed=11)
    reasons = fitted_churn.explain(X, top=3, direction="raises")
    top = reasons[reasons["rank"] == 1].set_index("row")
    assert len(top) >= 200
    moved = X.loc[top.index].copy()
    for row, factor in top.iterrows():
        typical = factor["typical"]
        if isinstance(moved[factor["feature"]].dtype, pd.CategoricalDtype):
            moved[factor["feature"]] = moved[factor["feature"]].astype(object)
        moved.loc[row, factor["feature"]] = typical
    before = fitted_churn.predict_proba(X.loc[top.index])[:, 1]
    after = fitted_churn.predict_proba(moved.astype({"industry": "category"}))[:, 1]
    lowered = after < before
    assert lowered.mean() >= 0.9
    assert np.allclose(before - after, top["contribution"].to_numpy(), atol=1e-9)


def test_explain_shape_order_and_signs(fitted_churn, mixed_data):
    X, _ = mixed_data
    reasons = fitted_churn.explain(X.iloc[:50], top=3)
    assert list(reasons.columns) == ["row", "rank", "feature", "value", "typical", "contribution",
                                     "direction", "probability", "text"]
    assert reasons.groupby("row")["rank"].max().max() <= 3
    size = reasons["contribution"].abs()
    assert (size.groupby(reasons["row"]).diff().dropna() <= 1e-12).all()  # largest first
    assert ((reasons["contribution"] > 0) == (reasons["direction"] == "raises")).all()
    assert not set(reasons["feature"]) & set(fitted_churn.dropped_columns_)
    assert reasons["text"].str.endswith("churn risk").all()


def test_generic_wording_for_arbitrary_columns():
    assert generic_reason("complaints_90d", 4, 0.0, "raises", "churn risk") == (
        "complaints_90d is 4 (typical 0), raises churn risk")
    assert generic_reason("last_order", pd.Timestamp("2025-01-02"), np.nan, "lowers", "x") == (
        "last_order is 2025-01-02 (typical missing), lowers x")


def test_uses_engine_features_describe_for_catalogued_features(fitted_churn, mixed_data, monkeypatch):
    calls = []

    def describe(feature, value, typical, direction):
        calls.append((feature, direction))
        return f"catalogued {feature} {direction}"

    fake = types.ModuleType("engine.features")
    fake.describe = describe
    fake.FEATURE_CATALOG = {"complaints_90d": "complaints in the last 90 days"}
    monkeypatch.setitem(sys.modules, "engine.features", fake)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object())
    X, _ = mixed_data
    reasons = fitted_churn.explain(X.iloc[:100], top=5)
    catalogued = reasons[reasons["feature"] == "complaints_90d"]
    assert len(catalogued) > 0 and {feature for feature, _ in calls} == {"complaints_90d"}
    # describe is told how the value compares with typical; the effect is appended
    for _, reason in catalogued.iterrows():
        side = "higher" if reason["value"] >= reason["typical"] else "lower"
        assert reason["text"] == f"catalogued complaints_90d {side}, {reason['direction']} churn risk"
    others = reasons[reasons["feature"] != "complaints_90d"]
    assert others["text"].str.contains(r"\(typical ").all()


def test_bad_arguments(fitted_churn, mixed_data):
    X, _ = mixed_data
    with pytest.raises(ValueError, match="direction"):
        fitted_churn.explain(X.iloc[:2], direction="up")
    with pytest.raises(ValueError, match="top"):
        fitted_churn.explain(X.iloc[:2], top=0)


def test_real_feature_catalog_wording(fitted_churn, mixed_data):
    features = pytest.importorskip("engine.features")
    if "complaints_90d" not in getattr(features, "FEATURE_CATALOG", {}):
        pytest.skip("engine.features has no complaints_90d entry")
    X, _ = mixed_data
    reasons = fitted_churn.explain(X.iloc[:200], top=5)
    row = reasons[(reasons["feature"] == "complaints_90d") & (reasons["value"] == 4)].iloc[0]
    assert row["text"].startswith("4 complaints in the last 90 days (typical 1)")
    assert row["text"].endswith(f"{row['direction']} churn risk")
