"""The acceptance property: rows dated on/after the as-of date never change a feature.

Hypothesis draws a "past" (rows dated before the as-of day) and two independent "futures":
rows dated on/after the as-of day in every dated table (orders, tickets, contacts, ownership,
visits, opportunities), plus, for things open at the as-of day, what happens to them later
(closing date, resolution hours, satisfaction, deal outcome). The two worlds share the past
and differ in everything else - rows added, changed, removed, shuffled, and dates given as ISO
strings in one world and datetime64 in the other. The features must be identical.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from features_factories import customer, database
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from engine._domain import CONTACT_LEVELS, PRODUCT_LINES, TICKET_KINDS
from engine.features import build_account_features, build_opportunity_features

AS_OF = dt.date(2024, 6, 1)
ACCOUNTS = ("A1", "A2", "A3")
CUSTOMERS = [
    customer("A1", created="2019-01-01", it_spend_potential=5000.0),
    customer("A2", created="2023-01-01", it_spend_potential=0.0),
    customer("A3", industry="telecom", created="2024-06-01"),  # created on the as-of day
]

account = st.sampled_from(ACCOUNTS)
past_day = st.integers(-800, -1)
future_day = st.integers(0, 400)
money = st.integers(0, 1000).map(float)


def day(offset: int) -> str:
    return (AS_OF + dt.timedelta(days=offset)).isoformat()


@st.composite
def later(draw):
    """What happens on/after the as-of day to something open at it: stays open, or closes then."""
    return draw(st.one_of(st.none(), future_day))


@st.composite
def past_world(draw):
    """Rows dated before the as-of day; open things carry a marker resolved per world."""
    orders = draw(st.lists(st.tuples(account, past_day, st.sampled_from(PRODUCT_LINES), money), max_size=12))
    tickets = []
    for acct, opened in draw(st.lists(st.tuples(account, past_day), max_size=6)):
        kind = draw(st.sampled_from(TICKET_KINDS))
        if draw(st.booleans()):
            closed = draw(st.integers(opened, -1))
            tickets.append((acct, opened, closed, kind, draw(money), draw(st.integers(1, 5))))
        else:
            tickets.append((acct, opened, "open", kind, None, None))
    contacts = []
    for acct, start in draw(st.lists(st.tuples(account, past_day), max_size=6)):
        level = draw(st.sampled_from(CONTACT_LEVELS))
        end = draw(st.integers(start, -1)) if draw(st.booleans()) else "open"
        contacts.append((acct, level, start, end))
    ownership = []
    for acct, start in draw(st.lists(st.tuples(account, past_day), max_size=5)):
        end = draw(st.integers(start, -1)) if draw(st.booleans()) else "open"
        ownership.append((acct, draw(st.sampled_from(["R1", "R2"])), start, end))
    visits = draw(st.lists(st.tuples(account, past_day), max_size=6))
    opportunities = []
    for acct, created in draw(st.lists(st.tuples(st.one_of(st.none(), account), past_day), max_size=6)):
        competitor = draw(st.sampled_from([None, "", "Dell", "HP"]))
        if draw(st.booleans()):
            closed = draw(st.integers(created, -1))
            outcome = draw(st.sampled_from(["won", "lost"]))
            opportunities.append((acct, created, closed, outcome, competitor))
        else:
            opportunities.append((acct, created, "open", None, competitor))
    return {
        "orders": orders,
        "tickets": tickets,
        "contacts": contacts,
        "ownership": ownership,
        "visits": visits,
        "opportunities": opportunities,
    }


@st.composite
def world(draw, past):
    """The past plus one drawn future, as contract tables."""
    rows: dict[str, list[dict]] = {name: [] for name in past}
    for acct, when, line, amount in past["orders"] + draw(
        st.lists(st.tuples(account, future_day, st.sampled_from(PRODUCT_LINES), money), max_size=6)
    ):
        rows["orders"].append(
            {"account_id": acct, "order_date": day(when), "product_line": line, "units": 1, "amount": amount,
             "margin": amount / 10, "channel": "direct"}
        )
    future_tickets = [
        (acct, opened, draw(later()), draw(st.sampled_from(TICKET_KINDS)))
        for acct, opened in draw(st.lists(st.tuples(account, future_day), max_size=4))
    ]
    for acct, opened, closed, kind, hours, rating in past["tickets"] + [
        (a, o, c, k, None, None) for a, o, c, k in future_tickets
    ]:
        if closed == "open" or (closed is not None and closed >= 0) or hours is None:
            if closed == "open":
                closed = draw(later())
            hours = draw(money) if closed is not None else None
            rating = draw(st.integers(1, 5)) if closed is not None else None
        rows["tickets"].append(
            {"account_id": acct, "opened_date": day(opened), "closed_date": None if closed is None else day(closed),
             "severity": "low", "kind": kind, "resolution_hours": hours, "satisfaction": rating}
        )
    future_contacts = [
        (acct, draw(st.sampled_from(CONTACT_LEVELS)), start, draw(later()))
        for acct, start in draw(st.lists(st.tuples(account, future_day), max_size=3))
    ]
    for acct, level, start, end in past["contacts"] + future_contacts:
        if end == "open":
            end = draw(later())
        rows["contacts"].append(
            {"account_id": acct, "level": level, "role": "CIO", "active_from": day(start),
             "active_to": None if end is None else day(max(end, start))}
        )
    future_ownership = [
        (acct, "R3", start, draw(later())) for acct, start in draw(st.lists(st.tuples(account, future_day), max_size=3))
    ]
    for acct, rep, start, end in past["ownership"] + future_ownership:
        if end == "open":
            end = draw(later())
        rows["ownership"].append(
            {"account_id": acct, "rep_id": rep, "start_date": day(start),
             "end_date": None if end is None else day(max(end, start))}
        )
    for acct, when in past["visits"] + draw(st.lists(st.tuples(account, future_day), max_size=4)):
        rows["visits"].append({"account_id": acct, "rep_id": "R1", "visit_date": day(when), "kind": "onsite"})
    future_opportunities = [
        (acct, created, draw(later()), None, draw(st.sampled_from([None, "Dell"])))
        for acct, created in draw(st.lists(st.tuples(st.one_of(st.none(), account), future_day), max_size=3))
    ]
    for acct, created, closed, outcome, competitor in past["opportunities"] + future_opportunities:
        if closed == "open" or outcome is None:
            if closed == "open":
                closed = draw(later())
            closed = None if closed is None else max(closed, created)
            outcome = "open" if closed is None else draw(st.sampled_from(["won", "lost"]))
        rows["opportunities"].append(
            {"account_id": acct, "prospect_name": None if acct else "Prospect", "region": None if acct else "fujian",
             "industry": None if acct else "education", "created_date": day(created), "source": "web",
             "product_line": "server", "est_units": 10, "est_amount": 1000.0, "stage": "qualified",
             "closed_date": None if closed is None else day(closed), "outcome": outcome, "competitor": competitor}
        )
    for name, table_rows in rows.items():
        order = draw(st.permutations(range(len(table_rows))))
        rows[name] = [dict(table_rows[i], **{f"{name[:-1]}_id": f"{name}-{i}"}) for i in order]
    rows["opportunities"] = [dict(r, opportunity_id=r.pop("opportunitie_id")) for r in rows["opportunities"]]
    rows["ownership"] = [dict(r, ownership_id=r.pop("ownershi_id")) for r in rows["ownership"]]
    dates = draw(st.sampled_from(["iso", "datetime"]))
    return database(dates=dates, customers=CUSTOMERS, **rows)


@st.composite
def two_worlds(draw):
    past = draw(past_world())
    return draw(world(past)), draw(world(past))


@settings(max_examples=100)
@given(two_worlds())
def test_account_features_ignore_rows_on_or_after_as_of(worlds):
    first, second = worlds
    assert_frame_equal(build_account_features(first, AS_OF), build_account_features(second, AS_OF), check_exact=False)


@settings(max_examples=40)
@given(two_worlds())
def test_opportunity_features_ignore_rows_on_or_after_as_of(worlds):
    first, second = worlds

    def features(tables):
        frame = build_opportunity_features(tables, AS_OF)
        return frame.sort_values("opportunity_id", ignore_index=True)

    assert_frame_equal(features(first), features(second), check_exact=False)


@settings(max_examples=30)
@given(two_worlds())
def test_future_rows_removed_entirely_change_nothing(worlds):
    # removing every row dated on/after A (and forgetting how open things end) is one more future
    first, _ = worlds
    cut = {}
    a = pd.Timestamp(AS_OF)
    starts = {
        "orders": "order_date",
        "tickets": "opened_date",
        "contacts": "active_from",
        "ownership": "start_date",
        "visits": "visit_date",
        "opportunities": "created_date",
    }
    for name, frame in first.items():
        if name in starts:
            keep = (pd.to_datetime(frame[starts[name]]) < a).to_numpy()
            frame = frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)
        cut[name] = frame
    assert_frame_equal(build_account_features(first, AS_OF), build_account_features(cut, AS_OF), check_exact=False)
