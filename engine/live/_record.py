"""One lead's opportunity features and win probability in plain Python: no DataFrame per lead.

The batch builds the opportunity features of every open deal at once with pandas and Arrow
(:func:`engine.features.build_opportunity_features`); on a one-row frame that costs
milliseconds, almost all of it fixed overhead. :class:`RecordBuilder` precomputes, once per
snapshot, what that builder looks up per opportunity (each account's region, industry and
linked account features; each territory's deal counts) and then builds one lead's features as
a dict with the same values (``tests/live/test_live_record.py`` proves them equal to the batch
builder's over the demo's open opportunities, and on generated leads).

:class:`WinRecordScorer` turns that dict into the win model's internal row (the encodings of
``engine.models._columns.to_internal_matrix``) and scores it with the model's fast scorers
compiled once (:meth:`engine.models.AutoClassifier.compile_scorer`); equal to
``predict_proba`` on the batch's frame to 1e-12 (same test file).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from engine.features import LINKED_ACCOUNT_FEATURES, OPPORTUNITY_FEATURE_COLUMNS
from engine.features._opportunities import linked_name
from engine.live._lead import Lead

__all__ = ["RecordBuilder", "WinRecordScorer"]

_LINKED = tuple(linked_name(name) for name in LINKED_ACCOUNT_FEATURES)


def _text(value: Any) -> str | None:
    """A text cell as the batch reads it (Arrow large_string): None for missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


class RecordBuilder:
    """Builds one lead's row of :data:`OPPORTUNITY_FEATURE_COLUMNS` from per-account state.

    Parameters
    ----------
    customers : pandas.DataFrame
        ``account_id``, ``region``, ``industry`` of every valid account (the snapshot's).
    accounts : pandas.DataFrame
        ``account_id`` and the :data:`LINKED_ACCOUNT_FEATURES` of every account, from
        ``build_account_features`` at ``as_of``.
    territory_deals : mapping of str to (int, int)
        Deals won and decided per territory (``FeatureReference.territory_deals``).
    as_of : datetime.date
    """

    def __init__(self, customers: pd.DataFrame, accounts: pd.DataFrame,
                 territory_deals: Mapping[str, tuple[int, int]], as_of: dt.date):
        self.as_of = as_of
        ids = [str(a) for a in customers["account_id"].astype(object)]
        regions = [_text(v) for v in customers["region"].astype(object)]
        industries = [_text(v) for v in customers["industry"].astype(object)]
        self._place = {a: (r, i) for a, r, i in zip(ids, regions, industries)}
        matrix = np.column_stack([accounts[name].to_numpy(dtype=np.float64, na_value=np.nan)
                                  for name in LINKED_ACCOUNT_FEATURES]) if len(accounts) else np.empty((0, 0))
        self._linked = {str(a): row for a, row in zip(accounts["account_id"].astype(object), matrix.tolist())}
        self._missing = [math.nan] * len(_LINKED)
        self._deals = {str(name): (int(won), int(decided)) for name, (won, decided) in territory_deals.items()}

    def features(self, lead: Lead, created: dt.date) -> dict[str, Any]:
        """The lead's features, as ``build_opportunity_features`` gives them for it as an open deal.

        ``created`` is the creation date the lead is featured with (before the as-of date).
        Missing values are None (text) or NaN (numbers); the keys are
        :data:`OPPORTUNITY_FEATURE_COLUMNS` in order.
        """
        account = lead.account_id
        if account is not None and account in self._place:
            region, industry = self._place[account]
        else:
            region, industry = lead.region, lead.industry
        territory = None if region is None or industry is None else f"{region}/{industry}"
        won, decided = self._deals.get(territory, (0, 0)) if territory is not None else (0, 0)
        linked = self._linked.get(account, self._missing) if account is not None else self._missing
        record: dict[str, Any] = {
            "opportunity_id": lead.opportunity_id,
            "account_id": account,
            "is_prospect": account is None,
            "region": region,
            "industry": industry,
            "territory": territory,
            "source": lead.source,
            "product_line": lead.product_line,
            "est_units": math.nan if lead.est_units is None else float(lead.est_units),
            "est_amount": math.nan if lead.est_amount is None else float(lead.est_amount),
            "stage": lead.stage,
            "age_days": (self.as_of - created).days,
            "competitor": lead.competitor is not None and bool(lead.competitor.strip()),
            "territory_win_rate_12m": won / decided if decided else math.nan,
            "territory_closed_deals_12m": decided,
        }
        record.update(zip(_LINKED, linked))
        return record


class WinRecordScorer:
    """The win probability of one feature record (a dict), without a DataFrame.

    Parameters
    ----------
    model : AutoClassifier
        The published win model; its encodings and fast scorers are compiled here, once.

    Raises
    ------
    TypeError
        The model cannot be scored record by record (no ``compile_scorer``, a datetime input,
        or an input the records do not carry); the router then uses ``predict_proba``.
    """

    def __init__(self, model):
        compiled = model.compile_scorer()
        if any(kind == "datetime" for kind in compiled.kinds.values()):
            raise TypeError("the model has a datetime input; records carry none")
        unknown = [c for c in compiled.columns if c not in OPPORTUNITY_FEATURE_COLUMNS]
        if unknown:
            raise TypeError(f"the model reads columns the opportunity features do not have: {unknown}")
        self.columns = compiled.columns
        self._predict = compiled.predict
        # one encoder per column: a number as float, a category as its training code
        self._codes = {name: {value: float(code) for code, value in enumerate(compiled.categories[name])}
                       for name, kind in compiled.kinds.items() if kind == "categorical"}

    def internal(self, record: Mapping[str, Any]) -> np.ndarray:
        """The model's internal row (1 x columns) of one record: ``to_internal_matrix`` of its frame."""
        row = np.empty((1, len(self.columns)), order="F")
        for j, name in enumerate(self.columns):
            value = record[name]
            codes = self._codes.get(name)
            if codes is not None:
                row[0, j] = math.nan if value is None else codes.get(str(value), -1.0)
            elif value is None:
                row[0, j] = math.nan
            else:
                row[0, j] = float(value)
        return row

    def __call__(self, record: Mapping[str, Any]) -> float | None:
        """Calibrated win probability of the record; None when not finite."""
        value = float(self._predict(self.internal(record))[0])
        return value if math.isfinite(value) else None
