"""The customer-database contract: the one place that states what valid input looks like.

``docs/data-model.md`` documents the same tables for people; ``tests/contract`` checks the two agree.
"""

from __future__ import annotations

import pandas as pd

from engine._domain import (
    ACCOUNT_STATUSES,
    ADMIN_LEVELS,
    CONTACT_LEVELS,
    INDUSTRIES,
    OPPORTUNITY_OUTCOMES,
    OPPORTUNITY_SOURCES,
    OPPORTUNITY_STAGES,
    PARTNER_TIERS,
    PRODUCT_LINES,
    REGIONS,
    REP_ROLES,
    TICKET_KINDS,
    TICKET_SEVERITIES,
    VISIT_KINDS,
)
from engine.contract._spec import Column, Contract, RowCheck, Table

__all__ = ["CUSTOMER_DATABASE"]

_REGIONS = tuple(REGIONS)


def _after(later: str, earlier: str):
    def fails(frame: pd.DataFrame) -> pd.Series:
        return (frame[later] < frame[earlier]).fillna(False).astype(bool)

    return fails


REPS = Table(
    name="reps",
    description="Account managers: outside (field) sales and inside sales.",
    key="rep_id",
    columns=(
        Column("rep_id", "string", "Rep identifier, e.g. R00042."),
        Column("name", "string", "Full name."),
        Column("role", "enum", "outside = field sales (A accounts); inside = inside sales.", allowed=REP_ROLES),
        Column("region", "enum", "Sales region the rep belongs to.", allowed=_REGIONS),
        Column("industries", "enum", "Industries the rep covers, ';'-separated.", allowed=INDUSTRIES, multi=True),
        Column(
            "manager_id",
            "string",
            "The rep's manager (a rep_id); null for team leads.",
            required=False,
            references="reps.rep_id",
        ),
        Column("capacity", "integer", "Most accounts/open opportunities the rep can carry.", minimum=1),
        Column("active", "boolean", "False once the rep has left."),
    ),
)

PARTNERS = Table(
    name="partners",
    description="Channel partners (resellers).",
    key="partner_id",
    columns=(
        Column("partner_id", "string", "Partner identifier, e.g. P00017."),
        Column("name", "string", "Trading name."),
        Column("regions", "enum", "Regions the partner may sell in, ';'-separated.", allowed=_REGIONS, multi=True),
        Column("industries", "enum", "Industries the partner serves, ';'-separated.", allowed=INDUSTRIES, multi=True),
        Column("tier", "enum", "Partner programme tier.", allowed=PARTNER_TIERS),
        Column("capacity", "integer", "Most open opportunities the partner can carry.", minimum=1),
        Column("active", "boolean", "False once the partner is off the programme."),
    ),
)

CUSTOMERS = Table(
    name="customers",
    description="Key accounts. Every account is locked to one owning rep and one owning partner.",
    key="account_id",
    columns=(
        Column("account_id", "string", "Account identifier, e.g. A0001234."),
        Column("name", "string", "Customer name."),
        Column("region", "enum", "Sales region.", allowed=_REGIONS),
        Column("industry", "enum", "Industry.", allowed=INDUSTRIES),
        Column(
            "admin_level",
            "enum",
            "Administrative level for public-sector accounts; null otherwise.",
            required=False,
            allowed=ADMIN_LEVELS,
        ),
        Column("employees", "integer", "Head count.", minimum=0),
        Column("it_spend_potential", "number", "Estimated annual IT spend (CNY): the potential.", minimum=0),
        Column("owner_rep_id", "string", "Owning account manager.", required=False, references="reps.rep_id"),
        Column(
            "owner_partner_id",
            "string",
            "Owning channel partner.",
            required=False,
            references="partners.partner_id",
        ),
        Column("strategic", "boolean", "Flagged strategic by sales management."),
        Column("created_date", "date", "When the account was created.", not_future=True),
        Column("status", "enum", "Account status.", allowed=ACCOUNT_STATUSES),
    ),
)

OWNERSHIP = Table(
    name="ownership",
    description="History of which rep owned each account (rep turnover is a churn signal).",
    key="ownership_id",
    columns=(
        Column("ownership_id", "string", "Row identifier."),
        Column("account_id", "string", "Account.", references="customers.account_id"),
        Column("rep_id", "string", "Owning rep during the period.", references="reps.rep_id"),
        Column("start_date", "date", "First day of ownership.", not_future=True),
        Column("end_date", "date", "Last day of ownership; null while current.", required=False),
    ),
    checks=(
        RowCheck(
            "end_after_start",
            ("end_date", "start_date"),
            "end_date is on or after start_date",
            _after("end_date", "start_date"),
            "swap the dates or correct the end date",
        ),
    ),
)

ORDERS = Table(
    name="orders",
    description="Purchase history.",
    key="order_id",
    columns=(
        Column("order_id", "string", "Order identifier."),
        Column("account_id", "string", "Buying account.", references="customers.account_id"),
        Column("order_date", "date", "Order date.", not_future=True),
        Column("product_line", "enum", "Product line.", allowed=PRODUCT_LINES),
        Column("units", "integer", "Units ordered.", minimum=0),
        Column("amount", "number", "Order value (CNY).", minimum=0),
        Column("margin", "number", "Gross margin (CNY); may be negative, never above the amount."),
        Column(
            "channel",
            "string",
            "'direct' or the partner_id that fulfilled the order.",
            references="partners.partner_id",
            references_or=("direct",),
        ),
    ),
    checks=(
        RowCheck(
            "margin_within_amount",
            ("margin", "amount"),
            "margin is not greater than amount",
            lambda f: (f["margin"] > f["amount"]).fillna(False).astype(bool),
            "margin is amount minus cost; check the cost or the sign",
        ),
    ),
)

