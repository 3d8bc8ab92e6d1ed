"""A scoring run's results reconciled with the leads routed live while it computed.

``kam score`` reads the live decisions (``live_assignments``) when it starts and writes its
results minutes later. Leads routed live in between claimed slots against the previous run's
loads, and an open opportunity among them may have been given to someone else by the run. The
run's commit therefore re-reads the live decisions made since it started, under the live lock
and inside its own write transaction (:meth:`engine.storage.LiveStore.under_live_lock`), and
:class:`LiveReconciler` rewrites the run's tables before they are written:

1. an open opportunity decided live meanwhile keeps its live route and assignment
   (``decided_live`` true); the slot the run had given it, if any, is released;
2. every live claim counts on the person's load (a lead decided live that is not an
   opportunity of the run yet counts too; one whose opportunity is closed counts nothing;
   a person no longer in ``reps`` / ``partners`` is dropped), as for the decisions the run
   read when it started;
3. a person now over capacity gives back the run's own claims, the last in the run's
   processing order first (the smallest deals: the batch serves larger deals first); each
   such opportunity ends ``unassigned`` with reason :data:`CAPACITY_TAKEN_LIVE` and a
   sentence naming the person and the live leads that took the slots;
4. ``assignment_load`` and the ``runs`` row get the new loads, the assigned count and the
   newest live decision counted (``live_seq``): the live path's base from then on.

Pure functions over DataFrames; the database work is the storage hook's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine._log import get_logger

__all__ = ["CAPACITY_TAKEN_LIVE", "LiveReconciler", "reconcile_with_live"]

#: Status reason of a run's assignment given back because leads routed live while the run
#: computed took the person's last slots (in ``engine.assign.STATUS_REASONS``; only a run's
#: commit sets it, never the assignment stage).
CAPACITY_TAKEN_LIVE = "capacity_taken_live"

#: ``live_assignments`` column -> ``opportunity_routes`` column, for a lead decided live.
_FROM_LIVE = {
    "route": "route", "copy_outside": "copy_outside", "route_rule_id": "route_rule_id",
    "route_because": "route_because", "route_status": "route_status", "route_reason": "route_reason",
    "assignee_type": "assignee_type", "assignee_id": "assignee_id", "copied_rep_id": "copied_rep_id",
    "status": "assignment_status", "status_reason": "status_reason", "status_message": "status_message",
}

_log = get_logger("score")


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`reconcile_with_live` did.

    Attributes
    ----------
    opportunity_routes, assignment_load : pandas.DataFrame
        The run's tables as they are written.
    live_seq : int
        The newest live decision the run now counts.
    kept_live : list of str
        Open opportunities of the run decided live while it computed (they keep that decision).
    counted_live : int
        Live claims counted on top of the run's loads.
    given_back : list of str
        The run's own assignments turned ``unassigned`` (:data:`CAPACITY_TAKEN_LIVE`).
    """

    opportunity_routes: pd.DataFrame
    assignment_load: pd.DataFrame
    live_seq: int
    kept_live: list[str] = field(default_factory=list)
    counted_live: int = 0
    given_back: list[str] = field(default_factory=list)


