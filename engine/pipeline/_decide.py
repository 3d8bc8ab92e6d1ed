"""The rules stage of the pipeline: tier every account, route every open opportunity, assign.

Pure functions over DataFrames, no I/O. The shipped rule files are ``rules/tiers.yaml`` and
``rules/routing.yaml`` (explained in ``docs/tiering-and-routing.md``)::

    features -> tier_accounts -> route_opportunities -> assign_opportunities

Every account gets a tier and every open opportunity gets a route: a record that no rule decides
(status ``unmatched``) or whose data a rule cannot read (status ``error``) keeps its status and
reason, and its route is ``unrouted``, so it is reported and never dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from engine._arguments import check_type
from engine._asof import AsOf
from engine._errors import ColumnMismatchError, DataError, RuleFileError
from engine._normalise import duplicate_keys, encode_keys, key_array
from engine._paths import as_path
from engine.assign._assign import ROUTES, UNROUTED, AssignmentResult
from engine.rules import RuleSet, load_rule_dir
from engine.rules._ruleset import rule_engine

__all__ = [
    "TIER_COLUMNS",
    "ROUTE_COLUMNS",
    "ROUTING_INPUT_COLUMNS",
    "UNROUTED",
    "load_default_rules",
    "tier_accounts",
    "routing_frame",
    "route_opportunities",
    "assignment_routes",
    "assign_opportunities",
    "honour_live_routes",
    "LIVE_ASSIGNMENT_COLUMNS",
]

#: Columns of :func:`tier_accounts` (after ``account_id``, ``owner_rep_id``, ``owner_partner_id``).
TIER_COLUMNS: tuple[str, ...] = (
    "tier",
    "management_mode",
    "serving_role",
    "tier_rule_id",
    "tier_because",
    "tier_status",
    "tier_reason",
    "tier_ruleset_hash",
)
#: Columns of :func:`route_opportunities` (after ``opportunity_id`` and ``account_id``).
ROUTE_COLUMNS: tuple[str, ...] = (
    "route",
    "copy_outside",
    "route_rule_id",
    "route_because",
    "route_status",
    "route_reason",
    "route_ruleset_hash",
)
#: Columns :func:`routing_frame` derives for the routing rules, besides the opportunity features.
ROUTING_INPUT_COLUMNS: tuple[str, ...] = ("account_tier", "has_owner_rep", "has_owner_partner")
#: Route of an opportunity no routing rule decided (engine.assign reports it ``no_rule_matched``).
_ROUTE_VALUES = ROUTES  # defined once, by the assignment stage that reads them
_RESULT_COLUMNS = ("rule_id", "because", "status", "reason", "ruleset_hash")


def load_default_rules(rules_dir: str | Path | None = None) -> dict[str, RuleSet]:
    """Load the tier and routing rule sets.

    Parameters
    ----------
    rules_dir : str or Path, optional
        Folder of ``*.yaml`` rule files; default :func:`engine._paths.default_rules_dir`
        (the repository's ``rules/``).

    Returns
    -------
    dict of str to RuleSet
        Rule-set name -> rule set; holds at least ``"tiers"`` and ``"routing"``.

    Raises
    ------
    RuleFileError
        The folder lacks the ``tiers`` or ``routing`` rule set (or a file does not load).

    Examples
    --------
    >>> rules = load_default_rules()
    >>> {"routing", "tiers"} <= set(rules)
    True
    """
    if rules_dir is None:
        from engine._paths import default_rules_dir

        rules_dir = default_rules_dir()
    rules_dir = as_path(rules_dir, "the rules folder", "rules/")
    if not rules_dir.is_dir():
        raise RuleFileError(f"expected a folder of rule files, got {rules_dir}; pass the rules/ folder", file=str(rules_dir))
    loaded = load_rule_dir(rules_dir)
    missing = [name for name in ("tiers", "routing") if name not in loaded]
    if missing:
        raise RuleFileError(
            f"rule set(s) {missing} not found in {rules_dir} (found {sorted(loaded)}); the rules stage "
            "needs a rule file with 'name: tiers' and one with 'name: routing'", file=str(rules_dir))
    return loaded


def _check_arguments(where: str, **given: tuple[object, type, str]) -> None:
    """ArgumentError naming the first argument of the wrong type (expected / got / fix)."""
    for name, (value, kind, fix) in given.items():
        check_type(where, name, value, kind, fix)


def _prefixed(result: pd.DataFrame, prefix: str) -> dict[str, pd.Series]:
    return {f"{prefix}_{name}": result[name] for name in _RESULT_COLUMNS}


def tier_accounts(account_features: pd.DataFrame, tier_rules: RuleSet, *, as_of: AsOf,
                  engine: str | None = None, backend: str | None = None) -> pd.DataFrame:
    """Tier every account with the tier rule set.

    Parameters
    ----------
    account_features : pandas.DataFrame
        Output of :func:`engine.features.build_account_features` (or any frame with
        ``account_id`` and the rule set's inputs).
    tier_rules : RuleSet
        ``rules/tiers.yaml`` or a variant with outputs ``tier``, ``management_mode`` and
        ``serving_role``.
    as_of : date or str
        Passed to the rule engine (``days_since``).
    engine : {"vectorized", "durable"}, default "vectorized"
        The rule engine (``backend=`` is the old name, deprecated).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``account_features`` (same index and order): ``account_id``, the lock
        ``owner_rep_id`` / ``owner_partner_id`` (copied when present, for the routing stage),
        then :data:`TIER_COLUMNS`. Text columns are categorical. Accounts the rules cannot
        decide keep a row with ``tier_status`` ``unmatched`` / ``error`` and the reason; their
        tier is null.

    Raises
    ------
    ColumnMismatchError
        ``account_id`` or an input of the rule set is missing (with a did-you-mean).
    """
    _check_arguments("tier_accounts",
                     account_features=(account_features, pd.DataFrame, "pass engine.build_account_features(tables, as_of)"),
                     tier_rules=(tier_rules, RuleSet, "pass engine.load_rules('rules/tiers.yaml')"))
    if "account_id" not in account_features.columns:
        raise ColumnMismatchError(
            f"tier_accounts expects the account features with an 'account_id' column; got columns "
            f"{list(account_features.columns)[:12]}; pass engine.features.build_account_features(...)")
    for name in ("tier", "management_mode", "serving_role"):
        if name not in tier_rules.outputs:
            raise RuleFileError(
                f"rule set {tier_rules.name!r} is not a tier rule set: output {name!r} is missing "
                f"(outputs: {list(tier_rules.outputs)})", file=tier_rules.spec.file)
    result = tier_rules.evaluate(account_features, rule_engine(engine, backend, "vectorized", "tier_accounts"),
                                 as_of=as_of)
    columns: dict[str, pd.Series] = {"account_id": account_features["account_id"]}
    for owner in ("owner_rep_id", "owner_partner_id"):
        if owner in account_features.columns:
            columns[owner] = account_features[owner]
    for name in ("tier", "management_mode", "serving_role"):
        columns[name] = result[name]
    columns.update(_prefixed(result, "tier"))
    return pd.DataFrame(columns, index=account_features.index)


def _present(ids: pd.Series) -> np.ndarray:
    """True where an id is neither null nor blank."""
    text = ids.astype("str")
    return (text.notna() & (text.str.strip() != "")).to_numpy(dtype=bool, na_value=False)


def routing_frame(opportunity_features: pd.DataFrame, account_tiers: pd.DataFrame) -> pd.DataFrame:
    """The routing rules' input: opportunity features plus the linked account's tier and lock.

    Adds :data:`ROUTING_INPUT_COLUMNS` to a copy of ``opportunity_features``:

    - ``account_tier``: the linked account's ``tier`` from ``account_tiers``; null for a prospect,
      for an account missing from ``account_tiers`` and for an account whose tier is null (not
      decided). Categorical with categories A, B, C.
    - ``has_owner_rep`` / ``has_owner_partner``: the linked account has an ``owner_rep_id`` /
      ``owner_partner_id`` that is neither null nor blank (False for a prospect).

    Parameters
    ----------
    opportunity_features : pandas.DataFrame
        Output of :func:`engine.features.build_opportunity_features`:
        ``opportunity_id``, ``account_id``, ``is_prospect``, ``est_amount``, ...
    account_tiers : pandas.DataFrame
        Output of :func:`tier_accounts`: ``account_id``, ``tier`` and the lock columns
        ``owner_rep_id`` / ``owner_partner_id``.

    Raises
    ------
    ColumnMismatchError
        A required column is missing.
    """
    for frame, name, needed in (
        (opportunity_features, "opportunity_features", ("opportunity_id", "account_id")),
        (account_tiers, "account_tiers", ("account_id", "tier", "owner_rep_id", "owner_partner_id")),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ColumnMismatchError(
                f"routing needs column(s) {missing} in {name}; got {list(frame.columns)[:15]}. "
                + ("Pass the output of tier_accounts(build_account_features(...), ...), which carries "
                   "the account's owners." if name == "account_tiers" else
                   "Pass engine.features.build_opportunity_features(...)."))
    keys = pd.Index(account_tiers["account_id"].astype("str"))
    if keys.has_duplicates:
        dup = keys[keys.duplicated()].unique()[:5].tolist()
        raise ColumnMismatchError(f"account_tiers has repeated account_id values {dup}; expected one row per account")
    position = keys.get_indexer(opportunity_features["account_id"].astype("str"))
    linked = position >= 0
    safe = np.where(linked, position, 0)

    tier = pd.Categorical(account_tiers["tier"].astype(object), categories=["A", "B", "C"])
    codes = np.where(linked, np.asarray(tier.codes)[safe] if len(tier) else -1, -1)
    frame = opportunity_features.copy()
    frame["account_tier"] = pd.Categorical.from_codes(codes.astype(np.int64), categories=pd.Index(["A", "B", "C"], dtype=object))
    for owner, column in (("owner_rep_id", "has_owner_rep"), ("owner_partner_id", "has_owner_partner")):
        present = _present(account_tiers[owner]) if len(account_tiers) else np.zeros(0, bool)
        frame[column] = np.where(linked, present[safe] if len(present) else False, False)
    return frame


def route_opportunities(opportunity_features: pd.DataFrame, account_tiers: pd.DataFrame,
                        routing_rules: RuleSet, *, as_of: AsOf, engine: str | None = None,
                        backend: str | None = None) -> pd.DataFrame:
    """Route every open opportunity with the routing rule set.

    Parameters
    ----------
    opportunity_features : pandas.DataFrame
        Output of :func:`engine.features.build_opportunity_features`.
    account_tiers : pandas.DataFrame
        Output of :func:`tier_accounts` (tier plus the account's owners).
    routing_rules : RuleSet
        ``rules/routing.yaml`` or a variant with outputs ``route`` and ``copy_outside``; its
        inputs are opportunity feature columns and :data:`ROUTING_INPUT_COLUMNS` (see
        :func:`routing_frame`).
    as_of : date or str
    engine : {"vectorized", "durable"}, default "vectorized"
        The rule engine (``backend=`` is the old name, deprecated).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``opportunity_features``: ``opportunity_id``, ``account_id``,
        ``account_tier``, then :data:`ROUTE_COLUMNS`. ``route`` is categorical over
        owner/outside/inside/partner/unrouted: a record with ``route_status`` ``unmatched`` or
        ``error`` is ``unrouted`` and keeps its ``route_reason``. ``copy_outside`` is a boolean
        (False for unrouted records).

    Examples
    --------
    >>> import pandas as pd
    >>> rules = load_default_rules()
    >>> tiers = pd.DataFrame({"account_id": ["K1"], "tier": ["B"], "owner_rep_id": ["R1"],
    ...                       "owner_partner_id": ["P1"]})
    >>> opps = pd.DataFrame({"opportunity_id": ["O1", "O2"], "account_id": ["K1", None],
    ...                      "is_prospect": [False, True], "est_amount": [20_000.0, 900_000.0]})
    >>> routes = route_opportunities(opps, tiers, rules["routing"], as_of="2026-10-01")
    >>> routes[["route", "copy_outside", "route_rule_id"]].astype(object).values.tolist()
    [['partner', True, 'small_deal'], ['inside', False, 'new_prospect']]
    """
    _check_arguments("route_opportunities",
                     opportunity_features=(opportunity_features, pd.DataFrame,
                                           "pass engine.build_opportunity_features(tables, as_of)"),
                     account_tiers=(account_tiers, pd.DataFrame, "pass the frame engine.tier_accounts returned"),
                     routing_rules=(routing_rules, RuleSet, "pass engine.load_rules('rules/routing.yaml')"))
    for name in ("route", "copy_outside"):
        if name not in routing_rules.outputs:
            raise RuleFileError(
                f"rule set {routing_rules.name!r} is not a routing rule set: output {name!r} is missing "
                f"(outputs: {list(routing_rules.outputs)})", file=routing_rules.spec.file)
    frame = routing_frame(opportunity_features, account_tiers)
    result = routing_rules.evaluate(frame, rule_engine(engine, backend, "vectorized", "route_opportunities"),
                                    as_of=as_of)
    return _route_result(frame, result)


def _route_result(frame: pd.DataFrame, result: pd.DataFrame) -> pd.DataFrame:
    status = result["status"].astype(object).to_numpy()
    decided = np.isin(status, ["decided", "default"])
    routed = result["route"].astype(object).to_numpy()
    route = np.where(decided & pd.notna(routed), routed, UNROUTED)
    unknown = sorted(set(route.tolist()) - set(_ROUTE_VALUES))
    if unknown:
        raise RuleFileError(f"routing rules produced route value(s) {unknown}; engine.assign accepts {[r for r in _ROUTE_VALUES if r != UNROUTED]}")
    copy = result["copy_outside"].to_numpy(dtype=bool, na_value=False) & decided
    columns: dict[str, object] = {
        "opportunity_id": frame["opportunity_id"],
        "account_id": frame["account_id"],
        "account_tier": frame["account_tier"],
        "route": pd.Categorical(route, categories=pd.Index(_ROUTE_VALUES, dtype=object)),
        "copy_outside": copy,
    }
    columns.update(_prefixed(result, "route"))
    return pd.DataFrame(columns, index=frame.index)


def assignment_routes(routes: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """engine.assign's ``routes`` input built from :func:`route_opportunities` and the tables.

    Region and industry are the linked account's (``customers``) or, for a prospect, the
    opportunity's own; ``owner_rep_id`` / ``owner_partner_id`` come from ``customers`` (null for
    prospects); ``est_amount`` from ``opportunities``.

    Raises
    ------
    ColumnMismatchError
        ``routes`` lacks ``opportunity_id`` / ``route``, or a table lacks a needed column, or a
        routed opportunity is not in ``tables["opportunities"]``.
    DataError
        An ``opportunity_id`` or ``account_id`` occurs on several rows (validated tables never
        have that).
    """
    for name in ("opportunity_id", "route"):
        if name not in routes.columns:
            raise ColumnMismatchError(f"routes need column {name!r}; got {list(routes.columns)}; pass route_opportunities(...)")
    for table, needed in (("opportunities", ("opportunity_id", "account_id", "region", "industry", "est_amount")),
                          ("customers", ("account_id", "region", "industry", "owner_rep_id", "owner_partner_id"))):
        if table not in tables:
            raise ColumnMismatchError(f"assignment needs the {table!r} table; got tables {sorted(tables)}")
        missing = [c for c in needed if c not in tables[table].columns]
        if missing:
            raise ColumnMismatchError(f"table {table!r} lacks column(s) {missing} needed for assignment")
    opportunities = tables["opportunities"]
    customers = tables["customers"]
    for table, frame, key in (("opportunities", opportunities, "opportunity_id"), ("customers", customers, "account_id")):
        repeated = duplicate_keys(frame[key])
        if repeated:
            raise DataError(
                f"assignment needs one {table} row per {key}; got {key} {repeated} on several rows. "
                f"Pass validated tables (engine.validate.validate_tables quarantines duplicate keys)."
            )
    # Arrow hash lookups on the key columns: no Python string per row (a million accounts'
    # ids as objects would cost ~250 MB and a second)
    where = encode_keys(routes["opportunity_id"].astype("str"), key_array(opportunities["opportunity_id"].astype("str")))
    if (where < 0).any():
        lost = routes["opportunity_id"].to_numpy()[where < 0][:5].tolist()
        raise ColumnMismatchError(f"routed opportunities {lost} are not in the opportunities table; route and assign from the same tables")
    opp = opportunities.iloc[where]
    account_id = opp["account_id"].astype("str").to_numpy()
    pos = encode_keys(opp["account_id"].astype("str"), key_array(customers["account_id"].astype("str")))
    linked = pos >= 0
    take = np.where(linked, pos, 0)

    def from_customers(column: str) -> np.ndarray:
        if len(customers) == 0:
            return np.full(len(pos), None, dtype=object)
        # numpy's stubs pick where()'s one-argument overload for a None branch
        return np.where(linked, customers[column].take(take).astype(object).to_numpy(), None)  # type: ignore[return-value]

    region = np.where(linked, from_customers("region"), opp["region"].astype(object).to_numpy())
    industry = np.where(linked, from_customers("industry"), opp["industry"].astype(object).to_numpy())
    out = pd.DataFrame({
        "opportunity_id": routes["opportunity_id"].astype("str").to_numpy(),
        "account_id": np.where(linked, account_id, None),
        "region": region,
        "industry": industry,
        "route": routes["route"].astype(object).to_numpy(),
        "owner_rep_id": from_customers("owner_rep_id"),
        "owner_partner_id": from_customers("owner_partner_id"),
        "est_amount": pd.to_numeric(opp["est_amount"], errors="coerce").to_numpy(dtype=float),
    }, index=routes.index)
    for column in ("opportunity_id", "account_id", "region", "industry", "route", "owner_rep_id", "owner_partner_id"):
        out[column] = out[column].astype("str")
    return out


#: Columns of an assignment that a live decision fixes (``live_assignments`` holds them).
LIVE_ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "assignee_type", "assignee_id", "copied_rep_id", "basis", "status", "status_reason", "status_message",
    "owner_inactive", "conflict",
)
_LIVE_ROUTE_COLUMNS = ("route", "copy_outside", "route_rule_id", "route_because", "route_status", "route_reason")


def _live_index(live: pd.DataFrame | None) -> pd.DataFrame | None:
    """Live assignments keyed by opportunity id (``lead_id``), or None when there are none."""
    if live is None or len(live) == 0:
        return None
    if "lead_id" not in live.columns:
        raise ColumnMismatchError(f"live assignments need a 'lead_id' column; got {list(live.columns)[:12]}")
    return live.assign(lead_id=live["lead_id"].astype(str)).drop_duplicates("lead_id", keep="first").set_index("lead_id")


def honour_live_routes(routes: pd.DataFrame, live: pd.DataFrame | None) -> pd.DataFrame:
    """``routes`` with every opportunity already routed live keeping its live route.

    The batch does not re-route a lead the live path decided (``engine.live``): its route,
    ``copy_outside``, rule id, ``because``, status and reason come from ``live``
    (``live_assignments`` rows); every other row is unchanged.

    Parameters
    ----------
    routes : pandas.DataFrame
        Output of :func:`route_opportunities`.
    live : pandas.DataFrame or None
        Live assignments with ``lead_id`` and the route columns.
    """
    by_lead = _live_index(live)
    if by_lead is None:
        return routes
    ids = routes["opportunity_id"].astype(str)
    hit = ids.isin(by_lead.index).to_numpy()
    if not hit.any():
        return routes
    out = routes.copy()
    taken = by_lead.loc[ids[hit]]
    for column in _LIVE_ROUTE_COLUMNS:
        if column not in out.columns or column not in taken.columns:
            continue
        values = out[column].astype(object).to_numpy(copy=True)
        values[hit] = taken[column].astype(object).to_numpy()
        if column == "copy_outside":
            out[column] = pd.Series(values, index=out.index).fillna(False).astype(bool)
        elif isinstance(out[column].dtype, pd.CategoricalDtype):
            categories = out[column].cat.categories
            extra = [v for v in pd.unique(values[hit]) if isinstance(v, str) and v not in categories]
            out[column] = pd.Categorical(values, categories=categories.append(pd.Index(extra, dtype=object))
                                         if extra else categories)
        else:
            out[column] = values
    return out


def assign_opportunities(routes: pd.DataFrame, tables: dict[str, pd.DataFrame], *,
                         current_load: pd.DataFrame | Mapping[str, int] | pd.Series | None = None,
                         live: pd.DataFrame | None = None) -> AssignmentResult:
    """Pick the rep or partner for every routed opportunity (:func:`engine.assign.assign_with_report`).

    Parameters
    ----------
    routes : pandas.DataFrame
        Output of :func:`route_opportunities` (``opportunity_id`` and ``route`` are read).
    tables : dict of str to DataFrame
        Validated tables with ``opportunities``, ``customers``, ``reps`` and ``partners``.
    current_load : optional
        Passed to :func:`engine.assign.assign_with_report`.
    live : pandas.DataFrame, optional
        Live assignments (``engine.storage.LiveStore.assignments``): an opportunity routed
        live keeps its live assignment (not re-assigned; ``decided_live`` True) and its load
        counts; a live lead not yet in ``opportunities`` (not loaded yet) counts its load too;
        one whose opportunity is closed counts nothing. Loads of people no longer in ``reps`` /
        ``partners`` are dropped.

    Returns
    -------
    engine.assign.AssignmentResult
        ``assignments`` aligned to ``routes``; ``unrouted`` records end unassigned with
        ``no_rule_matched``.
    """
    from engine.assign import AssignmentResult, assign_with_report

    _check_arguments("assign_opportunities",
                     routes=(routes, pd.DataFrame, "pass the frame engine.route_opportunities returned"),
                     tables=(tables, Mapping, "pass the validated tables, e.g. engine.validate_tables(...).valid"))
    for table in ("reps", "partners"):
        if table not in tables:
            raise ColumnMismatchError(f"assignment needs the {table!r} table; got tables {sorted(tables)}")
    by_lead = _live_index(live)
    if by_lead is None:
        result = assign_with_report(assignment_routes(routes, tables), tables["reps"], tables["partners"],
                                    current_load=current_load)
        return dataclasses.replace(result, assignments=result.assignments.assign(decided_live=False))
    ids = routes["opportunity_id"].astype(str)
    kept = ids.isin(by_lead.index).to_numpy()
    known = set(tables["opportunities"]["opportunity_id"].astype(str)) if "opportunities" in tables else set()
    pending = ~by_lead.index.isin(list(known))
    counted = by_lead[(by_lead.index.isin(ids[kept]) | pending)]
    counted = counted[pd.to_numeric(counted.get("load_claimed"), errors="coerce").fillna(0).to_numpy() > 0]
    loads = pd.DataFrame({"assignee_id": counted["assignee_id"].astype(object).to_numpy(),
                          "assignee_type": counted["assignee_type"].astype(object).to_numpy(),
                          "load": np.ones(len(counted), dtype=np.int64)})
    people = {("rep", str(i)) for i in tables["reps"]["rep_id"].astype(str)}
    people |= {("partner", str(i)) for i in tables["partners"]["partner_id"].astype(str)}
    loads = loads[[(str(t), str(i)) in people for t, i in zip(loads["assignee_type"], loads["assignee_id"])]]
    if current_load is not None:
        from engine.assign._assign import _initial_load, _People

        people_index = _People.build(tables["reps"], tables["partners"])
        before = _initial_load(current_load, people_index)[: people_index.n]
        loads = pd.concat([loads, pd.DataFrame({
            "assignee_id": people_index.ids[: people_index.n],
            "assignee_type": np.where(people_index.is_partner[: people_index.n], "partner", "rep"),
            "load": before})], ignore_index=True)
    result = assign_with_report(assignment_routes(routes[~kept], tables), tables["reps"], tables["partners"],
                                current_load=loads)
    batch = result.assignments.assign(decided_live=False)
    taken = by_lead.loc[ids[kept]]
    fixed = pd.DataFrame({"opportunity_id": ids[kept].to_numpy(), "route": taken["route"].astype(object).to_numpy()},
                         index=routes.index[kept])
    for column in LIVE_ASSIGNMENT_COLUMNS:
        fixed[column] = taken[column].to_numpy() if column in taken.columns else None
    for flag in ("owner_inactive", "conflict"):
        fixed[flag] = fixed[flag].fillna(False).astype(bool)
    fixed["decided_live"] = True
    assignments = pd.concat([batch, fixed[batch.columns]]).reindex(routes.index)
    for column in assignments.columns:
        if column not in ("owner_inactive", "conflict", "decided_live"):
            assignments[column] = assignments[column].astype("str")
    return AssignmentResult(assignments=assignments, conflicts=result.conflicts, load=result.load)
