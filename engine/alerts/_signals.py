"""The signal frame: one row per account with every input of ``rules/alerts.yaml``.

It joins a run's ``account_scores`` (tier, churn probability, value at risk, owners, reasons),
the change of churn probability since the previous run, the account features of the run's as-of
date (docs/features.md) and two signals the feature builder does not produce, computed here
from the tables with the same as-of convention (only rows dated before the as-of date):

* ``oldest_open_complaint_days``: days since the oldest complaint still open at the as-of date
  was opened (null when none is open);
* ``days_since_lost_to_competitor`` and ``lost_to_competitor``: days since the latest deal
  lost to a named competitor closed, and that competitor (null when none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_frame, check_mapping
from engine._asof import AsOf, as_of_date
from engine._errors import DataError

__all__ = ["FEATURE_INPUTS", "SCORE_COLUMNS", "build_signals", "complaint_and_competitor_signals"]

#: Account features (engine.features.build_account_features) the policies read.
FEATURE_INPUTS = (
    "status", "coverage_levels", "days_since_key_contact_left", "days_since_last_visit", "revenue_change_12m",
    "owner_rep_active", "days_since_rep_change", "rep_changes_24m",
)
#: Columns of account_scores the signal frame carries.
SCORE_COLUMNS = (
    "account_id", "name", "region", "territory", "owner_rep_id", "owner_partner_id", "tier", "serving_role",
    "churn_probability", "expected_margin_12m", "value_at_risk", "top_reasons",
)


def _day_numbers(values: Any) -> np.ndarray:
    """Dates (datetime64, ISO text, date objects) -> float day numbers, NaN for null."""
    stamps = pd.to_datetime(pd.Series(values), errors="coerce").dt.tz_localize(None) if len(values) else pd.Series([], dtype="datetime64[ns]")
    return ((stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(dtype="float64", na_value=np.nan)


def complaint_and_competitor_signals(tables: Mapping[str, pd.DataFrame], as_of: AsOf) -> pd.DataFrame:
    """Oldest open complaint and latest deal lost to a named competitor, per account, as of ``as_of``.

    Returns a frame indexed by ``account_id`` with ``oldest_open_complaint_days``,
    ``days_since_lost_to_competitor`` and ``lost_to_competitor`` (accounts with neither are absent).
    """
    day = float((pd.Timestamp(as_of_date(as_of, tables)) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1))
    parts = []
    tickets = tables.get("tickets")
    if tickets is not None and len(tickets):
        opened = _day_numbers(tickets["opened_date"])
        closed = _day_numbers(tickets["closed_date"])
        open_now = (tickets["kind"].astype(str).to_numpy() == "complaint") & (opened < day) & ~(closed < day)
        if open_now.any():
            oldest = pd.Series(day - opened[open_now], index=tickets["account_id"].astype(str).to_numpy()[open_now])
            parts.append(oldest.groupby(level=0).max().rename("oldest_open_complaint_days"))
    deals = tables.get("opportunities")
    if deals is not None and len(deals):
        closed = _day_numbers(deals["closed_date"])
        competitor = deals["competitor"].astype(object)
        lost = ((deals["outcome"].astype(str).to_numpy() == "lost") & (closed < day) & competitor.notna().to_numpy()
                & deals["account_id"].notna().to_numpy())
        if lost.any():
            frame = pd.DataFrame({
                "account_id": deals["account_id"].astype(str).to_numpy()[lost],
                "days_since_lost_to_competitor": day - closed[lost],
                "lost_to_competitor": competitor.to_numpy()[lost],
            }).sort_values(["account_id", "days_since_lost_to_competitor", "lost_to_competitor"])
            latest = frame.drop_duplicates("account_id", keep="first").set_index("account_id")
            parts.append(latest["days_since_lost_to_competitor"])
            parts.append(latest["lost_to_competitor"])
    if not parts:
        return pd.DataFrame(columns=["oldest_open_complaint_days", "days_since_lost_to_competitor", "lost_to_competitor"])
    out = pd.concat(parts, axis=1)
    for column in ("oldest_open_complaint_days", "days_since_lost_to_competitor", "lost_to_competitor"):
        if column not in out:
            out[column] = np.nan
    return out


def build_signals(
    scores: pd.DataFrame,
    features: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    as_of: AsOf,
    previous_scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per scored account with every input the alert policies read.

    Parameters
    ----------
    scores : pandas.DataFrame
        The run's ``account_scores`` (at least :data:`SCORE_COLUMNS` but ``top_reasons``).
    features : pandas.DataFrame
        ``build_account_features(tables, as_of)`` of the run's as-of date.
    tables : mapping
        The customer tables (``tickets`` and ``opportunities`` are read).
    as_of : date-like
        The run's as-of date.
    previous_scores : pandas.DataFrame, optional
        ``account_scores`` of the previous run: ``churn_probability_change`` is null without it.
    """
    check_frame("build_signals", "scores", scores, "pass the run's account_scores as a DataFrame")
    check_frame("build_signals", "features", features, "pass build_account_features(tables, as_of)")
    check_mapping("build_signals", "tables", tables, "pass the customer tables as a dict of name to DataFrame")
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns and c != "top_reasons"]
    if missing:
        raise DataError(f"account_scores lacks the columns {missing} the alert policies need. Fix: score the "
                        "database again with this version of kam (`kam score --db URL`).")
    absent = [c for c in FEATURE_INPUTS if c not in features.columns]
    if absent:
        raise DataError(f"the account features lack {absent}. Fix: build them with engine.features.build_account_features.")
    out = scores[[c for c in SCORE_COLUMNS if c in scores.columns]].copy()
    out["account_id"] = out["account_id"].astype(str)
    if "top_reasons" not in out:
        out["top_reasons"] = None
    feats = features[["account_id", *FEATURE_INPUTS]].copy()
    feats["account_id"] = feats["account_id"].astype(str)
    out = out.merge(feats, on="account_id", how="left", validate="one_to_one")
    extra = complaint_and_competitor_signals(tables, as_of)
    out = out.merge(extra, left_on="account_id", right_index=True, how="left")
    if previous_scores is not None and len(previous_scores):
        prev = previous_scores[["account_id", "churn_probability"]].astype({"account_id": str})
        prev = prev.drop_duplicates("account_id").rename(columns={"churn_probability": "previous_churn_probability"})
        out = out.merge(prev, on="account_id", how="left")
    else:
        out["previous_churn_probability"] = np.nan
    out["churn_probability"] = pd.to_numeric(out["churn_probability"], errors="coerce").astype("float64")
    out["previous_churn_probability"] = pd.to_numeric(out["previous_churn_probability"], errors="coerce").astype("float64")
    out["churn_probability_change"] = out["churn_probability"] - out["previous_churn_probability"]
    for column in ("value_at_risk", "expected_margin_12m", "days_since_key_contact_left", "days_since_last_visit",
                   "revenue_change_12m", "days_since_rep_change", "oldest_open_complaint_days",
                   "days_since_lost_to_competitor"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    for column in ("coverage_levels", "rep_changes_24m"):
        out[column] = pd.to_numeric(out[column], errors="coerce").fillna(0).astype("int64")
    out["owner_rep_active"] = out["owner_rep_active"].astype("boolean").fillna(True).astype(bool)
    for column in ("status", "tier", "serving_role", "owner_rep_id", "owner_partner_id", "name", "region"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out.reset_index(drop=True)