TICKETS = Table(
    name="tickets",
    description="Service tickets: complaints, repairs, installations, inquiries.",
    key="ticket_id",
    columns=(
        Column("ticket_id", "string", "Ticket identifier."),
        Column("account_id", "string", "Account.", references="customers.account_id"),
        Column("opened_date", "date", "Opened.", not_future=True),
        Column("closed_date", "date", "Closed; null while open.", required=False),
        Column("severity", "enum", "Severity.", allowed=TICKET_SEVERITIES),
        Column("kind", "enum", "Kind of ticket.", allowed=TICKET_KINDS),
        Column("resolution_hours", "number", "Hours to resolve; null while open.", required=False, minimum=0),
        Column("satisfaction", "integer", "Customer rating 1-5 at close.", required=False, minimum=1, maximum=5),
    ),
    checks=(
        RowCheck(
            "closed_after_opened",
            ("closed_date", "opened_date"),
            "closed_date is on or after opened_date",
            _after("closed_date", "opened_date"),
            "correct the closing date or the opening date",
        ),
    ),
)

CONTACTS = Table(
    name="contacts",
    description="People at the customer, on three levels: operations, management, decision.",
    key="contact_id",
    columns=(
        Column("contact_id", "string", "Contact identifier."),
        Column("account_id", "string", "Account.", references="customers.account_id"),
        Column("level", "enum", "Level in the customer's organisation.", allowed=CONTACT_LEVELS),
        Column("role", "string", "Job title."),
        Column("active_from", "date", "First day in the role.", not_future=True),
        Column("active_to", "date", "Last day in the role (a key-person change); null while active.", required=False),
        Column("last_visit_date", "date", "Last visit to this contact (snapshot).", required=False, not_future=True),
    ),
    checks=(
        RowCheck(
            "active_to_after_from",
            ("active_to", "active_from"),
            "active_to is on or after active_from",
            _after("active_to", "active_from"),
            "correct active_to or active_from",
        ),
    ),
)

VISITS = Table(
    name="visits",
    description="Visits and calls by reps (dated events, so 'days since last visit' can be taken as of any date).",
    key="visit_id",
    columns=(
        Column("visit_id", "string", "Visit identifier."),
        Column("account_id", "string", "Account visited.", references="customers.account_id"),
        Column("rep_id", "string", "Visiting rep.", references="reps.rep_id"),
        Column("contact_id", "string", "Contact met, if any.", required=False, references="contacts.contact_id"),
        Column("visit_date", "date", "Date.", not_future=True),
        Column("kind", "enum", "onsite, phone or executive (senior-executive visit).", allowed=VISIT_KINDS),
    ),
)


def _prospect_without_territory(frame: pd.DataFrame) -> pd.Series:
    no_account = frame["account_id"].isna()
    return (no_account & (frame["region"].isna() | frame["industry"].isna() | frame["prospect_name"].isna())).astype(
        bool
    )


def _closed_mismatch(frame: pd.DataFrame) -> pd.Series:
    is_open = frame["outcome"] == "open"
    return ((is_open & frame["closed_date"].notna()) | (~is_open & frame["closed_date"].isna())).fillna(False).astype(
        bool
    )


OPPORTUNITIES = Table(
    name="opportunities",
    description="Leads and deals. A lead for a new prospect has no account_id but names its territory.",
    key="opportunity_id",
    columns=(
        Column("opportunity_id", "string", "Opportunity identifier."),
        Column(
            "account_id",
            "string",
            "Account; null for a new prospect.",
            required=False,
            references="customers.account_id",
        ),
        Column("prospect_name", "string", "Prospect's name when account_id is null.", required=False),
        Column("region", "enum", "Region (required for a prospect).", required=False, allowed=_REGIONS),
        Column("industry", "enum", "Industry (required for a prospect).", required=False, allowed=INDUSTRIES),
        Column("created_date", "date", "Created.", not_future=True),
        Column("source", "enum", "Where the lead came from.", allowed=OPPORTUNITY_SOURCES),
        Column("product_line", "enum", "Main product line.", allowed=PRODUCT_LINES),
        Column("est_units", "integer", "Estimated units.", minimum=0),
        Column("est_amount", "number", "Estimated deal amount (CNY).", minimum=0),
        Column("stage", "enum", "Pipeline stage.", allowed=OPPORTUNITY_STAGES),
        Column("closed_date", "date", "Closed; null while open.", required=False),
        Column("outcome", "enum", "open, won or lost.", allowed=OPPORTUNITY_OUTCOMES),
        Column("competitor", "string", "Competitor named in the deal, if any.", required=False),
    ),
    checks=(
        RowCheck(
            "prospect_needs_territory",
            ("account_id", "region", "industry", "prospect_name"),
            "a lead without account_id names prospect_name, region and industry",
            _prospect_without_territory,
            "link the lead to its account, or fill prospect_name, region and industry",
        ),
        RowCheck(
            "closed_after_created",
            ("closed_date", "created_date"),
            "closed_date is on or after created_date",
            _after("closed_date", "created_date"),
            "correct closed_date or created_date",
        ),
        RowCheck(
            "outcome_matches_closed_date",
            ("closed_date", "outcome"),
            "an open opportunity has no closed_date; a won or lost one has one",
            _closed_mismatch,
            "set outcome to won/lost with a closed_date, or open without one",
        ),
    ),
)

#: The customer database, in validation order (a table comes after the tables it references).
CUSTOMER_DATABASE = Contract(
    tables=(REPS, PARTNERS, CUSTOMERS, OWNERSHIP, ORDERS, TICKETS, CONTACTS, VISITS, OPPORTUNITIES)
)
