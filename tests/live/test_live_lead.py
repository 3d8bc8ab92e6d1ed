"""A lead is validated with the contract's opportunity columns; every problem names field, expected, got, fix."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_factories import prospect

from engine._errors import DataError, KamError, exit_code_for
from engine.live import LEAD_FIELDS, Lead, LeadError, parse_lead


def test_a_prospect_and_an_account_lead_parse():
    lead = parse_lead({**prospect("L1"), "created_date": "2026-09-29", "competitor": "Rival Co"})
    assert lead.is_prospect and lead.region == "shandong" and lead.created_date == dt.date(2026, 9, 29)
    account = parse_lead({"opportunity_id": "L2", "account_id": "A0000001", "source": "field",
                          "product_line": "desktop", "est_units": 3, "est_amount": 12.5, "stage": "qualified"})
    assert not account.is_prospect and account.region is None and account.est_units == 3


def test_every_problem_is_reported_at_once_with_field_expected_got_fix():
    with pytest.raises(LeadError) as caught:
        parse_lead({"opportunity_id": "L3", "region": "atlantis", "source": "webb", "est_units": 2.5,
                    "est_amount": -1, "stage": True, "lead_id": "x", "created_date": "30/09/2026"})
    error = caught.value
    fields = [problem[0] for problem in error.problems]
    assert fields == ["lead_id", "region", "created_date", "source", "product_line", "est_units", "est_amount",
                      "stage", "prospect_name", "industry"]
    text = str(error)
    assert text.startswith("lead 'L3': 10 problems:")
    assert "lead_id: expected one of the fields" in text and "Fix: rename it to 'opportunity_id'." in text
    assert "source: expected one of inside_callout, partner, marketing_event, web, referral, field; got 'webb'. " \
           "Fix: did you mean 'web'?" in text
    assert "est_units: expected a whole number; got 2.5" in text
    assert "est_amount: expected a number >= 0; got -1" in text
    assert "created_date: expected an ISO date YYYY-MM-DD; got '30/09/2026'" in text
    assert "prospect_name: expected a value: a lead without account_id is a prospect" in text
    assert isinstance(error, DataError) and isinstance(error, KamError) and exit_code_for(error) == 4


def test_not_an_object_is_refused():
    with pytest.raises(LeadError, match=r"request body: expected a JSON object .* got list"):
        parse_lead([1, 2], source="request body")


_values = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(["shandong", "finance", "web", "server", "lead", "2026-09-30"]),
                    st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*LEAD_FIELDS, "nmae", "id", "x"]), _values, max_size=14))
def test_any_input_is_a_lead_or_a_lead_error_naming_each_field(data):
    try:
        lead = parse_lead(data)
    except LeadError as error:
        assert error.problems
        for field, expected, got, fix in error.problems:
            assert field and expected and got and fix
            assert f"  {field}: expected" in str(error)
        return
    assert isinstance(lead, Lead)
    assert lead.opportunity_id == data["opportunity_id"].strip()
    assert lead.account_id is not None or (lead.prospect_name and lead.region and lead.industry)
    assert lead.est_amount >= 0 and lead.est_units >= 0
