"""Route one lead the moment it arrives: tier, route, person within capacity, win probability.

:class:`LiveRouter` loads what every lead needs ONCE (the rules, the win model, a snapshot of
the database's features as of the run's date, the latest run's tiers, the reps and partners),
then :meth:`LiveRouter.route` decides one lead with no whole-table read: the lead's features
are built with the batch's own builders from the snapshot rows of its account, the route comes
from the routing rules on the durable_rules engine, the person from the batch's assignment
policy (:class:`engine.live._policy.OnePolicy`) over the loads in the database, and the
decision is recorded and its capacity claimed in one transaction
(:meth:`engine.storage.LiveStore.decide`).

``route_lead(lead, db=...)`` is the one-shot form (loads, routes one lead, closes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine._errors import ModelError
from engine._log import get_logger
from engine._progress import task
from engine.live._lead import Lead, LeadError, parse_lead
from engine.live._policy import OnePolicy, as_row
from engine.live._record import RecordBuilder, WinRecordScorer
from engine.storage import Database
from engine.storage._live import LiveStore, StaleBaseError

__all__ = ["LiveDecision", "LiveRouter", "route_lead"]

_log = get_logger("live")

#: account_scores columns that make up an account's current tier.
_TIER_COLUMNS = ("account_id", "tier", "tier_rule_id", "tier_because", "tier_status", "tier_reason")


@dataclass(frozen=True)
class LiveDecision:
    """What :meth:`LiveRouter.route` returns (and records in ``live_assignments``).

    Attributes
    ----------
    lead_id : str
        The lead's ``opportunity_id``.
    account_id : str or None
        None for a prospect.
    tier : {"A", "B", "C"} or None
        The account's current tier; None for a prospect or an account no tier rule decided.
    tier_source : {"run", "evaluated", "prospect"}
        ``run``: from the latest scoring run's ``account_scores``; ``evaluated``: the account
        is not in that run (or there is none), so the tier rules were evaluated now.
    tier_rule_id, tier_because : str or None
    route : {"owner", "outside", "inside", "partner", "unrouted"}
        From the routing rules on the durable_rules engine; ``unrouted`` when no rule decided.
    copy_outside : bool
    route_rule_id, route_because, route_status, route_reason : str or None
        The deciding rule, its reason in words, the rule engine's status (decided / default /
        unmatched / error) and, when not decided, why.
    assignee_type : {"rep", "partner", "none"}
    assignee_id, copied_rep_id, basis : str or None
        The person or partner chosen by the batch's assignment policy (``basis``
        ``locked_owner`` or ``territory_team``) and, for a partner deal, the outside rep copied.
    status : {"assigned", "unassigned"}
    status_reason, status_message : str or None
        Why a lead is unassigned (``engine.assign.STATUS_REASONS``), in a code and a sentence.
    owner_inactive, conflict : bool
    load_claimed : int
        1 when the decision took one slot of the assignee's capacity, else 0.
    win_probability, expected_deal_value : float or None
        From the published win model; expected value = probability x ``est_amount``.
    as_of : str
        The as-of date the features and rules used (ISO).
    base_run_id : str or None
        The scoring run whose tiers and loads the decision counted on.
    decided_at : str
        When the decision was recorded (UTC, ISO).
    seq : int
        Order of the decision among all live decisions of the database.
    replayed : bool
        True when the lead had been routed before: this is the recorded decision, unchanged.
    """

    lead_id: str
    account_id: str | None
    is_prospect: bool
    region: str | None
    industry: str | None
    est_amount: float | None
    tier: str | None
    tier_source: str
    tier_rule_id: str | None
    tier_because: str | None
    route: str
    copy_outside: bool
    route_rule_id: str | None
    route_because: str | None
    route_status: str
    route_reason: str | None
    assignee_type: str
    assignee_id: str | None
    copied_rep_id: str | None
    basis: str | None
    status: str
    status_reason: str | None
    status_message: str | None
    owner_inactive: bool
    conflict: bool
    load_claimed: int
    win_probability: float | None
    expected_deal_value: float | None
    as_of: str
    base_run_id: str | None
    decided_at: str
    seq: int
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, replayed: bool) -> LiveDecision:
        """The decision from its ``live_assignments`` row."""
        values = {}
        for field in dataclasses.fields(cls):
            if field.name == "replayed":
                continue
            name = "lead_id" if field.name == "lead_id" else field.name
            values[field.name] = _plain(row.get(name))
        for flag in ("is_prospect", "copy_outside", "owner_inactive", "conflict"):
            values[flag] = bool(values[flag])
        values["load_claimed"] = int(values["load_claimed"] or 0)
        values["seq"] = int(values["seq"] or 0)
        return cls(**values, replayed=replayed)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


@dataclass
class _Snapshot:
    """Everything a lead needs that does not change until the next scoring run."""

    run_id: str | None
    run_key: str | None
    as_of: dt.date
    customers: pd.DataFrame
    accounts: pd.DataFrame
    position: dict[str, int]
    reference: Any
    run_tiers: dict[str, dict[str, Any]]
    policy: OnePolicy
    builder: RecordBuilder
    owners: dict[str, dict[str, str | None]]
    tier_records: dict[str, dict[str, Any]]
    loaded_at: float


class LiveRouter:
    """Routes leads one by one against one database; load once, call :meth:`route` per lead.

    Parameters
    ----------
    db : Database, URL or path
        The customer database holding the scoring runs; the live tables are created there.
    as_of : date-like, optional
        The date the features and rules use. Default: the latest scoring run's as-of date
        (its tiers are the accounts' current tiers), else the day after the newest event in
        the data (the rule every command uses).
    rules_dir : path, optional
        Folder with ``tiers.yaml`` and ``routing.yaml`` (default: the shipped rules).
    artifacts_dir : path, default "models/artifacts"
        Folder with the published ``win.joblib`` and its card.

    Notes
    -----
    Loading reads and validates the whole database once (as ``kam score`` does) and builds
    every account's features: seconds for the 20,000-account demo. A route call then reads
    only the lead's own rows: the recorded decision (idempotency), the loads of the people who
    could take it, and writes one row. When a newer scoring run appears the router reloads
    before deciding. The router is safe to share between threads.

    Examples
    --------
    >>> router = LiveRouter("kam-demo.sqlite", artifacts_dir="kam-demo-models")  # doctest: +SKIP
    >>> decision = router.route({"opportunity_id": "L-1", "account_id": "K0000042", ...})  # doctest: +SKIP
    >>> decision.route, decision.assignee_id, decision.win_probability  # doctest: +SKIP
    """

    def __init__(self, db: Database | str | Path, *, as_of: Any = None, rules_dir: str | Path | None = None,
                 artifacts_dir: str | Path | None = None):
        from engine._paths import default_artifacts_dir
        from engine.pipeline._decide import load_default_rules

        self._owns_db = not isinstance(db, Database)
        self.database: Database = db if isinstance(db, Database) else Database(db, create=False)
        self._as_of_asked = as_of
        self.store = LiveStore(self.database)
        self._lock = threading.RLock()
        self._rules_lock = threading.Lock()
        try:
            started = time.perf_counter()
            self.rules = load_default_rules(rules_dir)
            self.win_model = _load_win_model(Path(artifacts_dir) if artifacts_dir is not None else default_artifacts_dir())
            self.win_model_sha256 = str(getattr(getattr(self.win_model, "card_", None), "sha256", "") or "")
            self._win = _WinScorer(self.win_model)
            with self._rules_lock:
                self.rules["routing"].durable_engine()  # compiled now, not on the first lead
                self.rules["tiers"].durable_engine()
            self.store.ensure_tables()
            self._snapshot = self._load_snapshot()
            _log.info("live router ready on %s in %.1f s", self.database.display_name, time.perf_counter() - started)
        except BaseException:
            self.close()
            raise

    # --- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Release the database connections (when the router opened the database)."""
        if self._owns_db:
            self.database.dispose()

    def __enter__(self) -> LiveRouter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def as_of(self) -> dt.date:
        """The as-of date of the current snapshot."""
        return self._snapshot.as_of

    @property
    def base_run_id(self) -> str | None:
        """The scoring run the current snapshot's tiers and loads come from."""
        return self._snapshot.run_id

    def refresh(self) -> None:
        """Reload the snapshot (data, features, tiers, people) from the database now."""
        with self._lock:
            self._snapshot = self._load_snapshot()

    def _load_snapshot(self) -> _Snapshot:
        from engine._asof import resolve_as_of
        from engine.features import build_account_features, feature_reference
        from engine.pipeline._ingest import read_and_validate

        started = time.perf_counter()
        run_id, run_as_of, run_key = self.store.latest_run()
        self.store.sync()
        if self._as_of_asked is not None:
            as_of = resolve_as_of(self._as_of_asked, self.database)
        elif run_as_of:
            as_of = dt.date.fromisoformat(run_as_of[:10])
        else:
            as_of = resolve_as_of(None, self.database)
        with task(f"live: reading {self.database.display_name}"):
            valid = read_and_validate(self.database, as_of=as_of).report.valid
        with task("live: account features"):
            accounts = build_account_features(valid, as_of)
            reference = feature_reference(valid, as_of)
        customers = valid["customers"].reset_index(drop=True)
        ids = customers["account_id"].astype(object).to_numpy()
        builder = RecordBuilder(customers, accounts, reference.territory_deals, as_of)
        run_tiers: dict[str, dict[str, Any]] = {}
        if run_id is not None:
            scores = self.database.read_results("account_scores", run_id, columns=list(_TIER_COLUMNS), missing_ok=True)
            for record in scores.to_dict("records"):
                run_tiers[str(record["account_id"])] = {k: _plain(v) for k, v in record.items()}
        # Only the columns a lead reads: a row taken from a narrow frame costs a fraction of a wide one.
        from engine.features import LINKED_ACCOUNT_FEATURES

        tier_inputs = [c for c in self.rules["tiers"].spec.inputs if c in accounts.columns]
        keep = list(dict.fromkeys(["account_id", *LINKED_ACCOUNT_FEATURES, *tier_inputs]))
        owners = customers[["account_id", "owner_rep_id", "owner_partner_id"]].astype(object)
        snapshot = _Snapshot(
            run_id=run_id, run_key=run_key, as_of=as_of,
            customers=customers[["account_id", "region", "industry", "owner_rep_id", "owner_partner_id"]],
            accounts=accounts[keep].reset_index(drop=True),
            position={str(a): i for i, a in enumerate(ids)}, reference=reference, run_tiers=run_tiers,
            policy=OnePolicy(valid["reps"], valid["partners"]), builder=builder,
            owners={str(a): {"owner_rep_id": _text_or_none(r), "owner_partner_id": _text_or_none(p)}
                    for a, r, p in owners.itertuples(index=False)},
            tier_records={}, loaded_at=time.time())
        _log.info("live snapshot of %s as of %s: %d accounts, %d tiers from run %s, %d reps and partners in %.1f s",
                  self.database.display_name, as_of, len(customers), len(run_tiers), run_id or "(none)",
                  snapshot.policy.people.n, time.perf_counter() - started)
        return snapshot

    # --- one lead ----------------------------------------------------------------------------
    def route(self, lead: Lead | Mapping[str, Any], *, source: str = "lead") -> LiveDecision:
        """Route one lead, record the decision and claim its capacity (one transaction).

        Parameters
        ----------
        lead : Lead or mapping
            The lead (see :func:`engine.live.parse_lead` for the fields).
        source : str, default "lead"
            How errors name where the lead came from.

        Returns
        -------
        LiveDecision
            Routing a lead already routed returns the recorded decision (``replayed`` True),
            whatever the lead says now: a lead is decided once.

        Raises
        ------
        LeadError
            The lead is not valid, or its ``account_id`` is not in the database.
        StorageError
            The decision could not be recorded (nothing was written).
        """
        started = time.perf_counter()
        if not isinstance(lead, Lead):
            lead = parse_lead(lead, source=source)
        for _attempt in range(3):
            snapshot = self._snapshot
            try:
                decided = self._decide(lead, snapshot, source)
            except LeadError:
                # a lead decided earlier is answered with its decision even if it no longer fits
                recorded = self.store.recorded(lead.opportunity_id)
                if recorded is not None:
                    return LiveDecision.from_row(recorded, replayed=True)
                raise
            try:
                def choose(load_of: Any, decided: dict[str, Any] = decided,
                           snapshot: Any = snapshot) -> dict[str, Any]:  # called inside decide()
                    return {**decided, **self._assign(lead, decided, snapshot, load_of)}

                claim = self.store.decide(lead.opportunity_id, base_run_key=snapshot.run_key, choose=choose,
                                          capacity_of=snapshot.policy.capacity)
            except StaleBaseError as stale:
                _log.info("a newer scoring run (%s) appeared; reloading the live snapshot", stale.latest_run_id)
                with self._lock:
                    if self._snapshot is snapshot:
                        self._snapshot = self._load_snapshot()
                continue
            decision = LiveDecision.from_row(claim.row, replayed=claim.replayed)
            _log.info("lead %s: tier %s (%s), route %s (%s), %s %s%s in %.1f ms", decision.lead_id, decision.tier,
                      decision.tier_source, decision.route, decision.route_rule_id, decision.status,
                      decision.assignee_id or decision.status_reason, " (replayed)" if claim.replayed else "",
                      (time.perf_counter() - started) * 1000)
            return decision
        from engine._errors import StorageError

        raise StorageError(f"lead {lead.opportunity_id!r}: scoring runs kept replacing each other while it was "
                           "routed; nothing was written. Route it again.")

    def _decide(self, lead: Lead, snap: _Snapshot, source: str) -> dict[str, Any]:
        """Everything but the person: features, tier, route, win probability (no database access)."""
        from engine.pipeline._decide import UNROUTED

        position = None
        if lead.account_id is not None:
            position = snap.position.get(lead.account_id)
            if position is None:
                raise LeadError(
                    f"{source} {lead.opportunity_id!r}: account_id {lead.account_id!r} is not a valid account of "
                    f"{self.database.display_name} (as loaded at "
                    f"{time.strftime('%H:%M:%S', time.localtime(snap.loaded_at))}). "
                    "Fix: send the lead as a prospect (prospect_name, region, industry), or load the account and "
                    "call refresh().",
                    [("account_id", "an account of the customers table", repr(lead.account_id),
                      "send a prospect, or load the account first")])
        newest = snap.as_of - dt.timedelta(days=1)
        created = min(lead.created_date or newest, newest)  # the youngest an open deal can be on the as-of date
        # the batch's opportunity features of this lead as an open deal (engine.live._record: equal by test)
        features = snap.builder.features(lead, created)
        tier = self._tier(lead, snap, position)
        owners: dict[str, str | None] = {"owner_rep_id": None, "owner_partner_id": None}
        if position is not None:
            owners = dict(snap.owners[lead.account_id or ""])
        routing = self.rules["routing"]
        record = _routing_record(features, routing.spec.inputs, tier["tier"], owners, linked=position is not None)
        with self._rules_lock:  # one durable_rules host: one fact at a time
            decision = routing.decide(record, as_of=snap.as_of, engine="durable")
        routed = decision.status in ("decided", "default") and decision.outputs.get("route") is not None
        probability = self._win(features)
        amount = lead.est_amount
        return {
            "lead_id": lead.opportunity_id,
            "as_of": snap.as_of.isoformat(),
            "account_id": lead.account_id,
            "is_prospect": lead.is_prospect,
            "region": features["region"],
            "industry": features["industry"],
            "est_amount": amount,
            **tier,
            "route": str(decision.outputs["route"]) if routed else UNROUTED,
            "copy_outside": bool(decision.outputs.get("copy_outside")) if routed else False,
            "route_rule_id": decision.rule_id,
            "route_because": decision.because,
            "route_status": decision.status,
            "route_reason": decision.reason,
            "win_probability": probability,
            "expected_deal_value": None if probability is None or amount is None else probability * amount,
            "tier_ruleset_hash": self.rules["tiers"].hash,
            "routing_ruleset_hash": routing.hash,
            "win_model_sha256": self.win_model_sha256,
            "lead": json.dumps(lead.as_dict(), ensure_ascii=False, sort_keys=True),
            **owners,
        }

    def _tier(self, lead: Lead, snap: _Snapshot, position: int | None) -> dict[str, Any]:
        if position is None:
            return {"tier": None, "tier_source": "prospect", "tier_rule_id": None, "tier_because": None}
        stored = snap.run_tiers.get(lead.account_id or "")
        if stored is not None:
            return {"tier": stored.get("tier"), "tier_source": "run", "tier_rule_id": stored.get("tier_rule_id"),
                    "tier_because": stored.get("tier_because")}
        rules = self.rules["tiers"]
        record = snap.tier_records.get(lead.account_id or "")
        if record is None:  # the account's tier inputs, read once per snapshot
            record = snap.accounts.iloc[[position]][list(rules.spec.inputs)].to_dict("records")[0]
            snap.tier_records[lead.account_id or ""] = record
        with self._rules_lock:
            decision = rules.decide(dict(record), as_of=snap.as_of, engine="durable")
        tier = decision.outputs.get("tier") if decision.status in ("decided", "default") else None
        return {"tier": tier, "tier_source": "evaluated", "tier_rule_id": decision.rule_id,
                "tier_because": decision.because if tier is not None else decision.reason}

    def _assign(self, lead: Lead, decided: Mapping[str, Any], snap: _Snapshot, load_of) -> dict[str, Any]:
        assignment = snap.policy.decide(
            lead.opportunity_id, str(decided["route"]), decided["region"], decided["industry"],
            decided["owner_rep_id"], decided["owner_partner_id"], load_of)
        return {**as_row(assignment), "load_claimed": 1 if assignment.claims is not None else 0}


def _routing_record(features: Mapping[str, Any], inputs, tier: str | None, owners: Mapping[str, str | None], *,
                    linked: bool) -> dict[str, Any]:
    """The routing rules' input for one lead: what ``engine.pipeline._decide.routing_frame`` adds.

    ``account_tier`` is the linked account's tier (null for a prospect or an undecided tier);
    ``has_owner_rep`` / ``has_owner_partner`` say whether the account has that owner. Built
    directly instead of through ``routing_frame`` (a few ms of pandas per lead); the
    differential test compares the routes with the batch's. Missing values (NaN) are null.
    """
    derived = {
        "account_tier": tier if linked and tier in ("A", "B", "C") else None,
        "has_owner_rep": linked and owners.get("owner_rep_id") is not None,
        "has_owner_partner": linked and owners.get("owner_partner_id") is not None,
    }
    return {name: derived[name] if name in derived else _plain(features[name]) for name in inputs}


def _text_or_none(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value)
    return text if text.strip() else None


def _load_win_model(artifacts_dir: Path):
    from engine.models import load_model

    path = artifacts_dir / "win.joblib"
    if not path.exists():
        raise ModelError(f"no published win model at {path}. Train one first: "
                         f"`kam train win --db URL --artifacts {artifacts_dir}`.")
    return load_model(path, kind="win")


class _WinScorer:
    """The win probability of one lead's feature record (a dict), as ``predict_proba`` gives it.

    :class:`engine.live._record.WinRecordScorer` encodes the record and scores it with the
    model's fast scorers compiled once, without a DataFrame (``tests/live`` checks it equals
    ``predict_proba``); a model it cannot score record by record is scored with its own
    ``predict_proba`` on the record as a one-row frame of the batch's dtypes.
    """

    def __init__(self, model):
        self.model = model
        self.names = [str(c) for c in getattr(model, "feature_names_in_", [])]
        try:
            self.record: WinRecordScorer | None = WinRecordScorer(model)
        except (TypeError, AttributeError) as why:
            _log.info("the win model is scored with predict_proba per lead (%s)", why)
            self.record = None

    def __call__(self, features: Mapping[str, Any]) -> float | None:
        if self.record is not None:
            return self.record(features)
        from engine._normalise import typed_frame
        from engine.features import OPPORTUNITY_FEATURE_COLUMNS

        frame = typed_frame({name: pd.Series([features[name]], dtype=object) for name in OPPORTUNITY_FEATURE_COLUMNS},
                            OPPORTUNITY_FEATURE_COLUMNS)
        present = [c for c in self.names if c in frame.columns] if self.names else list(frame.columns)
        value = float(np.asarray(self.model.predict_proba(frame[present]))[0, 1])
        return value if math.isfinite(value) else None


def route_lead(lead: Lead | Mapping[str, Any], db: Database | str | Path, as_of: Any = None, *,
               rules_dir: str | Path | None = None, artifacts_dir: str | Path | None = None) -> LiveDecision:
    """Route one lead as it arrives and record the decision (the one-shot form of :class:`LiveRouter`).

    Parameters
    ----------
    lead : Lead or mapping
        The opportunity: ``opportunity_id`` and an existing ``account_id``, or a prospect's
        ``prospect_name``, ``region`` and ``industry``; plus ``source``, ``product_line``,
        ``est_units``, ``est_amount`` and ``stage`` (see :func:`engine.live.parse_lead`).
    db : Database, URL or path
        The customer database with its scoring runs.
    as_of : date-like, optional
        Default: the latest scoring run's as-of date.
    rules_dir, artifacts_dir : path, optional
        As for :class:`LiveRouter`.

    Returns
    -------
    LiveDecision

    Notes
    -----
    Each call loads the rules, the model and a snapshot of the database (seconds). To route
    many leads, keep a :class:`LiveRouter` and call its :meth:`~LiveRouter.route`.
    """
    with LiveRouter(db, as_of=as_of, rules_dir=rules_dir, artifacts_dir=artifacts_dir) as router:
        return router.route(lead)