def reconcile_with_live(
    routes: pd.DataFrame,
    load: pd.DataFrame,
    live: pd.DataFrame,
    *,
    opportunity_ids: set[str],
    live_seq: int,
) -> Reconciliation:
    """The run's ``opportunity_routes`` and ``assignment_load`` with ``live`` decisions taken in.

    Parameters
    ----------
    routes : pandas.DataFrame
        The run's ``opportunity_routes`` (``opportunity_id``, ``est_amount``, the route
        columns, ``assignee_type``, ``assignee_id``, ``copied_rep_id``, ``assignment_status``,
        ``status_reason``, ``status_message``, ``decided_live``).
    load : pandas.DataFrame
        The run's ``assignment_load`` (``assignee_type``, ``assignee_id``, ``capacity``,
        ``load``), one row per rep and partner.
    live : pandas.DataFrame
        ``live_assignments`` rows the run did not read when it started, in ``seq`` order.
    opportunity_ids : set of str
        Every opportunity of the run's validated ``opportunities`` table (open and closed).
    live_seq : int
        The newest ``seq`` among all live decisions now.

    Returns
    -------
    Reconciliation
    """
    routes = routes.copy()
    load = load.copy()
    load["live_seq"] = np.full(len(load), int(live_seq), dtype=np.int64)
    if len(live) == 0:
        return Reconciliation(routes, load, int(live_seq))
    n = len(routes)
    ids = routes["opportunity_id"].astype(str).to_numpy(dtype=object)
    row_of = {opportunity: i for i, opportunity in enumerate(ids)}
    columns = {name: routes[name].astype(object).to_numpy(copy=True) for name in _FROM_LIVE.values()
               if name in routes.columns}
    decided_live = routes["decided_live"].fillna(False).astype(bool).to_numpy(copy=True) \
        if "decided_live" in routes.columns else np.zeros(n, dtype=bool)
    slot_of = {(str(t), str(i)): k for k, (t, i) in
               enumerate(zip(load["assignee_type"].astype(str), load["assignee_id"].astype(str)))}
    loads = pd.to_numeric(load["load"]).to_numpy(dtype=np.int64, copy=True)
    taken_by: dict[int, list[str]] = {}
    kept: list[str] = []
    counted = 0
    for record in live.to_dict("records"):
        lead = str(record["lead_id"])
        row = row_of.get(lead)
        claims = _number(record.get("load_claimed")) > 0
        if row is not None:
            if columns["assignment_status"][row] == "assigned" and not decided_live[row]:
                slot = slot_of.get((str(columns["assignee_type"][row]), str(columns["assignee_id"][row])))
                if slot is not None:  # the run's own claim for it is released
                    loads[slot] -= 1
            for source, target in _FROM_LIVE.items():
                if target in columns:
                    columns[target][row] = _missing_as_none(record.get(source))
            decided_live[row] = True
            kept.append(lead)
        elif lead in opportunity_ids:  # closed since it was routed: carries no load
            claims = False
        if claims:
            slot = slot_of.get((str(record.get("assignee_type")), str(record.get("assignee_id"))))
            if slot is not None:  # someone no longer in reps / partners carries nothing
                loads[slot] += 1
                counted += 1
                taken_by.setdefault(slot, []).append(lead)
    capacity = pd.to_numeric(load["capacity"]).to_numpy(dtype=np.int64)
    given_back = _give_back(routes, columns, decided_live, loads, capacity, load, taken_by)
    for name, values in columns.items():
        routes[name] = _like(values, routes[name])
    if "copy_outside" in routes.columns:
        routes["copy_outside"] = routes["copy_outside"].fillna(False).astype(bool)
    routes["decided_live"] = decided_live
    load["load"] = loads
    return Reconciliation(routes, load, int(live_seq), kept, counted, given_back)


def _give_back(routes: pd.DataFrame, columns: dict[str, np.ndarray], decided_live: np.ndarray, loads: np.ndarray,
               capacity: np.ndarray, load: pd.DataFrame, taken_by: Mapping[int, list[str]]) -> list[str]:
    """Turn the run's own claims of people over capacity unassigned (last in processing order first)."""
    over = np.flatnonzero(loads > capacity)
    if len(over) == 0:
        return []
    amount = pd.to_numeric(routes["est_amount"], errors="coerce").to_numpy(dtype=float, na_value=np.nan) \
        if "est_amount" in routes.columns else np.zeros(len(routes))
    amount = np.where(np.isnan(amount), -np.inf, amount)
    ids = routes["opportunity_id"].astype(str).to_numpy(dtype=object)
    given: list[str] = []
    for slot in over:
        kind, person = str(load["assignee_type"].iloc[slot]), str(load["assignee_id"].iloc[slot])
        mine = np.flatnonzero((columns["assignment_status"] == "assigned") & ~decided_live
                              & (columns["assignee_type"].astype(str) == kind)
                              & (columns["assignee_id"].astype(str) == person))
        # the batch serves larger deals first, then by id: the last it served give way first
        order = sorted(mine.tolist(), key=lambda r: (-amount[r], str(ids[r])), reverse=True)
        excess = int(loads[slot] - capacity[slot])
        leads = taken_by.get(int(slot), [])
        shown = ", ".join(leads[:5]) + (f" and {len(leads) - 5} more" if len(leads) > 5 else "")
        message = (f"{kind} {person} reached capacity ({int(capacity[slot])}) with leads routed live while this run "
                   f"was computing ({shown or 'earlier live leads'}); left unassigned for the next run or a live "
                   "route, which choose within the territory team")
        for row in order[:excess]:
            columns["assignment_status"][row] = "unassigned"
            columns["assignee_type"][row] = "none"
            columns["assignee_id"][row] = None
            if "copied_rep_id" in columns:
                columns["copied_rep_id"][row] = None
            columns["status_reason"][row] = CAPACITY_TAKEN_LIVE
            columns["status_message"][row] = message
            loads[slot] -= 1
            given.append(str(ids[row]))
    return given


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if number != number else number


