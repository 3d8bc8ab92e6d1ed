"""The live path's one-record features and win score equal the batch builder's and predict_proba.

:class:`engine.live._record.RecordBuilder` and :class:`~engine.live._record.WinRecordScorer`
replace, per lead, ``build_opportunity_features`` on a one-row frame and
``WinModel.predict_proba``. Differential tests: every open opportunity of the demo (built by
the batch in one pass) and generated leads (accounts, prospects, unknown territories, blank
and present competitors, any creation date) must give the same row, value for value and
dtype for dtype, and the same probability to 1e-12.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from live_factories import AS_OF, lead_of

from engine._normalise import typed_frame
from engine.contract import CUSTOMER_DATABASE
from engine.features import (
    OPPORTUNITY_FEATURE_COLUMNS,
    build_account_features,
    build_opportunity_features,
    feature_reference,
)
from engine.live import parse_lead
from engine.live._record import RecordBuilder, WinRecordScorer
from engine.models import load_model
from engine.validate import validate_tables

AS_OF_DATE = dt.date.fromisoformat(AS_OF)


@pytest.fixture(scope="module")
def batch(live_tables):
    """The valid tables, account features, reference and open opportunities' features at AS_OF."""
    valid = validate_tables(live_tables, as_of=AS_OF).valid
    accounts = build_account_features(valid, AS_OF)
    reference = feature_reference(valid, AS_OF)
    features = build_opportunity_features(valid, AS_OF, accounts=accounts, reference=reference)
    builder = RecordBuilder(valid["customers"], accounts, reference.territory_deals, AS_OF_DATE)
    return valid, accounts, reference, features, builder


@pytest.fixture(scope="module")
def win(live_models):
    model = load_model(live_models / "win.joblib", kind="win")
    return model, WinRecordScorer(model)


def _frame(records: list[dict]) -> pd.DataFrame:
    return typed_frame({name: pd.Series([r[name] for r in records], dtype=object)
                        for name in OPPORTUNITY_FEATURE_COLUMNS}, OPPORTUNITY_FEATURE_COLUMNS)


def _created(lead) -> dt.date:
    newest = AS_OF_DATE - dt.timedelta(days=1)
    return min(lead.created_date or newest, newest)


def test_records_equal_the_batch_over_the_open_opportunities(batch):
    valid, _, _, features, builder = batch
    opportunities = valid["opportunities"].set_index("opportunity_id", drop=False)
    records = []
    for opportunity_id in features["opportunity_id"]:
        lead = parse_lead(lead_of(opportunities.loc[opportunity_id].to_dict()))
        record = builder.features(lead, _created(lead))
        assert list(record) == list(OPPORTUNITY_FEATURE_COLUMNS)
        records.append(record)
    assert len(records) >= 40 and features["is_prospect"].any() and (~features["is_prospect"]).any()
    pd.testing.assert_frame_equal(_frame(records), features, check_exact=True)


def test_win_scores_equal_predict_proba_over_the_open_opportunities(batch, win):
    features = batch[3]
    model, scorer = win
    want = model.predict_proba(features[list(model.feature_names_in_)])[:, 1]
    got = np.array([scorer(record) for record in features.to_dict("records")])
    assert np.abs(got - want).max() <= 1e-12


_OPPORTUNITIES = CUSTOMER_DATABASE["opportunities"]


def _allowed(name: str) -> list[str]:
    return list(_OPPORTUNITIES.column(name).allowed or ())


@st.composite
def _leads(draw, account_ids: list[str], regions: list[str], industries: list[str]) -> dict:
    lead = {"opportunity_id": "H-1", "source": draw(st.sampled_from(_allowed("source"))),
            "product_line": draw(st.sampled_from(_allowed("product_line"))),
            "est_units": draw(st.integers(1, 10_000)),
            "est_amount": draw(st.floats(0, 1e9, allow_nan=False) | st.integers(0, 10**9)),
            "stage": draw(st.sampled_from(_allowed("stage")))}
    if draw(st.booleans()):
        lead["account_id"] = draw(st.sampled_from(account_ids))
    else:  # a prospect, also in a territory the data has never seen
        lead["prospect_name"] = draw(st.text(min_size=1, max_size=12).filter(str.strip))
        lead["region"] = draw(st.sampled_from(regions))
        lead["industry"] = draw(st.sampled_from(industries))
    if draw(st.booleans()):
        lead["created_date"] = draw(st.dates(dt.date(2015, 1, 1), dt.date(2027, 12, 31))).isoformat()
    competitor = draw(st.none() | st.sampled_from(["", "  ", "Dell", "华为"]))
    if competitor is not None:
        lead["competitor"] = competitor
    return lead


def test_generated_leads_equal_the_batch_builder_and_predict_proba(batch, win):
    valid, accounts, reference, _, builder = batch
    model, scorer = win
    account_ids = valid["customers"]["account_id"].astype(str).tolist()
    regions = sorted(set(valid["customers"]["region"].astype(str)))
    industries = sorted(set(valid["customers"]["industry"].astype(str)))
    customers = valid["customers"]

    @given(_leads(account_ids, regions, industries))
    def check(data: dict) -> None:
        lead = parse_lead(data)
        created = _created(lead)
        record = builder.features(lead, created)
        # the batch builder on this one opportunity, open at AS_OF (the live path's old way)
        row = {**lead.as_dict(), "created_date": created.isoformat(), "closed_date": None, "outcome": "open"}
        linked = customers[customers["account_id"] == lead.account_id] if lead.account_id else customers.iloc[:0]
        want = build_opportunity_features({"customers": linked, "opportunities": pd.DataFrame([row])}, AS_OF,
                                          accounts=accounts[accounts["account_id"].isin(linked["account_id"])],
                                          reference=reference)
        pd.testing.assert_frame_equal(_frame([record]), want, check_exact=True)
        probability = model.predict_proba(want[list(model.feature_names_in_)])[0, 1]
        assert math.isclose(scorer(record), probability, rel_tol=0, abs_tol=1e-12)

    check()


def test_a_model_with_an_input_the_records_lack_is_refused(win):
    """The router falls back to predict_proba for such a model (TypeError at compile)."""
    model = win[0]

    class Renamed:
        def compile_scorer(self):
            compiled = model.compile_scorer()
            return compiled._replace(columns=[*compiled.columns, "not_a_feature"])

    with pytest.raises(TypeError, match="not_a_feature"):
        WinRecordScorer(Renamed())
