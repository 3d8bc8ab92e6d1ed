"""The row-wise stages of a run for one partition of accounts: features, tiers, churn, routes, win.

Its own module because both the pipeline (:mod:`engine.pipeline._score`) and the backends that
run partitions locally or on Dask workers (:mod:`engine.pipeline._backends`) need it: each
imports this module, neither imports the other here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_mapping
from engine._asof import AsOf
from engine.features import FeatureReference, build_account_features, build_opportunity_features
from engine.pipeline._decide import route_opportunities, tier_accounts

__all__ = ["PartitionScores", "score_partition"]


@dataclass(frozen=True)
class PartitionScores:
    """What the row-wise stages produced for one partition (aligned frames and arrays).

    Attributes
    ----------
    accounts : pandas.DataFrame
        The account features, one row per account of the partition.
    tiers : pandas.DataFrame
        :func:`engine.tier_accounts` of ``accounts`` (same order).
    churn : numpy.ndarray
        Churn probability of each account (same order).
    opportunities : pandas.DataFrame
        The opportunity features of the partition's open opportunities.
    routes : pandas.DataFrame
        :func:`engine.route_opportunities` of ``opportunities`` (same order).
    win : numpy.ndarray
        Win probability of each opportunity (same order).
    seconds : dict of str to float
        Time spent per stage (``features``, ``tiers``, ``churn``, ``routes``, ``win``).
    """

    accounts: pd.DataFrame
    tiers: pd.DataFrame
    churn: np.ndarray
    opportunities: pd.DataFrame
    routes: pd.DataFrame
    win: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)


def _predict(model, frame: pd.DataFrame) -> np.ndarray:
    names = [str(c) for c in getattr(model, "feature_names_in_", frame.columns)]
    present = [c for c in names if c in frame.columns]
    # Passing exactly the training columns that exist lets the model report a precise column
    # diff (with did-you-mean) for the ones that do not.
    return model.predict_proba(frame[present])[:, 1] if len(frame) else np.zeros(0)



def score_partition(
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: AsOf,
    rules: Mapping[str, Any],
    models: Mapping[str, Any],
    reference: FeatureReference | None = None,
) -> PartitionScores:
    """The row-wise stages for one partition of accounts (whole territories) and their leads.

    Everything here depends only on the partition's own rows (territory statistics are whole
    because a partition holds whole territories) and on ``reference``, the statistics over all
    accounts (:func:`engine.features.feature_reference`), so running partitions one by one, or
    on a Dask cluster, gives the same rows as one pass over everything.
    """
    check_mapping("score_partition", "tables", tables, "pass the validated tables as a dict of name to DataFrame")
    check_mapping("score_partition", "rules", rules, "pass load_default_rules() (a dict with 'tiers' and 'routing')")
    check_mapping("score_partition", "models", models, "pass {'churn': fitted, 'win': fitted}")
    seconds: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        return value

    accounts = timed("features", build_account_features, dict(tables), as_of, reference=reference)
    opportunities = timed(
        "features", build_opportunity_features, dict(tables), as_of, accounts=accounts, reference=reference
    )
    tiers = timed("tiers", tier_accounts, accounts, rules["tiers"], as_of=as_of)
    churn = timed("churn", _predict, models["churn"], accounts)
    routes = timed("routes", route_opportunities, opportunities, tiers, rules["routing"], as_of=as_of)
    win = timed("win", _predict, models["win"], opportunities)
    return PartitionScores(accounts=accounts, tiers=tiers, churn=churn, opportunities=opportunities, routes=routes,
                           win=win, seconds=seconds)