def _missing_as_none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def _like(values: np.ndarray, original: pd.Series) -> pd.Series:
    """``values`` as a column of ``original``'s dtype (the text columns stay text)."""
    series = pd.Series(values, index=original.index, dtype=object)
    dtype = original.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        extra = [v for v in pd.unique(series.dropna()) if v not in dtype.categories]
        return series.astype(pd.CategoricalDtype(dtype.categories.append(pd.Index(extra, dtype=object))
                                                 if extra else dtype.categories))
    if pd.api.types.is_bool_dtype(dtype):
        return series.fillna(False).astype(bool)
    if dtype == object:
        return series
    try:
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series


class LiveReconciler:
    """The ``reconcile`` of :meth:`engine.storage.LiveStore.under_live_lock` for one run.

    Called inside the run's write transaction with the live decisions the run did not read;
    returns the run's tables with them taken in, and keeps the :class:`Reconciliation` so
    that the returned :class:`~engine.pipeline.ScoreResult` equals what was written.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The run's result tables as computed (``runs``, ``opportunity_routes``,
        ``assignment_load``, ...).
    opportunity_ids : set of str
        Every opportunity of the run's validated ``opportunities`` table.
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame], opportunity_ids: set[str]):
        self.tables = dict(tables)
        self.opportunity_ids = opportunity_ids
        self.outcome: Reconciliation | None = None

    def __call__(self, live: pd.DataFrame, live_seq: int) -> dict[str, pd.DataFrame]:
        done = reconcile_with_live(self.tables["opportunity_routes"], self.tables["assignment_load"], live,
                                   opportunity_ids=self.opportunity_ids, live_seq=live_seq)
        self.outcome = done
        runs = self.tables["runs"].copy()
        runs["live_seq"] = np.full(len(runs), int(live_seq), dtype=np.int64)
        if len(live):
            runs["assigned"] = int((done.opportunity_routes["assignment_status"] == "assigned").sum())
            _log.info("run commit: %d live decisions made while the run computed; %d open opportunities keep their "
                      "live decision, %d live claims counted, %d of the run's assignments given back (%s)",
                      len(live), len(done.kept_live), done.counted_live, len(done.given_back), CAPACITY_TAKEN_LIVE)
        return {**self.tables, "runs": runs, "opportunity_routes": done.opportunity_routes,
                "assignment_load": done.assignment_load}

    def applied(self, result: Any) -> Any:
        """``result`` (a ScoreResult) with the written tables, run row and loads."""
        done = self.outcome
        if done is None:
            return result
        run = {**result.run, "live_seq": done.live_seq,
               "assigned": int((done.opportunity_routes["assignment_status"] == "assigned").sum())}
        load = result.assignment_load
        if load is not None and len(load) == len(done.assignment_load):
            after = done.assignment_load["load"].to_numpy()
            load = load.assign(load_after=after, assigned=after - load["load_before"].to_numpy())
        return dataclasses.replace(result, opportunity_routes=done.opportunity_routes, run=run, assignment_load=load)
