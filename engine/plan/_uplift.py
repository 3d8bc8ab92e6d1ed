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

from engine._arguments import check_array, check_frame, check_has, check_number
from engine._errors import ArgumentError, DataError

__all__ = ["VISIT_FEATURES", "churn_if_contacted", "contact_saving"]

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
    check_has("churn_if_contacted", "model", model, ("predict_proba",), "a fitted churn model",
              "pass engine.models.load_model(path, kind='churn')")
    check_frame("churn_if_contacted", "features", features, "pass the accounts' features as the churn model scores them")
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


#: Days in a month, as the churn log-odds of the stated visit effect count months.
DAYS_PER_MONTH = 30.4375


def contact_saving(
    churn: np.ndarray,
    days_since_contact: np.ndarray,
    gap_days: np.ndarray,
    *,
    effect: float,
    max_gaps: float,
    horizon_weeks: int,
    score_days: int,
    effect_in_score: float,
) -> np.ndarray:
    """Drop in the probability of churning within ``horizon_weeks`` that a contact this week brings.

    The plan's ``ranking: visit_effect``: kam's own churn score and the team's stated assumption of
    what a contact does (``rules/plan.yaml``): the monthly churn log-odds rise by ``effect`` for
    every expected contact gap (``gap_days``, by the owner's role) beyond the first since the last
    contact, up to ``max_gaps`` gaps; a contact resets the gap.

    The score is read as the account's risk with its gap of today, carrying the share
    ``effect_in_score`` of the stated effect of that gap: the churn probability within
    ``score_days`` is turned into a constant monthly probability, its log-odds less that share of
    the effect of today's gap is the account's base (``effect_in_score`` 0: the score is read as
    the risk of an account just contacted - a churn model that learned little of the visit gap). Over the horizon the gap then grows week by week without a
    contact, or restarts from a contact in the middle of this week; the saving is the difference of
    the two probabilities of churning within the horizon (each ``1 - prod(1 - weekly hazard)``).
    Times the margin at stake, it is the margin a contact is expected to save.

    Parameters
    ----------
    churn : numpy.ndarray
        kam's churn probability of each account within ``score_days``.
    days_since_contact : numpy.ndarray
        Days from the last contact to the week's Monday (NaN: never contacted, counted at the cap).
    gap_days : numpy.ndarray
        The expected contact gap of each account, in days (> 0).
    effect : float
        Rise of the monthly churn log-odds per expected gap beyond the first.
    max_gaps : float
        Gaps counted at most.
    horizon_weeks : int
        Weeks over which the saving is counted (>= 1).
    score_days : int
        Horizon of the churn score in days (kam's churn model: 180).
    effect_in_score : float
        Share (0 to 1) of the stated effect of today's gap that ``churn`` already carries, on the
        monthly log-odds scale (``rules/plan.yaml``'s ``visit_effect_in_churn_score``; measure it
        with ``benchmarks/bench_plan.py --model-effect``). Required: 1 (the whole effect) reads a
        churn model that learned little of the gap, as kam's did, as calling neglected accounts safe.

    Returns
    -------
    numpy.ndarray
        The saving of each account, a probability in [0, 1].

    Examples
    --------
    A field account (gap 76 days) last visited 100 days ago is neglected and a visit now saves it
    points of churn; one visited yesterday gains little from another visit this week (only the
    last weeks of the horizon would pass its gap). The score is read with the shipped share of the
    stated effect in it:

    >>> from engine.plan import load_plan_rules
    >>> share = load_plan_rules()[1].visit_effect_in_churn_score
    >>> saving = contact_saving(np.array([0.1, 0.1]), np.array([100.0, 1.0]), np.array([76.0, 76.0]),
    ...                         effect=1.4, max_gaps=3, horizon_weeks=13, score_days=180, effect_in_score=share)
    >>> bool(saving[0] > 0.02), bool(saving[1] < 0.01)
    (True, True)
    """
    arrays = {name: check_array("contact_saving", name, value, "pass one number per account")
              for name, value in (("churn", churn), ("days_since_contact", days_since_contact), ("gap_days", gap_days))}
    if not (arrays["churn"].shape == arrays["days_since_contact"].shape == arrays["gap_days"].shape):
        raise ArgumentError("contact_saving: expected churn, days_since_contact and gap_days of one shape; got "
                            f"{arrays['churn'].shape}, {arrays['days_since_contact'].shape} and "
                            f"{arrays['gap_days'].shape}. Fix: pass one value per account in each.")
    for name, setting, least in (("effect", effect, None), ("max_gaps", max_gaps, 0.0),
                                 ("horizon_weeks", horizon_weeks, 1.0), ("score_days", score_days, 1.0),
                                 ("effect_in_score", effect_in_score, 0.0)):
        check_number("contact_saving", name, setting, "set it in rules/plan.yaml (see docs/plan.md)", least=least)
    if effect_in_score > 1.0:
        raise ArgumentError(f"contact_saving: expected effect_in_score from 0 to 1 (a share of the stated effect); got "
                            f"{effect_in_score!r}. Fix: set visit_effect_in_churn_score in rules/plan.yaml from 0 to 1.")
    if not (np.isfinite(arrays["gap_days"]) & (arrays["gap_days"] > 0)).all():
        bad = arrays["gap_days"][~(np.isfinite(arrays["gap_days"]) & (arrays["gap_days"] > 0))][0]
        raise ArgumentError(f"contact_saving: expected every gap_days > 0 (days between expected contacts); got "
                            f"{float(bad)!r}. Fix: set visit_gap_days_outside / visit_gap_days_inside > 0 in rules/plan.yaml.")
    churn = np.clip(arrays["churn"], 1e-6, 1.0 - 1e-6)
    gap = arrays["gap_days"]
    since = arrays["days_since_contact"]
    never = np.isnan(since)

    def gaps(days: np.ndarray) -> np.ndarray:
        return np.where(never, max_gaps, np.clip(days / gap - 1.0, 0.0, max_gaps))

    monthly = 1.0 - (1.0 - churn) ** (DAYS_PER_MONTH / score_days)
    base = np.log(monthly / (1.0 - monthly)) - effect_in_score * effect * gaps(np.where(never, 0.0, since))
    week_share = 7.0 / DAYS_PER_MONTH

    def weekly_hazard(logit: np.ndarray) -> np.ndarray:
        # clipped: exp of a log-odds past +-700 overflows (a large stated effect), the hazard is 0 or 1 there
        return 1.0 - (1.0 - 1.0 / (1.0 + np.exp(-np.clip(logit, -700.0, 700.0)))) ** week_share

    survive_without = np.ones(churn.shape)
    survive_with = np.ones(churn.shape)
    for week in range(1, int(horizon_weeks) + 1):
        survive_without *= 1.0 - weekly_hazard(base + effect * gaps(since + 7.0 * week))
        contacted = np.clip((7.0 * week - 3.5) / gap - 1.0, 0.0, max_gaps)
        survive_with *= 1.0 - weekly_hazard(base + effect * contacted)
    return np.clip(survive_with - survive_without, 0.0, 1.0)
