"""The ceiling: the simulator's own probability of each churn and win label.

The demo data is drawn from a known causal model (``engine.demo._simulate``), so the best
score any model could give is computable. kam's models are reported as a share of it (model
card, ``benchmarks/bench_models.py``).

* **win**: a deal's outcome is drawn once, when it is created, as
  ``won ~ Bernoulli(sigmoid(logit + e))`` with ``e ~ Normal(0, noise_sd)`` and ``logit`` from
  the account's state then (:func:`engine.demo._simulate.win_logit`). The oracle is
  ``E[sigmoid(logit + e)]`` by Gauss-Hermite quadrature: exact.
* **churn** (no order in ``[A, A + horizon)``): the simulation is re-run from its own state at
  the as-of date ``A`` with fresh randomness for the months after it (``replicates`` times;
  the history up to ``A`` is identical). In each replicate the order count of month ``j`` is
  Poisson with the simulator's rate ``rate_j`` (0 once churned), so the chance of no order
  in the window is ``exp(-sum_j rate_j * share_j)`` (``share_j``: the part of month ``j``
  inside the window; order days are uniform in the month). The oracle is the mean over
  replicates - exact in the order draws, Monte Carlo only in the future states (churn, trouble,
  engagement), so it is slightly noisy; the noise lowers its AUC a little, never raises it.

Neither changes the generated database: the simulator's hooks draw no random numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from engine._domain import OPPORTUNITY_SOURCES
from engine._errors import ArgumentError, DataError
from engine.demo import _params as P
from engine.demo._ids import format_ids, id_width
from engine.demo._simulate import sigmoid, win_logit
from engine.demo._tables import _as_end_date, simulate_world

__all__ = ["churn_oracle", "win_oracle", "demo_oracle"]


def churn_oracle(accounts: int, seed: int, end_date, as_of_dates: Iterable[Any], *,
                 horizon_days: int = 180, replicates: int = 16) -> pd.DataFrame:
    """The true probability that each account places no order within the horizon.

    Parameters
    ----------
    accounts, seed, end_date
        The demo database's arguments (``generate_demo_tables``).
    as_of_dates : iterable of date-like
        Month-end as-of dates inside the recorded window.
    horizon_days : int, default 180
    replicates : int, default 16
        Re-simulations of the future per as-of date.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``as_of``, ``probability`` for every account at every as-of date.
    """
    end = _as_end_date(end_date)
    base = simulate_world(accounts, seed, end)
    cal = base.calendar
    width = id_width(accounts, 7)
    ids = format_ids("A", np.arange(accounts), width=width)
    frames = []
    for as_of in as_of_dates:
        day = int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype(np.int64))
        month = int(np.searchsorted(cal.month_start, day, side="right") - 1)
        if month < 0 or day + horizon_days - 1 > cal.end_day:
            raise ArgumentError(f"churn oracle: expected an as-of date whose {horizon_days}-day horizon "
                                f"lies inside the simulated window; got {as_of}. Fix: pick a date whose "
                                "horizon ends within the data.")
        starts = cal.month_start.astype(np.int64)
        lengths = cal.month_days.astype(np.int64)
        overlap = np.clip(np.minimum(starts + lengths, day + horizon_days) - np.maximum(starts, day), 0, None)
        share = overlap / lengths
        months = np.flatnonzero(share > 0)
        total = np.zeros(accounts)
        for r in range(replicates):
            exposure = np.zeros(accounts)

            def observe(m: int, rate: np.ndarray, exposure=exposure, months=months, share=share) -> None:
                if m in months:
                    exposure += rate * share[m]

            fork_rng = np.random.default_rng([int(seed), int(accounts), day, r])
            simulate_world(accounts, seed, end, fork=(month + 1, fork_rng), observe_rates=observe)
            total += np.exp(-exposure)
        frames.append(pd.DataFrame({"account_id": ids, "as_of": pd.Timestamp(as_of),
                                    "probability": total / replicates}))
    return pd.concat(frames, ignore_index=True)


def win_oracle(accounts: int, seed: int, end_date, opportunities: pd.DataFrame) -> pd.DataFrame:
    """The true probability that each opportunity is won (exact).

    Parameters
    ----------
    accounts, seed, end_date
        The demo database's arguments.
    opportunities : pandas.DataFrame
        The demo's ``opportunities`` table (prospects' deals are priced from it).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``probability``.
    """
    world = simulate_world(accounts, seed, _as_end_date(end_date))
    events = world.events.opportunities
    # Ids number the deals in creation order (zero-padded): sort by them, whatever the read order.
    opportunities = opportunities.sort_values("opportunity_id", kind="stable").reset_index(drop=True)
    logit = np.empty(len(opportunities))
    has_account = opportunities["account_id"].notna().to_numpy()
    # The table lists deals by creation date (stable): the account deals keep event order.
    account_rows = np.argsort(events["created"], kind="stable")
    if has_account.sum() != len(account_rows):
        raise DataError(f"win oracle: expected the opportunities of the demo database made with accounts="
                        f"{accounts}, seed={seed}; got {int(has_account.sum()):,} account deals where that "
                        f"database has {len(account_rows):,}. Fix: pass the same accounts, seed and end_date.")
    logit[has_account] = events["win_logit"][account_rows]
    prospects = opportunities.loc[~has_account]
    source = pd.Categorical(prospects["source"], categories=list(OPPORTUNITY_SOURCES)).codes
    logit[~has_account] = win_logit(np.zeros(len(prospects)), np.zeros(len(prospects)),
                                    prospects["competitor"].notna().to_numpy(),
                                    prospects["est_amount"].to_numpy(dtype=float), source,
                                    np.full(len(prospects), -1))
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)  # E over Normal(0, 1)
    noise = P.WIN_COEFFICIENTS["noise_sd"] * nodes
    probability = (sigmoid(logit[:, None] + noise[None, :]) * weights).sum(axis=1) / weights.sum()
    return pd.DataFrame({"opportunity_id": opportunities["opportunity_id"].to_numpy(),
                         "probability": probability})


def demo_oracle(accounts: int, seed: int, end_date=P.DEMO_END_DATE, *, horizon_days: int = 180,
                replicates: int = 4):
    """An ``oracle`` for :func:`engine.pipeline.train_model` on a demo database.

    Returns a function ``(kind, meta, tables) -> probabilities`` aligned with ``meta`` (the
    validation rows' ``account_id``/``opportunity_id`` and ``as_of``). Only meaningful for a
    database generated with these ``accounts``, ``seed`` and ``end_date``.
    """

    def oracle(kind: str, meta: pd.DataFrame, tables) -> np.ndarray:
        if kind == "churn":
            truth = churn_oracle(accounts, seed, end_date, sorted(pd.to_datetime(meta["as_of"]).unique()),
                                 horizon_days=horizon_days, replicates=replicates)
            keys = ["account_id", "as_of"]
        else:
            truth = win_oracle(accounts, seed, end_date, tables["opportunities"])
            keys = ["opportunity_id"]
        joined = meta[keys].merge(truth, on=keys, how="left", validate="many_to_one")
        return joined["probability"].to_numpy()

    return oracle
