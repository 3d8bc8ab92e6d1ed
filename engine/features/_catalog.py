"""The feature catalog: what each feature means, its formula and unit, and how to say it.

A model's ``explain()`` turns "feature X pushed the score up" into a sentence a sales manager
reads: :func:`describe` picks the template for a value above or below typical and fills it in.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from engine._errors import ConfigError

__all__ = ["FeatureInfo", "FEATURE_CATALOG", "describe"]

Kind = Literal["number", "count", "days", "money", "ratio", "share", "bool", "category", "text"]


@dataclass(frozen=True)
class FeatureInfo:
    """How one feature is defined and phrased.

    Parameters
    ----------
    description : str
        What the feature means, in one sentence.
    formula : str
        How it is computed (``A`` is the as-of day; windows are ``[A - n, A)``).
    unit : str
        Unit of the value ("days", "CNY", "count", "ratio", ...).
    higher : str
        Reason phrase for a value above typical; ``{value}`` (and ``{typical}``) are filled in
        with Python format specs, e.g. ``"no visit for {value:.0f} days"``.
    lower : str
        Reason phrase for a value below typical.
    kind : str
        ``number``, ``count``, ``days``, ``money``, ``ratio`` (a relative change), ``share``
        (a fraction), ``bool``, ``category`` or ``text``: how values are formatted.
    missing : str
        Phrase when the value is null (what null *means* for this feature).
    null_rule : str
        When the value is null.
    """

    description: str
    formula: str
    unit: str
    higher: str
    lower: str
    kind: Kind = "number"
    missing: str = ""
    null_rule: str = "never null"

    @property
    def value_format(self) -> str:
        """Format spec used for ``typical`` and for values in the generic phrasing."""
        return {
            "money": ",.0f",
            "ratio": "+.0%",
            "share": ".0%",
            "count": ".0f",
            "days": ".0f",
            "number": ",.2f",
        }.get(self.kind, "")


def _f(description, formula, unit, higher, lower, kind="number", missing="", null_rule="never null") -> FeatureInfo:
    return FeatureInfo(description, formula, unit, higher, lower, kind, missing, null_rule)


_CNY = "CNY"
_NO_ORDERS = "null when the account has no order in the window"

#: Feature name -> :class:`FeatureInfo`, for every column the builders produce.
FEATURE_CATALOG: dict[str, FeatureInfo] = {
    # --- the account record ----------------------------------------------------------------------
    "account_id": _f("Account identifier.", "customers.account_id", "id", "account {value}", "account {value}", "text"),
    "name": _f("Customer name.", "customers.name", "text", "{value}", "{value}", "text"),
    "region": _f("Sales region.", "customers.region", "category", "region is {value}", "region is {value}", "category"),
    "industry": _f(
        "Industry.", "customers.industry", "category", "industry is {value}", "industry is {value}", "category"
    ),
    "admin_level": _f(
        "Administrative level of a public-sector account.",
        "customers.admin_level",
        "category",
        "administrative level {value}",
        "administrative level {value}",
        "category",
        missing="not a public-sector account",
        null_rule="null for non-public-sector accounts",
    ),
    "strategic": _f(
        "Flagged strategic by sales management (today's flag: a snapshot).",
        "customers.strategic",
        "bool",
        "flagged strategic by sales management",
        "not flagged strategic",
        "bool",
    ),
    "status": _f(
        "Account status (today's value: a snapshot).",
        "customers.status",
        "category",
        "status {value}",
        "status {value}",
        "category",
    ),
    "employees": _f(
        "Head count of the customer.",
        "customers.employees",
        "people",
        "large organisation ({value:,.0f} employees)",
        "small organisation ({value:,.0f} employees)",
        "count",
        missing="head count unknown",
        null_rule="null when customers.employees is null",
    ),
    "it_spend_potential": _f(
        "Estimated annual IT spend of the customer: the potential.",
        "customers.it_spend_potential",
        _CNY,
        "large IT budget ({value:,.0f} CNY a year)",
        "small IT budget ({value:,.0f} CNY a year)",
        "money",
        missing="IT budget unknown",
        null_rule="null when customers.it_spend_potential is null",
    ),
    "owner_rep_id": _f(
        "Owning account manager (the lock).",
        "customers.owner_rep_id",
        "id",
        "owned by {value}",
        "owned by {value}",
        "text",
    ),
    "owner_partner_id": _f(
        "Owning channel partner (the lock).",
        "customers.owner_partner_id",
        "id",
        "served through partner {value}",
        "served through partner {value}",
        "text",
    ),
    "territory": _f(
        "Territory: region x industry.",
        'f"{region}/{industry}"',
        "category",
        "territory {value}",
        "territory {value}",
        "category",
    ),
    "created_before_as_of": _f(
        "The account existed at the as-of date.",
        "created_date < A",
        "bool",
        "existing account",
        "account not yet created at the as-of date",
        "bool",
    ),
    "account_age_days": _f(
        "How long the customer has been an account.",
        "A - created_date",
        "days",
        "long-standing account ({value:,.0f} days)",
        "new account ({value:.0f} days old)",
        "days",
        missing="account creation date unknown",
        null_rule="null when created_date is null; <= 0 for accounts created on/after A",
    ),
    # --- orders ----------------------------------------------------------------------------------
    "revenue_12m": _f(
        "Revenue in the last 12 months.",
        "sum(amount) over orders with A-365 <= order_date < A",
        _CNY,
        "high 12-month revenue ({value:,.0f} CNY)",
        "low 12-month revenue ({value:,.0f} CNY)",
        "money",
    ),
    "margin_12m": _f(
        "Gross margin in the last 12 months.",
        "sum(margin) over orders with A-365 <= order_date < A",
        _CNY,
        "high 12-month margin ({value:,.0f} CNY)",
        "low 12-month margin ({value:,.0f} CNY)",
        "money",
    ),
    "units_12m": _f(
        "Units bought in the last 12 months.",
        "sum(units) over orders with A-365 <= order_date < A",
        "units",
        "bought {value:,.0f} units in 12 months",
        "bought only {value:,.0f} units in 12 months",
        "count",
    ),
    "revenue_prev_12m": _f(
        "Revenue in the 12 months before the last 12.",
        "sum(amount) over orders with A-730 <= order_date < A-365",
        _CNY,
        "high revenue the year before ({value:,.0f} CNY)",
        "low revenue the year before ({value:,.0f} CNY)",
        "money",
    ),
    "margin_prev_12m": _f(
        "Gross margin in the 12 months before the last 12.",
        "sum(margin) over orders with A-730 <= order_date < A-365",
        _CNY,
        "high margin the year before ({value:,.0f} CNY)",
        "low margin the year before ({value:,.0f} CNY)",
        "money",
    ),
    "revenue_change_12m": _f(
        "Relative change of 12-month revenue against the prior 12 months.",
        "(revenue_12m - revenue_prev_12m) / revenue_prev_12m",
        "ratio",
        "revenue up {value:+.0%} on the prior 12 months",
        "revenue down {value:+.0%} on the prior 12 months",
        "ratio",
        missing="no revenue in the prior 12 months to compare with",
        null_rule="null when revenue_prev_12m is 0",
    ),
    "margin_change_12m": _f(
        "Relative change of 12-month margin against the prior 12 months.",
        "(margin_12m - margin_prev_12m) / |margin_prev_12m|",
        "ratio",
        "margin up {value:+.0%} on the prior 12 months",
        "margin down {value:+.0%} on the prior 12 months",
        "ratio",
        missing="no margin in the prior 12 months to compare with",
        null_rule="null when margin_prev_12m is 0",
    ),
    "revenue_90d": _f(
        "Revenue in the last 90 days.",
        "sum(amount) over orders with A-90 <= order_date < A",
        _CNY,
        "high revenue in the last 90 days ({value:,.0f} CNY)",
        "low revenue in the last 90 days ({value:,.0f} CNY)",
        "money",
    ),
    "revenue_prev_90d": _f(
        "Revenue in the 90 days before the last 90.",
        "sum(amount) over orders with A-180 <= order_date < A-90",
        _CNY,
        "high revenue in the prior 90 days ({value:,.0f} CNY)",
        "low revenue in the prior 90 days ({value:,.0f} CNY)",
        "money",
    ),
    "revenue_change_90d": _f(
        "Relative change of 90-day revenue against the prior 90 days.",
        "(revenue_90d - revenue_prev_90d) / revenue_prev_90d",
        "ratio",
        "revenue up {value:+.0%} on the prior quarter",
        "revenue down {value:+.0%} on the prior quarter",
        "ratio",
        missing="no revenue in the prior 90 days to compare with",
        null_rule="null when revenue_prev_90d is 0",
    ),
    "orders_12m": _f(
        "Orders in the last 12 months.",
        "count of orders with A-365 <= order_date < A",
        "orders",
        "{value:.0f} orders in the last 12 months",
        "only {value:.0f} orders in the last 12 months",
        "count",
    ),
    "recency_days": _f(
        "Days since the last order (R of RFM).",
        "A - max(order_date < A)",
        "days",
        "last order {value:.0f} days ago",
        "ordered recently ({value:.0f} days ago)",
        "days",
        missing="no order on record",
        null_rule="null when the account has no order before A",
    ),
    "frequency_36m": _f(
        "Orders in the last 36 months (F of RFM).",
        "count of orders with A-1095 <= order_date < A",
        "orders",
        "orders often ({value:.0f} orders in 3 years)",
        "orders rarely ({value:.0f} orders in 3 years)",
        "count",
    ),
    "monetary_36m": _f(
        "Mean order value over the last 36 months (M of RFM).",
        "sum(amount) / count over orders with A-1095 <= order_date < A",
        _CNY,
        "large orders (average {value:,.0f} CNY)",
        "small orders (average {value:,.0f} CNY)",
        "money",
        missing="no order in 3 years",
        null_rule=_NO_ORDERS + " (36 months)",
    ),
    "share_of_wallet": _f(
        "Share of the customer's IT budget spent with us.",
        "revenue_12m / it_spend_potential",
        "ratio",
        "buys {value:.0%} of its IT budget from us",
        "only {value:.0%} share of wallet",
        "share",
        missing="IT budget unknown or zero",
        null_rule="null when it_spend_potential is 0 or null",
    ),
    "product_breadth_12m": _f(
        "Distinct product lines bought in the last 12 months.",
        "count distinct product_line over orders with A-365 <= order_date < A",
        "product lines",
        "buys across {value:.0f} product lines",
        "buys only {value:.0f} product line(s)",
        "count",
    ),
    "mean_order_interval_days": _f(
        "Usual reorder interval: mean gap between distinct order days in the last 36 months.",
        "mean(diff(sorted distinct order days in [A-1095, A)))",
        "days",
        "reorders only every {value:.0f} days",
        "reorders every {value:.0f} days",
        "days",
        missing="fewer than two order days in 3 years",
        null_rule="null with fewer than 2 distinct order days in the last 36 months",
    ),
    "order_interval_cv": _f(
        "Irregularity of reordering: coefficient of variation of the gaps between order days.",
        "std(gaps) / mean(gaps), population std, gaps as for mean_order_interval_days",
        "ratio",
        "irregular ordering rhythm (variation {value:.2f})",
        "regular ordering rhythm (variation {value:.2f})",
        "number",
        missing="too few orders to judge the rhythm",
        null_rule="null with fewer than 3 distinct order days in the last 36 months",
    ),
    "days_overdue": _f(
        "Days past the usual reorder interval.",
        "max(0, recency_days - mean_order_interval_days)",
        "days",
        "reorder {value:.0f} days overdue",
        "reorder not overdue ({value:.0f} days)",
        "days",
        missing="no usual reorder interval yet",
        null_rule="null when mean_order_interval_days is null",
    ),
    # --- tickets ---------------------------------------------------------------------------------
    "tickets_12m": _f(
        "Service tickets opened in the last 12 months.",
        "count of tickets with A-365 <= opened_date < A",
        "tickets",
        "{value:.0f} service tickets in 12 months",
        "few service tickets ({value:.0f} in 12 months)",
        "count",
    ),
    "tickets_open": _f(
        "Tickets open at the as-of date.",
        "count of tickets with opened_date < A and (closed_date null or >= A)",
        "tickets",
        "{value:.0f} service tickets open",
        "{value:.0f} service tickets open",
        "count",
    ),
    "complaints_90d": _f(
        "Complaints opened in the last 90 days.",
        "count of tickets with kind = complaint and A-90 <= opened_date < A",
        "complaints",
        "{value:.0f} complaints in the last 90 days",
        "no recent complaints ({value:.0f} in 90 days)",
        "count",
    ),
    "unresolved_complaints": _f(
        "Complaints still open at the as-of date.",
        "count of complaints with opened_date < A and (closed_date null or >= A)",
        "complaints",
        "{value:.0f} complaints unresolved",
        "complaints resolved ({value:.0f} open)",
        "count",
    ),
    "resolution_hours_ratio": _f(
        "How slow service is for this account: median resolution hours of its tickets against "
        "the median of all tickets.",
        "median(resolution_hours | account) / median(resolution_hours | all accounts), tickets "
        "closed in [A-365, A)",
        "ratio",
        "repairs take {value:.1f}x the usual time",
        "repairs faster than usual ({value:.1f}x the usual time)",
        "number",
        missing="no closed ticket in 12 months",
        null_rule="null when the account has no ticket closed in the last 12 months with resolution "
        "hours, or the global median is 0",
    ),
    "satisfaction_avg_12m": _f(
        "Mean satisfaction rating (1-5) of tickets closed in the last 12 months.",
        "mean(satisfaction) over tickets with A-365 <= closed_date < A",
        "rating 1-5",
        "satisfied with service ({value:.1f} of 5)",
        "service satisfaction only {value:.1f} of 5",
        "number",
        missing="no rated ticket in 12 months",
        null_rule="null when no rated ticket closed in the last 12 months",
    ),
    # --- contacts --------------------------------------------------------------------------------
    "contacts_active": _f(
        "Contacts in role at the as-of date.",
        "count of contacts with active_from < A and (active_to null or >= A)",
        "contacts",
        "{value:.0f} active contacts",
        "only {value:.0f} active contacts",
        "count",
    ),
    "coverage_levels": _f(
        "Levels (operations, management, decision) with at least one active contact.",
        "count distinct level over active contacts",
        "levels (0-3)",
        "relationship covers {value:.0f} of 3 levels",
        "relationship covers only {value:.0f} of 3 levels",
        "count",
    ),
    "single_level_coverage": _f(
        "The relationship sits on exactly one level.",
        "coverage_levels == 1",
        "bool",
        "relationship sits on a single level",
        "relationship spans several levels (or none)",
        "bool",
    ),
    "days_since_key_contact_left": _f(
        "Days since a decision- or management-level contact left their role.",
        "A - max(active_to) over decision/management contacts with active_to < A",
        "days",
        "decision- or management-level contact left {value:.0f} days ago",
        "decision- or management-level contact left {value:.0f} days ago",
        "days",
        missing="no decision- or management-level contact has left",
        null_rule="null when no decision- or management-level contact has an active_to before A",
    ),
    # --- ownership -------------------------------------------------------------------------------
    "rep_changes_24m": _f(
        "Times the owning rep changed in the last 24 months.",
        "ownership periods starting in [A-730, A), not counting the account's first period",
        "changes",
        "owning rep changed {value:.0f} times in 2 years",
        "stable owning rep ({value:.0f} changes in 2 years)",
        "count",
    ),
    "owner_rep_active": _f(
        "An ownership period is current at the as-of date (an owning rep is in place).",
        "exists ownership with start_date < A and (end_date null or >= A)",
        "bool",
        "owning rep in place",
        "no active owning rep (the rep has left or the account is unassigned)",
        "bool",
    ),
    "days_since_rep_change": _f(
        "Days since the latest ownership period started.",
        "A - max(start_date < A)",
        "days",
        "same owning rep for {value:.0f} days",
        "owning rep changed {value:.0f} days ago",
        "days",
        missing="no ownership history",
        null_rule="null when the account has no ownership period starting before A",
    ),
    # --- visits ----------------------------------------------------------------------------------
    "days_since_last_visit": _f(
        "Days since the last visit or call.",
        "A - max(visit_date < A)",
        "days",
        "no visit for {value:.0f} days",
        "visited recently ({value:.0f} days ago)",
        "days",
        missing="never visited",
        null_rule="null when the account has no visit before A",
    ),
    "visits_90d": _f(
        "Visits and calls in the last 90 days.",
        "count of visits with A-90 <= visit_date < A",
        "visits",
        "{value:.0f} visits in the last 90 days",
        "only {value:.0f} visits in the last 90 days",
        "count",
    ),
    # --- opportunities ---------------------------------------------------------------------------
    "open_opportunities": _f(
        "Opportunities open at the as-of date.",
        "count with created_date < A and (closed_date null or >= A)",
        "opportunities",
        "{value:.0f} open opportunities",
        "{value:.0f} open opportunities",
        "count",
    ),
    "won_deals_12m": _f(
        "Deals won in the last 12 months.",
        "count with outcome = won and A-365 <= closed_date < A",
        "deals",
        "won {value:.0f} deals in 12 months",
        "won only {value:.0f} deals in 12 months",
        "count",
    ),
    "lost_deals_12m": _f(
        "Deals lost in the last 12 months.",
        "count with outcome = lost and A-365 <= closed_date < A",
        "deals",
        "lost {value:.0f} deals in 12 months",
        "lost {value:.0f} deals in 12 months",
        "count",
    ),
    "competitor_in_lost_deals_12m": _f(
        "Lost deals in the last 12 months that name a competitor.",
        "count with outcome = lost, competitor named, A-365 <= closed_date < A",
        "deals",
        "lost {value:.0f} deals to a named competitor in 12 months",
        "{value:.0f} deals lost to a competitor in 12 months",
        "count",
    ),
    # --- territory -------------------------------------------------------------------------------
    "revenue_rank_in_territory": _f(
        "Rank of revenue_12m within the territory (1 = highest; ties by account_id).",
        "rank of revenue_12m descending within region x industry, accounts created before A",
        "rank",
        "ranked #{value:.0f} by revenue in its territory",
        "top account: #{value:.0f} by revenue in its territory",
        "count",
        missing="account not yet created at the as-of date",
        null_rule="null when the account was created on/after A",
    ),
    "territory_accounts": _f(
        "Accounts in the territory (created before the as-of date).",
        "count of accounts with the same region x industry and created_date < A",
        "accounts",
        "crowded territory ({value:.0f} accounts)",
        "small territory ({value:.0f} accounts)",
        "count",
    ),
    "revenue_share_in_territory": _f(
        "Share of the territory's 12-month revenue.",
        "revenue_12m / sum(revenue_12m over the territory)",
        "ratio",
        "brings {value:.0%} of its territory's revenue",
        "brings only {value:.0%} of its territory's revenue",
        "share",
        missing="territory has no revenue",
        null_rule="null when the territory has no revenue in 12 months or the account was created on/after A",
    ),
    # --- opportunity features --------------------------------------------------------------------
    "opportunity_id": _f(
        "Opportunity identifier.", "opportunities.opportunity_id", "id", "deal {value}", "deal {value}", "text"
    ),
    "is_prospect": _f(
        "The lead is for a new prospect (no account yet).",
        "opportunities.account_id is null",
        "bool",
        "new prospect, not yet a customer",
        "existing customer",
        "bool",
    ),
    "source": _f("Where the lead came from.", "opportunities.source", "category", "from {value}", "from {value}", "category"),
    "product_line": _f(
        "Main product line of the deal.",
        "opportunities.product_line",
        "category",
        "{value} deal",
        "{value} deal",
        "category",
    ),
    "est_units": _f(
        "Estimated units of the deal.",
        "opportunities.est_units",
        "units",
        "large deal ({value:,.0f} units)",
        "small deal ({value:,.0f} units)",
        "count",
    ),
    "est_amount": _f(
        "Estimated deal amount.",
        "opportunities.est_amount",
        _CNY,
        "large deal ({value:,.0f} CNY)",
        "small deal ({value:,.0f} CNY)",
        "money",
    ),
    "stage": _f("Pipeline stage (current value).", "opportunities.stage", "category", "at stage {value}", "at stage {value}", "category"),
    "age_days": _f(
        "Days the opportunity has been open.",
        "A - created_date",
        "days",
        "deal open for {value:.0f} days",
        "fresh deal ({value:.0f} days old)",
        "days",
    ),
    "competitor": _f(
        "A competitor is named in the deal.",
        "opportunities.competitor is not blank",
        "bool",
        "competitor named in the deal",
        "no competitor named",
        "bool",
    ),
    "territory_win_rate_12m": _f(
        "Win rate of deals closed in the territory in the last 12 months.",
        "won / (won + lost) over deals with A-365 <= closed_date < A in the same territory",
        "ratio",
        "territory wins {value:.0%} of its deals",
        "territory wins only {value:.0%} of its deals",
        "share",
        missing="no deal closed in the territory in 12 months",
        null_rule="null when no deal in the territory closed in the last 12 months",
    ),
    "territory_closed_deals_12m": _f(
        "Deals closed (won or lost) in the territory in the last 12 months.",
        "count with A-365 <= closed_date < A in the same territory",
        "deals",
        "busy territory ({value:.0f} deals closed in 12 months)",
        "quiet territory ({value:.0f} deals closed in 12 months)",
        "count",
    ),
    # --- from_transactions -----------------------------------------------------------------------
    "frequency": _f(
        "Purchases before the as-of date.",
        "count of rows with date < A",
        "purchases",
        "buys often ({value:.0f} purchases)",
        "buys rarely ({value:.0f} purchases)",
        "count",
    ),
    "monetary": _f(
        "Mean purchase amount.",
        "sum(amount) / frequency",
        "amount",
        "large purchases (average {value:,.0f})",
        "small purchases (average {value:,.0f})",
        "money",
    ),
    "monetary_total": _f(
        "Total purchase amount before the as-of date.",
        "sum(amount) over rows with date < A",
        "amount",
        "large total spend ({value:,.0f})",
        "small total spend ({value:,.0f})",
        "money",
    ),
    "tenure_days": _f(
        "Days since the first purchase.",
        "A - min(date < A)",
        "days",
        "customer for {value:,.0f} days",
        "new customer ({value:.0f} days)",
        "days",
    ),
    "transactions_12m": _f(
        "Purchases in the last 12 months.",
        "count of rows with A-365 <= date < A",
        "purchases",
        "{value:.0f} purchases in 12 months",
        "only {value:.0f} purchases in 12 months",
        "count",
    ),
    "transactions_90d": _f(
        "Purchases in the last 90 days.",
        "count of rows with A-90 <= date < A",
        "purchases",
        "{value:.0f} purchases in 90 days",
        "only {value:.0f} purchases in 90 days",
        "count",
    ),
    "amount_12m": _f(
        "Amount in the last 12 months.",
        "sum(amount) over rows with A-365 <= date < A",
        "amount",
        "high 12-month spend ({value:,.0f})",
        "low 12-month spend ({value:,.0f})",
        "money",
    ),
    "amount_prev_12m": _f(
        "Amount in the 12 months before the last 12.",
        "sum(amount) over rows with A-730 <= date < A-365",
        "amount",
        "high spend the year before ({value:,.0f})",
        "low spend the year before ({value:,.0f})",
        "money",
    ),
    "amount_change_12m": _f(
        "Relative change of 12-month amount against the prior 12 months.",
        "(amount_12m - amount_prev_12m) / amount_prev_12m",
        "ratio",
        "spend up {value:+.0%} on the prior 12 months",
        "spend down {value:+.0%} on the prior 12 months",
        "ratio",
        missing="no spend in the prior 12 months to compare with",
        null_rule="null when amount_prev_12m is 0",
    ),
    "amount_90d": _f(
        "Amount in the last 90 days.",
        "sum(amount) over rows with A-90 <= date < A",
        "amount",
        "high spend in the last 90 days ({value:,.0f})",
        "low spend in the last 90 days ({value:,.0f})",
        "money",
    ),
    "amount_prev_90d": _f(
        "Amount in the 90 days before the last 90.",
        "sum(amount) over rows with A-180 <= date < A-90",
        "amount",
        "high spend in the prior 90 days ({value:,.0f})",
        "low spend in the prior 90 days ({value:,.0f})",
        "money",
    ),
    "amount_change_90d": _f(
        "Relative change of 90-day amount against the prior 90 days.",
        "(amount_90d - amount_prev_90d) / amount_prev_90d",
        "ratio",
        "spend up {value:+.0%} on the prior quarter",
        "spend down {value:+.0%} on the prior quarter",
        "ratio",
        missing="no spend in the prior 90 days to compare with",
        null_rule="null when amount_prev_90d is 0",
    ),
    "mean_interval_days": _f(
        "Usual purchase interval: mean gap between distinct purchase days (all history before A).",
        "mean(diff(sorted distinct purchase days < A))",
        "days",
        "buys only every {value:.0f} days",
        "buys every {value:.0f} days",
        "days",
        missing="fewer than two purchase days",
        null_rule="null with fewer than 2 distinct purchase days",
    ),
    "interval_cv": _f(
        "Irregularity of purchasing: coefficient of variation of the gaps between purchase days.",
        "std(gaps) / mean(gaps), population std",
        "ratio",
        "irregular buying rhythm (variation {value:.2f})",
        "regular buying rhythm (variation {value:.2f})",
        "number",
        missing="too few purchases to judge the rhythm",
        null_rule="null with fewer than 3 distinct purchase days",
    ),
}


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real | np.number | np.bool_)


def _format(value: Any, spec: str) -> str:
    if _is_number(value) and spec:
        return format(float(value), spec)
    return str(value)


def _direction_is_higher(direction: Any, value: Any, typical: Any) -> bool:
    if isinstance(direction, str):
        word = direction.strip().lower()
        if word in {"higher", "high", "up", "above", "increase", "+"}:
            return True
        if word in {"lower", "low", "down", "below", "decrease", "-"}:
            return False
        raise ConfigError(
            f"expected direction 'higher' or 'lower' (or a signed number); got {direction!r}; pass one of them"
        )
    if direction is not None and _is_number(direction):
        return float(direction) >= 0
    if _is_number(value) and _is_number(typical):
        return float(value) >= float(typical)
    return True


def describe(feature: str, value: Any, typical: Any = None, direction: Any = None) -> str:
    """Return a reason phrase for ``feature`` having ``value`` (vs ``typical``).

    Parameters
    ----------
    feature : str
        Feature name. ``account_``-prefixed opportunity features are phrased like the account
        feature they copy. Unknown features get a generic phrase.
    value : object
        The record's value (NaN/None use the feature's ``missing`` phrase).
    typical : object, optional
        The typical value (a median, a baseline); appended as "(typical ...)" for numbers.
    direction : {"higher", "lower"} or number, optional
        Which template to use: the value is above (``"higher"``, or a positive number) or
        below typical. Default: compare ``value`` with ``typical``.

    Examples
    --------
    >>> describe("days_since_key_contact_left", 40, 400, "lower")
    'decision- or management-level contact left 40 days ago (typical 400)'
    >>> describe("coverage_levels", 1, 3, "lower")
    'relationship covers only 1 of 3 levels (typical 3)'
    >>> describe("unknown_signal", 2.5, 1.0, "higher")
    'unknown signal is 2.5, above the typical 1'
    """
    info = FEATURE_CATALOG.get(feature)
    if info is None and feature.startswith("account_"):
        info = FEATURE_CATALOG.get(feature[len("account_") :])
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(typical, np.generic):
        typical = typical.item()
    higher = _direction_is_higher(direction, value, typical)
    if info is None:
        label = feature.replace("_", " ")
        if _is_missing(value):
            return f"{label} is unknown"
        shown = _format(value, ",.4g") if _is_number(value) and not isinstance(value, bool) else str(value)
        if typical is None or _is_missing(typical):
            return f"{label} is {shown}"
        where = "above" if higher else "below"
        typical_shown = _format(typical, ",.4g") if _is_number(typical) else str(typical)
        return f"{label} is {shown}, {where} the typical {typical_shown}"
    if _is_missing(value):
        return info.missing or f"{feature.replace('_', ' ')} unknown"
    if info.kind == "bool":
        return info.higher if bool(value) else info.lower
    template = info.higher if higher else info.lower
    numeric = info.kind not in {"category", "text"}
    if numeric and not _is_number(value):
        return f"{feature.replace('_', ' ')} is {value}"
    phrase = template.format(value=float(value) if numeric else value, typical=typical)
    if numeric and typical is not None and _is_number(typical) and not _is_missing(typical):
        phrase += f" (typical {_format(typical, info.value_format)})"
    return phrase
