"""What-if for the shipped rules: what would a changed tier or routing file do to the whole book?

``rules_whatif(db, old, new)`` evaluates both versions over every account (tier rules) and every
open opportunity (routing rules) of a database and reports how many accounts change tier and how
many leads change route, by region and industry, with example records and the rules responsible.
When the tiers change, the routes are derived again from the new tiers with the current routing
rules, because routing reads the account's tier. Nothing is written. ``kam rules diff`` prints it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine._errors import RuleFileError
from engine.pipeline._decide import (
    load_default_rules,
    route_opportunities,
    routing_frame,
    tier_accounts,
)
from engine.rules import DiffReport, RuleSet, diff_rulesets, load_rules

__all__ = ["RulesWhatIf", "rules_whatif", "rule_set_kind"]

_BY = ("region", "industry")


@dataclass(frozen=True)
class RulesWhatIf:
    """The effect of replacing one shipped rule file by another, over a whole database.

    Attributes
    ----------
    kind : {"tiers", "routing"}
        Which rule set the two files are versions of.
    as_of : datetime.date
        The date the features and rules were evaluated at.
    old_file, new_file : str
    accounts : DiffReport or None
        Tier changes over every account (``None`` when routing files are compared: tiers do not
        change). Its ``examples`` carry ``account_id``.
    routes : DiffReport
        Route changes over every open opportunity. For tier files, the same routing rules run
        on the old and the new tiers; ``examples`` then show the account's old and new tier and
        ``by_rule`` the routing rules before and after. Its ``examples`` carry
        ``opportunity_id`` and ``account_id``.
    """

    kind: str
    as_of: dt.date
    old_file: str
    new_file: str
    accounts: DiffReport | None
    routes: DiffReport

    @property
    def accounts_changed(self) -> int:
        """Accounts whose tier (or management mode, serving role, status) changes."""
        return 0 if self.accounts is None else self.accounts.changed

    @property
    def routes_changed(self) -> int:
        """Open opportunities whose route (or copy flag, status) changes."""
        return self.routes.changed

    def summary(self) -> str:
        """A few lines for a terminal or a log."""
        lines = [f"{self.kind} what-if as of {self.as_of.isoformat()}: {self.old_file} -> {self.new_file}"]
        if self.accounts is not None:
            lines.append(f"  accounts changing tier: {self.accounts.changed:,} of {self.accounts.rows:,}")
        lines.append(f"  open opportunities changing route: {self.routes.changed:,} of {self.routes.rows:,}")
        return "\n".join(lines)

    def to_dict(self, examples: int | None = None) -> dict[str, Any]:
        """JSON-ready dict (``examples`` caps the example rows per part)."""
        def part(report: DiffReport | None):
            if report is None:
                return None
            ex = report.examples if examples is None else report.examples.head(examples)
            return {
                "old_name": report.old_name, "new_name": report.new_name,
                "old_hash": report.old_hash, "new_hash": report.new_hash,
                "rows": report.rows, "changed": report.changed,
                "transitions": _records(report.transitions),
                "by_group": _records(report.by_group),
                "by_rule": _records(report.by_rule),
                "examples": _records(ex.reset_index(drop=True)),
            }

        return {"kind": self.kind, "as_of": self.as_of.isoformat(), "old_file": self.old_file,
                "new_file": self.new_file, "accounts": part(self.accounts), "routes": part(self.routes)}


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.astype(object).to_dict("records"):
        out.append({k: (None if _isnull(v) else (v.item() if hasattr(v, "item") else v)) for k, v in row.items()})
    return out


def _isnull(value) -> bool:
    return value is None or (not isinstance(value, (list, tuple, str)) and bool(pd.isna(value)))


def rule_set_kind(ruleset: RuleSet) -> str:
    """``"tiers"`` for a rule set with a ``tier`` output, ``"routing"`` for one with ``route``.

    Raises
    ------
    RuleFileError
        Neither output is declared.
    """
    if "tier" in ruleset.outputs:
        return "tiers"
    if "route" in ruleset.outputs:
        return "routing"
    raise RuleFileError(
        f"rule set {ruleset.name!r} is neither a tier rule set (output 'tier') nor a routing rule set "
        f"(output 'route'); its outputs are {list(ruleset.outputs)}. The what-if compares versions of "
        "rules/tiers.yaml or rules/routing.yaml", file=ruleset.spec.file)


def _as_ruleset(value) -> RuleSet:
    if isinstance(value, RuleSet):
        return value
    loaded = load_rules(value)
    if not isinstance(loaded, RuleSet):
        raise RuleFileError(f"expected one rule file, got the folder {value}; pass e.g. rules/tiers.yaml", file=str(value))
    return loaded


def _load_tables(db_or_tables, as_of) -> tuple[dict[str, pd.DataFrame], dt.date]:
    """The validated tables and the as-of date (the shared default rule when ``as_of`` is None)."""
    from engine._asof import resolve_as_of
    from engine._progress import task
    from engine.pipeline._ingest import ingest
    from engine.storage import Database

    # A what-if is often run on a copy of an old database ("last month's answer"): its default
    # as-of is the shared rule, without the stale-data warning meant for runs that publish.
    if isinstance(db_or_tables, dict):
        return db_or_tables, resolve_as_of(as_of, db_or_tables, warn=False)
    def read(database):
        day = resolve_as_of(as_of, database, warn=False)
        with task(f"reading and validating {database.display_name}"):
            tables = ingest(database, as_of=day).tables
        return tables, day

    if isinstance(db_or_tables, Database):
        return read(db_or_tables)
    # read only: a what-if never writes, and a mistyped SQLite path must not create a file
    with Database(db_or_tables, readonly=True) as database:
        return read(database)


def rules_whatif(db_or_tables, old_path, new_path, *, as_of=None, examples: int = 5,
                 rules_dir: str | Path | None = None) -> RulesWhatIf:
    """Compare two versions of the tier or the routing rules over a whole database.

    Parameters
    ----------
    db_or_tables : str, Path, engine.storage.Database or dict of DataFrame
        A database URL or SQLite path, an open :class:`~engine.storage.Database` (both are
        loaded and validated with :func:`engine.pipeline.ingest`), or already validated tables
        (``ingest(...).tables``).
    old_path, new_path : str, Path or RuleSet
        Two versions of ``rules/tiers.yaml`` or two of ``rules/routing.yaml``.
    as_of : date or str, optional
        Evaluation date. Default: the day after the newest event in the data (the rule every
        command shares, :func:`engine._asof.resolve_as_of`), so a copy of last month's
        database gives last month's answer.
    examples : int
        Example records kept per transition.
    rules_dir : str or Path, optional
        Where the *other* rule set comes from (the routing rules when tiers are compared, the
        tier rules when routing is compared); default the shipped ``rules/``.

    Returns
    -------
    RulesWhatIf

    Raises
    ------
    RuleFileError
        The files are not both tier or both routing rule sets (or do not load).
    """
    old, new = _as_ruleset(old_path), _as_ruleset(new_path)
    kind, new_kind = rule_set_kind(old), rule_set_kind(new)
    if kind != new_kind:
        raise RuleFileError(
            f"cannot compare a {kind} rule set ({old.spec.file}) with a {new_kind} rule set ({new.spec.file}); "
            "pass two versions of the same file", file=new.spec.file)
    tables, day = _load_tables(db_or_tables, as_of)

    from engine.features import build_account_features, build_opportunity_features

    account_features = build_account_features(tables, day)
    opportunity_features = build_opportunity_features(tables, day, accounts=account_features)
    defaults = load_default_rules(rules_dir)
    labels = (str(old.spec.file or old.name), str(new.spec.file or new.name))

    if kind == "tiers":
        routing = defaults["routing"]
        tiers_old = tier_accounts(account_features, old, as_of=day)
        tiers_new = tier_accounts(account_features, new, as_of=day)
        accounts = diff_rulesets(old, new, account_features, as_of=day, by=_BY, examples=examples)
        accounts = dataclasses.replace(
            accounts, examples=_with_ids(accounts.examples, account_features, ("account_id",)),
            by_rule=_by_rule({"old_rule_id": tiers_old["tier_rule_id"], "new_rule_id": tiers_new["tier_rule_id"]},
                             accounts.changed_mask.to_numpy()))
        routes_old = route_opportunities(opportunity_features, tiers_old, routing, as_of=day)
        routes_new = route_opportunities(opportunity_features, tiers_new, routing, as_of=day)
        routes = _compare_routes(routes_old, routes_new, opportunity_features, routing, examples)
        return RulesWhatIf(kind, day, *labels, accounts, routes)

    tiers = tier_accounts(account_features, defaults["tiers"], as_of=day)
    frame = routing_frame(opportunity_features, tiers)
    routes = diff_rulesets(old, new, frame, as_of=day, by=_BY, examples=examples)
    # diff_rulesets' by_rule leaves out rows whose old or new rule id is null (unmatched / error);
    # count them too, under "(no rule)"
    before = old.evaluate(frame, as_of=day)["rule_id"]
    after = new.evaluate(frame, as_of=day)["rule_id"]
    routes = dataclasses.replace(
        routes, examples=_with_ids(routes.examples, frame, ("opportunity_id", "account_id", "account_tier")),
        by_rule=_by_rule({"old_rule_id": before, "new_rule_id": after}, routes.changed_mask.to_numpy()))
    return RulesWhatIf(kind, day, *labels, None, routes)


#: Shown for the rule id of a record no rule decided (status unmatched or error).
NO_RULE = "(no rule)"


def _by_rule(columns: dict[str, pd.Series], changed: np.ndarray) -> pd.DataFrame:
    """Changed rows per combination of the given columns, nulls counted as NO_RULE."""
    pairs = pd.DataFrame({
        name: pd.Series(values.astype(object).to_numpy()[changed], dtype=object).fillna(
            NO_RULE if name.endswith("rule_id") else "(none)")
        for name, values in columns.items()})
    return (pairs.groupby(list(columns), dropna=False).size().rename("rows").reset_index()
            .sort_values("rows", ascending=False, kind="stable").reset_index(drop=True))


def _with_ids(examples: pd.DataFrame, frame: pd.DataFrame, columns) -> pd.DataFrame:
    ids = frame.loc[examples.index, list(columns)]
    return pd.concat([ids, examples], axis=1)


def _label(routes: pd.DataFrame) -> pd.Series:
    return (routes["route_status"].astype(object).astype(str) + " route=" + routes["route"].astype(object).astype(str)
            + " copy_outside=" + routes["copy_outside"].map({True: "true", False: "false"}).astype(object))


def _compare_routes(before: pd.DataFrame, after: pd.DataFrame, features: pd.DataFrame,
                    routing: RuleSet, examples: int) -> DiffReport:
    """Route changes when the same routing rules read two versions of the tiers."""
    old_label, new_label = _label(before), _label(after)
    changed = (old_label != new_label).to_numpy()
    mask = pd.Series(changed, index=before.index, name="changed")
    groups = pd.DataFrame({c: features[c].to_numpy() for c in _BY})
    groups["changed"] = changed
    by_group = groups.groupby(list(_BY), dropna=False, observed=True).agg(
        rows=("changed", "size"), changed=("changed", "sum")).reset_index()
    by_group["share_changed"] = by_group["changed"] / by_group["rows"]
    by_group = by_group.sort_values(["changed", *_BY], ascending=[False, True, True], kind="stable").reset_index(drop=True)

    pairs = pd.DataFrame({"old": old_label.to_numpy()[changed], "new": new_label.to_numpy()[changed]})
    transitions = (pairs.groupby(["old", "new"]).size().rename("rows").reset_index()
                   .sort_values(["rows", "old", "new"], ascending=[False, True, True], kind="stable")
                   .reset_index(drop=True))
    by_rule = _by_rule({"old_tier": before["account_tier"], "new_tier": after["account_tier"],
                        "old_rule_id": before["route_rule_id"], "new_rule_id": after["route_rule_id"]}, changed)

    detail = pd.DataFrame({
        "opportunity_id": before["opportunity_id"], "account_id": before["account_id"],
        "region": features["region"], "industry": features["industry"],
        "est_amount": features["est_amount"] if "est_amount" in features.columns else np.nan,
        "old_tier": before["account_tier"], "new_tier": after["account_tier"],
        "old_route": before["route"], "new_route": after["route"],
        "old_copy_outside": before["copy_outside"], "new_copy_outside": after["copy_outside"],
        "old_status": before["route_status"], "new_status": after["route_status"],
        "old_rule_id": before["route_rule_id"], "new_rule_id": after["route_rule_id"],
        "new_because": after["route_because"], "transition": old_label + " -> " + new_label,
    }, index=before.index)[changed]
    ex = detail.groupby("transition", sort=False).head(examples) if len(detail) else detail
    return DiffReport(routing.name, routing.name, routing.hash, routing.hash, len(before), int(changed.sum()),
                      by_group, transitions, by_rule, ex, mask)
