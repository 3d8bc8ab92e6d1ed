"""Whatever arrives in a body, the service answers 200 or a 4xx JSON error naming a field; never 500."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from serve_client import TOKEN, Client

from engine.live import LEAD_FIELDS


@pytest.fixture(scope="module")
def fuzz_server(scored_service_db, tmp_path_factory):
    from engine.serve import ServeOptions, ServiceServer

    path, models = scored_service_db
    folder = tmp_path_factory.mktemp("fuzz")
    db = folder / "demo.sqlite"
    shutil.copy(path, db)
    server = ServiceServer(db, ServeOptions(token=TOKEN, max_body_bytes=2048, reload_poll_seconds=0), port=0,
                           artifacts_dir=models)
    server.open().start_background()
    client = Client(server.url)
    yield client
    client.close()
    server.stop()


_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                     st.sampled_from(["shandong", "finance", "web", "server", "lead", "2026-09-30", "K0000001", ""]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                             max_size=3), max_leaves=6)
_leads = st.dictionaries(st.sampled_from([*LEAD_FIELDS, "lead_id", "amount", "extra"]), _values,
                         max_size=len(LEAD_FIELDS))


def _check(status: int, answer) -> None:
    assert status in (200, 400, 413, 415, 422), (status, answer)
    assert isinstance(answer, dict)
    if status != 200:
        problems = answer["error"]["problems"]
        assert problems and all(set(p) == {"field", "expected", "got", "fix"} for p in problems)
        # the field is the key as sent (an empty key is named ""); what, got and fix are always said
        assert all(isinstance(p["field"], str) and p["expected"] and p["got"] and p["fix"] for p in problems)


@settings(max_examples=60)
@given(_leads)
def test_any_json_object_is_a_decision_or_a_4xx_naming_the_field(fuzz_server, lead):
    status, _, answer = fuzz_server.request("POST", "/route", lead)
    _check(status, answer)
    if status == 200:
        assert answer["lead_id"] == str(lead["opportunity_id"]).strip()


@settings(max_examples=60)
@given(st.one_of(st.binary(max_size=3000), _values.map(lambda v: json.dumps(v).encode())))
def test_any_bytes_are_answered_with_a_4xx_or_a_decision(fuzz_server, body):
    status, _, answer = fuzz_server.request("POST", "/route", raw=body, headers={"Content-Type": "application/json"})
    _check(status, answer)
