"""The feature catalog: what each feature means, its formula and unit, and how to say it.

A model's ``explain()`` turns "feature X pushed the score up" into a sentence a sales manager
reads: :func:`describe` picks the template for a value above or below typical and fills it in.

The module is long because it is a table (about 80 entries, each field named), not because it
holds a second idea; every entry is built by keyword (``FeatureInfo`` takes no positional
arguments), so a phrase cannot land in the wrong field.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from engine._arguments import check_type
from engine._errors import ConfigError

__all__ = ["FeatureInfo", "FEATURE_CATALOG", "describe"]

Kind = Literal["number", "count", "days", "money", "ratio", "share", "bool", "category", "text"]


@dataclass(frozen=True, kw_only=True)
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


_CNY = "CNY"
_NO_ORDERS = "null when the account has no order in the window"

#: Feature name -> :class:`FeatureInfo`, for every column the builders produce.
FEATURE_CATALOG: dict[str, FeatureInfo] = {
    # --- the account record ----------------------------------------------------------------------
    "account_id": FeatureInfo(
        description="Account identifier.",
        formula="customers.account_id",
        unit="id",
        higher="account {value}",
        lower="account {value}",
        kind="text",
    ),
    "name": FeatureInfo(
        description="Customer name.",
        formula="customers.name",
        unit="text",
        higher="{value}",
        lower="{value}",
        kind="text",
    ),
    "region": FeatureInfo(
        description="Sales region.",
        formula="customers.region",
        unit="category",
        higher="region is {value}",
        lower="region is {value}",
        kind="category",
    ),
    "industry": FeatureInfo(
        description="Industry.",
        formula="customers.industry",
        unit="category",
        higher="industry is {value}",
        lower="industry is {value}",
        kind="category",
    ),
    "admin_level": FeatureInfo(
        description="Administrative level of a public-sector account.",
        formula="customers.admin_level",
        unit="category",
        higher="administrative level {value}",
        lower="administrative level {value}",
        kind="category",
        missing="not a public-sector account",
        null_rule="null for non-public-sector accounts",
    ),
    "strategic": FeatureInfo(
        description="Flagged strategic by sales management (today's flag: a snapshot).",
        formula="customers.strategic",
        unit="bool",
        higher="flagged strategic by sales management",
        lower="not flagged strategic",
        kind="bool",
    ),
    "status": FeatureInfo(
        description="Account status (today's value: a snapshot).",
        formula="customers.status",
        unit="category",
        higher="status {value}",
        lower="status {value}",
        kind="category",
    ),
    "employees": FeatureInfo(
        description="Head count of the customer.",
        formula="customers.employees",
        unit="people",
        higher="large organisation ({value:,.0f} employees)",
        lower="small organisation ({value:,.0f} employees)",
        kind="count",
        missing="head count unknown",
        null_rule="null when customers.employees is null",
    ),
    "it_spend_potential": FeatureInfo(
        description="Estimated annual IT spend of the customer: the potential.",
        formula="customers.it_spend_potential",
        unit=_CNY,
        higher="large IT budget ({value:,.0f} CNY a year)",
        lower="small IT budget ({value:,.0f} CNY a year)",
        kind="money",
        missing="IT budget unknown",
        null_rule="null when customers.it_spend_potential is null",
    ),
    "owner_rep_id": FeatureInfo(
        description="Owning account manager (the lock).",
        formula="customers.owner_rep_id",
        unit="id",
        higher="owned by {value}",
        lower="owned by {value}",
        kind="text",
    ),
    "owner_partner_id": FeatureInfo(
        description="Owning channel partner (the lock).",
        formula="customers.owner_partner_id",
        unit="id",
        higher="served through partner {value}",
        lower="served through partner {value}",
        kind="text",
    ),
    "territory": FeatureInfo(
        description="Territory: region x industry.",
        formula='f"{region}/{industry}"',
        unit="category",
        higher="territory {value}",
        lower="territory {value}",
        kind="category",
    ),
    "created_before_as_of": FeatureInfo(
        description="The account existed at the as-of date.",
        formula="created_date < A",
        unit="bool",
        higher="existing account",
        lower="account not yet created at the as-of date",
        kind="bool",
    ),
    "account_age_days": FeatureInfo(
        description="How long the customer has been an account.",
        formula="A - created_date",
        unit="days",
        higher="long-standing account ({value:,.0f} days)",
        lower="new account ({value:.0f} days old)",
        kind="days",
        missing="account creation date unknown",
        null_rule="null when created_date is null; <= 0 for accounts created on/after A",
    ),
    # --- orders ----------------------------------------------------------------------------------
    "revenue_12m": FeatureInfo(
        description="Revenue in the last 12 months.",
        formula="sum(amount) over orders with A-365 <= order_date < A",
        unit=_CNY,
        higher="high 12-month revenue ({value:,.0f} CNY)",
        lower="low 12-month revenue ({value:,.0f} CNY)",
        kind="money",
    ),
    "margin_12m": FeatureInfo(
        description="Gross margin in the last 12 months.",
        formula="sum(margin) over orders with A-365 <= order_date < A",
        unit=_CNY,
        higher="high 12-month margin ({value:,.0f} CNY)",
        lower="low 12-month margin ({value:,.0f} CNY)",
        kind="money",
    ),
    "units_12m": FeatureInfo(
        description="Units bought in the last 12 months.",
        formula="sum(units) over orders with A-365 <= order_date < A",
        unit="units",
        higher="bought {value:,.0f} units in 12 months",
        lower="bought only {value:,.0f} units in 12 months",
        kind="count",
    ),
    "revenue_prev_12m": FeatureInfo(
        description="Revenue in the 12 months before the last 12.",
        formula="sum(amount) over orders with A-730 <= order_date < A-365",
        unit=_CNY,
        higher="high revenue the year before ({value:,.0f} CNY)",
        lower="low revenue the year before ({value:,.0f} CNY)",
        kind="money",
    ),
    "margin_prev_12m": FeatureInfo(
        description="Gross margin in the 12 months before the last 12.",
        formula="sum(margin) over orders with A-730 <= order_date < A-365",
        unit=_CNY,
        higher="high margin the year before ({value:,.0f} CNY)",
        lower="low margin the year before ({value:,.0f} CNY)",
        kind="money",
    ),
    "revenue_change_12m": FeatureInfo(
        description="Relative change of 12-month revenue against the prior 12 months.",
        formula="(revenue_12m - revenue_prev_12m) / revenue_prev_12m",
        unit="ratio",
        higher="revenue up {value:+.0%} on the prior 12 months",
        lower="revenue down {value:+.0%} on the prior 12 months",
        kind="ratio",
        missing="no revenue in the prior 12 months to compare with",
        null_rule="null when revenue_prev_12m is 0",
    ),
    "margin_change_12m": FeatureInfo(
        description="Relative change of 12-month margin against the prior 12 months.",
        formula="(margin_12m - margin_prev_12m) / |margin_prev_12m|",
        unit="ratio",
        higher="margin up {value:+.0%} on the prior 12 months",
        lower="margin down {value:+.0%} on the prior 12 months",
        kind="ratio",
        missing="no margin in the prior 12 months to compare with",
        null_rule="null when margin_prev_12m is 0",
    ),
    "revenue_90d": FeatureInfo(
        description="Revenue in the last 90 days.",
        formula="sum(amount) over orders with A-90 <= order_date < A",
        unit=_CNY,
        higher="high revenue in the last 90 days ({value:,.0f} CNY)",
        lower="low revenue in the last 90 days ({value:,.0f} CNY)",
        kind="money",
    ),
    "revenue_prev_90d": FeatureInfo(
        description="Revenue in the 90 days before the last 90.",
        formula="sum(amount) over orders with A-180 <= order_date < A-90",
        unit=_CNY,
        higher="high revenue in the prior 90 days ({value:,.0f} CNY)",
        lower="low revenue in the prior 90 days ({value:,.0f} CNY)",
        kind="money",
    ),
    "revenue_change_90d": FeatureInfo(
        description="Relative change of 90-day revenue against the prior 90 days.",
        formula="(revenue_90d - revenue_prev_90d) / revenue_prev_90d",
        unit="ratio",
        higher="revenue up {value:+.0%} on the prior quarter",
        lower="revenue down {value:+.0%} on the prior quarter",
        kind="ratio",
        missing="no revenue in the prior 90 days to compare with",
        null_rule="null when revenue_prev_90d is 0",
    ),
    "orders_12m": FeatureInfo(
        description="Orders in the last 12 months.",
        formula="count of orders with A-365 <= order_date < A",
        unit="orders",
        higher="{value:.0f} orders in the last 12 months",
        lower="only {value:.0f} orders in the last 12 months",
        kind="count",
    ),
    "recency_days": FeatureInfo(
        description="Days since the last order (R of RFM).",
        formula="A - max(order_date < A)",
        unit="days",
        higher="last order {value:.0f} days ago",
        lower="ordered recently ({value:.0f} days ago)",
        kind="days",
        missing="no order on record",
        null_rule="null when the account has no order before A",
    ),
    "frequency_36m": FeatureInfo(
        description="Orders in the last 36 months (F of RFM).",
        formula="count of orders with A-1095 <= order_date < A",
        unit="orders",
        higher="orders often ({value:.0f} orders in 3 years)",
        lower="orders rarely ({value:.0f} orders in 3 years)",
        kind="count",
    ),
    "monetary_36m": FeatureInfo(
        description="Mean order value over the last 36 months (M of RFM).",
        formula="sum(amount) / count over orders with A-1095 <= order_date < A",
        unit=_CNY,
        higher="large orders (average {value:,.0f} CNY)",
        lower="small orders (average {value:,.0f} CNY)",
        kind="money",
        missing="no order in 3 years",
        null_rule=_NO_ORDERS + " (36 months)",
    ),
    "share_of_wallet": FeatureInfo(
        description="Share of the customer's IT budget spent with us.",
        formula="revenue_12m / it_spend_potential",
        unit="ratio",
        higher="buys {value:.0%} of its IT budget from us",
        lower="only {value:.0%} share of wallet",
        kind="share",
        missing="IT budget unknown or zero",
        null_rule="null when it_spend_potential is 0 or null",
    ),
    "product_breadth_12m": FeatureInfo(
        description="Distinct product lines bought in the last 12 months.",
        formula="count distinct product_line over orders with A-365 <= order_date < A",
        unit="product lines",
        higher="buys across {value:.0f} product lines",
        lower="buys only {value:.0f} product line(s)",
        kind="count",
    ),
    "mean_order_interval_days": FeatureInfo(
        description="Usual reorder interval: mean gap between distinct order days in the last 36 months.",
        formula="mean(diff(sorted distinct order days in [A-1095, A)))",
        unit="days",
        higher="reorders only every {value:.0f} days",
        lower="reorders every {value:.0f} days",
        kind="days",
        missing="fewer than two order days in 3 years",
        null_rule="null with fewer than 2 distinct order days in the last 36 months",
    ),
    "order_interval_cv": FeatureInfo(
        description="Irregularity of reordering: coefficient of variation of the gaps between order days.",
        formula="std(gaps) / mean(gaps), population std, gaps as for mean_order_interval_days",
        unit="ratio",
        higher="irregular ordering rhythm (variation {value:.2f})",
        lower="regular ordering rhythm (variation {value:.2f})",
        kind="number",
        missing="too few orders to judge the rhythm",
        null_rule="null with fewer than 3 distinct order days in the last 36 months",
    ),
    "days_overdue": FeatureInfo(
        description="Days past the usual reorder interval.",
        formula="max(0, recency_days - mean_order_interval_days)",
        unit="days",
        higher="reorder {value:.0f} days overdue",
        lower="reorder not overdue ({value:.0f} days)",
        kind="days",
        missing="no usual reorder interval yet",
        null_rule="null when mean_order_interval_days is null",
    ),
    # --- tickets ---------------------------------------------------------------------------------
    "tickets_12m": FeatureInfo(
        description="Service tickets opened in the last 12 months.",
        formula="count of tickets with A-365 <= opened_date < A",
        unit="tickets",
        higher="{value:.0f} service tickets in 12 months",
        lower="few service tickets ({value:.0f} in 12 months)",
        kind="count",
    ),
    "tickets_open": FeatureInfo(
        description="Tickets open at the as-of date.",
        formula="count of tickets with opened_date < A and (closed_date null or >= A)",
        unit="tickets",
        higher="{value:.0f} service tickets open",
        lower="{value:.0f} service tickets open",
        kind="count",
    ),
    "complaints_90d": FeatureInfo(
        description="Complaints opened in the last 90 days.",
        formula="count of tickets with kind = complaint and A-90 <= opened_date < A",
        unit="complaints",
        higher="{value:.0f} complaints in the last 90 days",
        lower="no recent complaints ({value:.0f} in 90 days)",
        kind="count",
    ),
    "unresolved_complaints": FeatureInfo(
        description="Complaints still open at the as-of date.",
        formula="count of complaints with opened_date < A and (closed_date null or >= A)",
        unit="complaints",
        higher="{value:.0f} complaints unresolved",
        lower="complaints resolved ({value:.0f} open)",
        kind="count",
    ),
    "resolution_hours_ratio": FeatureInfo(
        description="How slow service is for this account: median resolution hours of its tickets against "
        "the median of all tickets.",
        formula="median(resolution_hours | account) / median(resolution_hours | all accounts), tickets "
        "closed in [A-365, A)",
        unit="ratio",
        higher="repairs take {value:.1f}x the usual time",
        lower="repairs faster than usual ({value:.1f}x the usual time)",
        kind="number",
        missing="no closed ticket in 12 months",
        null_rule="null when the account has no ticket closed in the last 12 months with resolution "
        "hours, or the global median is 0",
    ),
    "satisfaction_avg_12m": FeatureInfo(
        description="Mean satisfaction rating (1-5) of tickets closed in the last 12 months.",
        formula="mean(satisfaction) over tickets with A-365 <= closed_date < A",
        unit="rating 1-5",
        higher="satisfied with service ({value:.1f} of 5)",
        lower="service satisfaction only {value:.1f} of 5",
        kind="number",
        missing="no rated ticket in 12 months",
        null_rule="null when no rated ticket closed in the last 12 months",
    ),
    # --- contacts --------------------------------------------------------------------------------
    "contacts_active": FeatureInfo(
        description="Contacts in role at the as-of date.",
        formula="count of contacts with active_from < A and (active_to null or >= A)",
        unit="contacts",
        higher="{value:.0f} active contacts",
        lower="only {value:.0f} active contacts",
        kind="count",
    ),
    "coverage_levels": FeatureInfo(
        description="Levels (operations, management, decision) with at least one active contact.",
        formula="count distinct level over active contacts",
        unit="levels (0-3)",
        higher="relationship covers {value:.0f} of 3 levels",
        lower="relationship covers only {value:.0f} of 3 levels",
        kind="count",
    ),
    "single_level_coverage": FeatureInfo(
        description="The relationship sits on exactly one level.",
        formula="coverage_levels == 1",
        unit="bool",
        higher="relationship sits on a single level",
        lower="relationship spans several levels (or none)",
        kind="bool",
    ),
    "days_since_key_contact_left": FeatureInfo(
        description="Days since a decision- or management-level contact left their role.",
        formula="A - max(active_to) over decision/management contacts with active_to < A",
        unit="days",
        higher="decision- or management-level contact left {value:.0f} days ago",
        lower="decision- or management-level contact left {value:.0f} days ago",
        kind="days",
        missing="no decision- or management-level contact has left",
        null_rule="null when no decision- or management-level contact has an active_to before A",
    ),
    # --- ownership -------------------------------------------------------------------------------
    "rep_changes_24m": FeatureInfo(
        description="Times the owning rep changed in the last 24 months.",
        formula="ownership periods starting in [A-730, A), not counting the account's first period",
        unit="changes",
        higher="owning rep changed {value:.0f} times in 2 years",
        lower="stable owning rep ({value:.0f} changes in 2 years)",
        kind="count",
    ),
    "owner_rep_active": FeatureInfo(
        description="An ownership period is current at the as-of date (an owning rep is in place).",
        formula="exists ownership with start_date < A and (end_date null or >= A)",
        unit="bool",
        higher="owning rep in place",
        lower="no active owning rep (the rep has left or the account is unassigned)",
        kind="bool",
    ),
    "days_since_rep_change": FeatureInfo(
        description="Days since the latest ownership period started.",
        formula="A - max(start_date < A)",
        unit="days",
        higher="same owning rep for {value:.0f} days",
        lower="owning rep changed {value:.0f} days ago",
        kind="days",
        missing="no ownership history",
        null_rule="null when the account has no ownership period starting before A",
    ),
    # --- visits ----------------------------------------------------------------------------------
    "days_since_last_visit": FeatureInfo(
        description="Days since the last visit or call.",
        formula="A - max(visit_date < A)",
        unit="days",
        higher="no visit for {value:.0f} days",
        lower="visited recently ({value:.0f} days ago)",
        kind="days",
        missing="never visited",
        null_rule="null when the account has no visit before A",
    ),
    "visits_90d": FeatureInfo(
        description="Visits and calls in the last 90 days.",
        formula="count of visits with A-90 <= visit_date < A",
        unit="visits",
        higher="{value:.0f} visits in the last 90 days",
        lower="only {value:.0f} visits in the last 90 days",
        kind="count",
    ),
    # --- opportunities ---------------------------------------------------------------------------
    "open_opportunities": FeatureInfo(
        description="Opportunities open at the as-of date.",
        formula="count with created_date < A and (closed_date null or >= A)",
        unit="opportunities",
        higher="{value:.0f} open opportunities",
        lower="{value:.0f} open opportunities",
        kind="count",
    ),
    "won_deals_12m": FeatureInfo(
        description="Deals won in the last 12 months.",
        formula="count with outcome = won and A-365 <= closed_date < A",
        unit="deals",
        higher="won {value:.0f} deals in 12 months",
        lower="won only {value:.0f} deals in 12 months",
        kind="count",
    ),
    "lost_deals_12m": FeatureInfo(
        description="Deals lost in the last 12 months.",
        formula="count with outcome = lost and A-365 <= closed_date < A",
        unit="deals",
        higher="lost {value:.0f} deals in 12 months",
        lower="lost {value:.0f} deals in 12 months",
        kind="count",
    ),
    "competitor_in_lost_deals_12m": FeatureInfo(
        description="Lost deals in the last 12 months that name a competitor.",
        formula="count with outcome = lost, competitor named, A-365 <= closed_date < A",
        unit="deals",
        higher="lost {value:.0f} deals to a named competitor in 12 months",
        lower="{value:.0f} deals lost to a competitor in 12 months",
        kind="count",
    ),
    # --- territory -------------------------------------------------------------------------------
    "revenue_rank_in_territory": FeatureInfo(
        description="Rank of revenue_12m within the territory (1 = highest; ties by account_id).",
        formula="rank of revenue_12m descending within region x industry, accounts created before A",
        unit="rank",
        higher="ranked #{value:.0f} by revenue in its territory",
        lower="top account: #{value:.0f} by revenue in its territory",
        kind="count",
        missing="account not yet created at the as-of date",
        null_rule="null when the account was created on/after A",
    ),
    "territory_accounts": FeatureInfo(
        description="Accounts in the territory (created before the as-of date).",
        formula="count of accounts with the same region x industry and created_date < A",
        unit="accounts",
        higher="crowded territory ({value:.0f} accounts)",
        lower="small territory ({value:.0f} accounts)",
        kind="count",
    ),
    "revenue_share_in_territory": FeatureInfo(
        description="Share of the territory's 12-month revenue.",
        formula="revenue_12m / sum(revenue_12m over the territory)",
        unit="ratio",
        higher="brings {value:.0%} of its territory's revenue",
        lower="brings only {value:.0%} of its territory's revenue",
        kind="share",
        missing="territory has no revenue",
        null_rule="null when the territory has no revenue in 12 months or the account was created on/after A",
    ),
    # --- opportunity features --------------------------------------------------------------------
    "opportunity_id": FeatureInfo(
        description="Opportunity identifier.",
        formula="opportunities.opportunity_id",
        unit="id",
        higher="deal {value}",
        lower="deal {value}",
        kind="text",
    ),
    "is_prospect": FeatureInfo(
        description="The lead is for a new prospect (no account yet).",
        formula="opportunities.account_id is null",
        unit="bool",
        higher="new prospect, not yet a customer",
        lower="existing customer",
        kind="bool",
    ),
    "source": FeatureInfo(
        description="Where the lead came from.",
        formula="opportunities.source",
        unit="category",
        higher="from {value}",
        lower="from {value}",
        kind="category",
    ),
    "product_line": FeatureInfo(
        description="Main product line of the deal.",
        formula="opportunities.product_line",
        unit="category",
        higher="{value} deal",
        lower="{value} deal",
        kind="category",
    ),
    "est_units": FeatureInfo(
        description="Estimated units of the deal.",
        formula="opportunities.est_units",
        unit="units",
        higher="large deal ({value:,.0f} units)",
        lower="small deal ({value:,.0f} units)",
        kind="count",
    ),
    "est_amount": FeatureInfo(
        description="Estimated deal amount.",
        formula="opportunities.est_amount",
        unit=_CNY,
        higher="large deal ({value:,.0f} CNY)",
        lower="small deal ({value:,.0f} CNY)",
        kind="money",
    ),
    "stage": FeatureInfo(
        description="Pipeline stage (current value).",
        formula="opportunities.stage",
        unit="category",
        higher="at stage {value}",
        lower="at stage {value}",
        kind="category",
    ),
    "age_days": FeatureInfo(
        description="Days the opportunity has been open.",
        formula="A - created_date",
        unit="days",
        higher="deal open for {value:.0f} days",
        lower="fresh deal ({value:.0f} days old)",
        kind="days",
    ),
    "competitor": FeatureInfo(
        description="A competitor is named in the deal.",
        formula="opportunities.competitor is not blank",
        unit="bool",
        higher="competitor named in the deal",
        lower="no competitor named",
        kind="bool",
    ),
    "territory_win_rate_12m": FeatureInfo(
        description="Win rate of deals closed in the territory in the last 12 months.",
        formula="won / (won + lost) over deals with A-365 <= closed_date < A in the same territory",
        unit="ratio",
        higher="territory wins {value:.0%} of its deals",
        lower="territory wins only {value:.0%} of its deals",
        kind="share",
        missing="no deal closed in the territory in 12 months",
        null_rule="null when no deal in the territory closed in the last 12 months",
    ),
    "territory_closed_deals_12m": FeatureInfo(
        description="Deals closed (won or lost) in the territory in the last 12 months.",
        formula="count with A-365 <= closed_date < A in the same territory",
        unit="deals",
        higher="busy territory ({value:.0f} deals closed in 12 months)",
        lower="quiet territory ({value:.0f} deals closed in 12 months)",
        kind="count",
    ),
    # --- from_transactions -----------------------------------------------------------------------
    "frequency": FeatureInfo(
        description="Purchases before the as-of date.",
        formula="count of rows with date < A",
        unit="purchases",
        higher="buys often ({value:.0f} purchases)",
        lower="buys rarely ({value:.0f} purchases)",
        kind="count",
    ),
    "monetary": FeatureInfo(
        description="Mean purchase amount.",
        formula="sum(amount) / frequency",
        unit="amount",
        higher="large purchases (average {value:,.0f})",
        lower="small purchases (average {value:,.0f})",
        kind="money",
    ),
    "monetary_total": FeatureInfo(
        description="Total purchase amount before the as-of date.",
        formula="sum(amount) over rows with date < A",
        unit="amount",
        higher="large total spend ({value:,.0f})",
        lower="small total spend ({value:,.0f})",
        kind="money",
    ),
    "tenure_days": FeatureInfo(
        description="Days since the first purchase.",
        formula="A - min(date < A)",
        unit="days",
        higher="customer for {value:,.0f} days",
        lower="new customer ({value:.0f} days)",
        kind="days",
    ),
    "transactions_12m": FeatureInfo(
        description="Purchases in the last 12 months.",
        formula="count of rows with A-365 <= date < A",
        unit="purchases",
        higher="{value:.0f} purchases in 12 months",
        lower="only {value:.0f} purchases in 12 months",
        kind="count",
    ),
    "transactions_90d": FeatureInfo(
        description="Purchases in the last 90 days.",
        formula="count of rows with A-90 <= date < A",
        unit="purchases",
        higher="{value:.0f} purchases in 90 days",
        lower="only {value:.0f} purchases in 90 days",
        kind="count",
    ),
    "amount_12m": FeatureInfo(
        description="Amount in the last 12 months.",
        formula="sum(amount) over rows with A-365 <= date < A",
        unit="amount",
        higher="high 12-month spend ({value:,.0f})",
        lower="low 12-month spend ({value:,.0f})",
        kind="money",
    ),
    "amount_prev_12m": FeatureInfo(
        description="Amount in the 12 months before the last 12.",
        formula="sum(amount) over rows with A-730 <= date < A-365",
        unit="amount",
        higher="high spend the year before ({value:,.0f})",
        lower="low spend the year before ({value:,.0f})",
        kind="money",
    ),
    "amount_change_12m": FeatureInfo(
        description="Relative change of 12-month amount against the prior 12 months.",
        formula="(amount_12m - amount_prev_12m) / amount_prev_12m",
        unit="ratio",
        higher="spend up {value:+.0%} on the prior 12 months",
        lower="spend down {value:+.0%} on the prior 12 months",
        kind="ratio",
        missing="no spend in the prior 12 months to compare with",
        null_rule="null when amount_prev_12m is 0",
    ),
    "amount_90d": FeatureInfo(
        description="Amount in the last 90 days.",
        formula="sum(amount) over rows with A-90 <= date < A",
        unit="amount",
        higher="high spend in the last 90 days ({value:,.0f})",
        lower="low spend in the last 90 days ({value:,.0f})",
        kind="money",
    ),
    "amount_prev_90d": FeatureInfo(
        description="Amount in the 90 days before the last 90.",
        formula="sum(amount) over rows with A-180 <= date < A-90",
        unit="amount",
        higher="high spend in the prior 90 days ({value:,.0f})",
        lower="low spend in the prior 90 days ({value:,.0f})",
        kind="money",
    ),
    "amount_change_90d": FeatureInfo(
        description="Relative change of 90-day amount against the prior 90 days.",
        formula="(amount_90d - amount_prev_90d) / amount_prev_90d",
        unit="ratio",
        higher="spend up {value:+.0%} on the prior quarter",
        lower="spend down {value:+.0%} on the prior quarter",
        kind="ratio",
        missing="no spend in the prior 90 days to compare with",
        null_rule="null when amount_prev_90d is 0",
    ),
    "mean_interval_days": FeatureInfo(
        description="Usual purchase interval: mean gap between distinct purchase days (all history before A).",
        formula="mean(diff(sorted distinct purchase days < A))",
        unit="days",
        higher="buys only every {value:.0f} days",
        lower="buys every {value:.0f} days",
        kind="days",
        missing="fewer than two purchase days",
        null_rule="null with fewer than 2 distinct purchase days",
    ),
    "interval_cv": FeatureInfo(
        description="Irregularity of purchasing: coefficient of variation of the gaps between purchase days.",
        formula="std(gaps) / mean(gaps), population std",
        unit="ratio",
        higher="irregular buying rhythm (variation {value:.2f})",
        lower="regular buying rhythm (variation {value:.2f})",
        kind="number",
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
    check_type("describe", "feature", feature, str, "pass a feature name, e.g. 'tickets_90d'")
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
