"""The live path's one-record policy decides exactly what the batch's assign_with_report does for that record."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import DataError
from engine.assign import ROUTES, assign_with_report
from engine.live._policy import OnePolicy

REGIONS = ["north", "south"]
INDUSTRIES = ["finance", "energy"]


@st.composite
def situations(draw):
    n_reps = draw(st.integers(1, 5))
    reps = pd.DataFrame({
        "rep_id": [f"R{i}" for i in range(n_reps)],
        "role": draw(st.lists(st.sampled_from(["outside", "inside"]), min_size=n_reps, max_size=n_reps)),
        "region": draw(st.lists(st.sampled_from(REGIONS), min_size=n_reps, max_size=n_reps)),
        "industries": [";".join(draw(st.lists(st.sampled_from(INDUSTRIES), min_size=1, max_size=2, unique=True)))
                       for _ in range(n_reps)],
        "capacity": draw(st.lists(st.integers(0, 3), min_size=n_reps, max_size=n_reps)),
        "active": draw(st.lists(st.booleans(), min_size=n_reps, max_size=n_reps)),
    })
    n_partners = draw(st.integers(0, 3))
    partners = pd.DataFrame({
        "partner_id": [f"P{i}" for i in range(n_partners)],
        "regions": [";".join(draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True)))
                    for _ in range(n_partners)],
        "industries": [";".join(draw(st.lists(st.sampled_from(INDUSTRIES), min_size=1, max_size=2, unique=True)))
                       for _ in range(n_partners)],
        "capacity": draw(st.lists(st.integers(0, 3), min_size=n_partners, max_size=n_partners)),
        "active": draw(st.lists(st.booleans(), min_size=n_partners, max_size=n_partners)),
    }, columns=["partner_id", "regions", "industries", "capacity", "active"])
    linked = draw(st.booleans())
    record = {
        "opportunity_id": draw(st.text(alphabet="OQ0123456789é", min_size=1, max_size=6)),
        "account_id": "K1" if linked else None,
        "region": draw(st.sampled_from(REGIONS + [None])),
        "industry": draw(st.sampled_from(INDUSTRIES + [None])),
        "route": draw(st.sampled_from(ROUTES)),
        "owner_rep_id": draw(st.sampled_from([None, *reps["rep_id"]])) if linked else None,
        "owner_partner_id": draw(st.sampled_from([None, *partners["partner_id"]])) if linked else None,
    }
    loads = {("rep", r): draw(st.integers(0, 4)) for r in reps["rep_id"]}
    loads.update({("partner", p): draw(st.integers(0, 4)) for p in partners["partner_id"]})
    return reps, partners, record, loads


@settings(max_examples=300, deadline=None)
@given(situations())
def test_one_record_policy_equals_batch_of_one(situation):
    reps, partners, record, loads = situation
    asked: list = []

    def load_of(people):
        asked.extend(people)
        return {person: loads[person] for person in people}

    policy = OnePolicy(reps, partners)
    got = policy.decide(record["opportunity_id"], record["route"], record["region"], record["industry"],
                        record["owner_rep_id"], record["owner_partner_id"], load_of)
    current = pd.DataFrame([{"assignee_type": k, "assignee_id": i, "load": n} for (k, i), n in loads.items()])
    want = assign_with_report(pd.DataFrame([record]), reps, partners, current_load=current).assignments.iloc[0]
    for column in ("assignee_type", "assignee_id", "copied_rep_id", "basis", "status", "status_reason",
                   "status_message", "owner_inactive", "conflict"):
        value = want[column]
        value = None if not isinstance(value, (bool, str)) and pd.isna(value) else value
        assert getattr(got, column) == value, column
    # the loads read are those of the people the candidates() call names
    candidates = set(policy.candidates(record["route"], record["region"], record["industry"],
                                       record["owner_rep_id"], record["owner_partner_id"]))
    assert set(asked) <= candidates
    if got.claims is not None:
        assert loads[got.claims] < policy.capacity(*got.claims)


def test_unknown_owner_is_a_data_error():
    reps = pd.DataFrame({"rep_id": ["R1"], "role": ["inside"], "region": ["north"], "industries": ["finance"],
                         "capacity": [1], "active": [True]})
    partners = pd.DataFrame(columns=["partner_id", "regions", "industries", "capacity", "active"])
    with pytest.raises(DataError, match="owner_rep_id: expected an id present in reps; got 'R9'"):
        OnePolicy(reps, partners).decide("O1", "owner", "north", "finance", "R9", None, lambda p: {})
