"""The snapshot holder and the pieces of the HTTP layer that parse or compare, as properties."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import ConfigError
from engine.serve import (
    ReloadWatcher,
    ServeOptions,
    SnapshotHolder,
    check_token,
    files_fingerprint,
)
from engine.serve._app import _Guard, _template
from engine.serve._metrics import ServiceMetrics


class _Loads:
    """A loader whose next outcome the test decides; each success is a new, distinct object."""

    def __init__(self):
        self.fail = False
        self.made = 0

    def __call__(self):
        if self.fail:
            raise ValueError("routing.yaml: line 3: not a rule")
        self.made += 1
        return ("router", self.made)


@given(st.lists(st.booleans(), max_size=12))
def test_only_a_successful_reload_replaces_the_snapshot(tmp_path_factory, outcomes):
    folder = tmp_path_factory.mktemp("watched")
    loads = _Loads()
    holder = SnapshotHolder(loads, [folder])
    first = holder.start()
    expected = first
    for succeeds in outcomes:
        loads.fail = not succeeds
        before = holder.current
        assert holder.reload("test") is succeeds
        if succeeds:
            assert holder.current is not before and holder.current.generation == before.generation + 1
            assert holder.last_error is None
            expected = holder.current
        else:
            assert holder.current is before  # the very same object keeps serving
            assert "routing.yaml" in holder.last_error
    assert holder.current is expected
    assert holder.current.generation == 1 + sum(outcomes)
    assert holder.reloads == sum(outcomes) and holder.failed_reloads == len(outcomes) - sum(outcomes)


def test_a_request_keeps_the_snapshot_it_started_with(tmp_path):
    """A reader holds its snapshot across a reload; the swap never changes an object in use."""
    loads = _Loads()
    holder = SnapshotHolder(loads, [tmp_path])
    holder.start()
    in_flight = holder.current
    router_before = in_flight.router
    assert holder.reload("test")
    assert in_flight.router is router_before and in_flight.generation == 1
    assert holder.current.generation == 2


def _replace(path, text):
    """Write like an editor that saves atomically: a watcher never sees the file half written."""
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    os.replace(part, path)


def test_the_watcher_reloads_on_change_and_on_request_but_not_a_broken_file_twice(tmp_path):
    rules = tmp_path / "routing.yaml"
    _replace(rules, "a: 1")
    loads = _Loads()
    holder = SnapshotHolder(loads, [tmp_path])
    holder.start()
    reloaded = threading.Event()
    holder.on_reload(lambda outcome, snapshot: reloaded.set())
    watcher = ReloadWatcher(holder, poll_seconds=0.02).start()
    try:
        _replace(rules, "a: 2")
        assert reloaded.wait(10) and holder.current.generation == 2
        reloaded.clear()
        loads.fail = True
        _replace(rules, "a: [broken")
        assert reloaded.wait(10) and holder.failed_reloads == 1
        reloaded.clear()
        assert not reloaded.wait(0.3)  # the same broken files are not retried every poll
        loads.fail = False
        watcher.request_reload()  # SIGHUP retries whatever is there
        assert reloaded.wait(10) and holder.current.generation == 3
    finally:
        watcher.stop()


def test_a_file_saved_in_place_is_loaded_once_complete_never_half_written(tmp_path):
    """An editor that empties the file, then writes it: a poll between the two steps waits."""
    rules = tmp_path / "routing.yaml"
    rules.write_text("a: 1")
    seen = []

    def load():
        text = rules.read_text()
        if not text or "broken" in text:
            raise ValueError("routing.yaml: not a rule file")
        seen.append(text)
        return object()

    holder = SnapshotHolder(load, [tmp_path])
    holder.start()
    watcher = ReloadWatcher(holder, poll_seconds=0)  # polled by hand, no thread
    assert not watcher.check()  # nothing changed
    rules.write_text("")  # the save has emptied the file ...
    assert not watcher.check()  # ... a change, not loaded before the next poll
    rules.write_text("a: 2")  # ... and written it
    assert not watcher.check()  # changed again since the last poll: still waiting
    assert watcher.check()  # the same at two polls in a row: loaded
    assert holder.current.generation == 2 and holder.failed_reloads == 0 and seen == ["a: 1", "a: 2"]
    assert not watcher.check()  # loaded: nothing to do
    rules.write_text("a: [broken")
    assert not watcher.check() and watcher.check()  # a broken file is loaded (and fails) once it is settled
    assert holder.failed_reloads == 1
    assert not watcher.check() and not watcher.check()  # and not retried while it stays the same


_CONTENTS = ["start", "a: 1", "a: 2", "", "a: [broken"]


def _save(path, text):
    """Write ``text`` with a modification time that is a function of it: same content, same fingerprint."""
    path.write_text(text)
    stamp = 10**9 * (1 + _CONTENTS.index(text))
    os.utime(path, ns=(stamp, stamp))


@settings(max_examples=50)
@given(st.lists(st.sampled_from(_CONTENTS[1:]), min_size=1, max_size=8))
def test_the_watcher_loads_only_what_stayed_the_same_for_a_poll(tmp_path_factory, contents):
    """Whatever the file held at each poll, a load reads what two polls in a row saw, once."""
    folder = tmp_path_factory.mktemp("settle")
    rules = folder / "routing.yaml"
    _save(rules, "start")

    def load():
        text = rules.read_text()
        if text == "a: [broken":
            raise ValueError("routing.yaml: not a rule")
        return text

    holder = SnapshotHolder(load, [folder])
    holder.start()
    watcher = ReloadWatcher(holder, poll_seconds=0)
    loaded, failed, at_last_poll = "start", None, None
    for text in contents:
        _save(rules, text)
        changed = text not in (loaded, failed)
        expected = changed and at_last_poll == text
        assert watcher.check() is expected
        if expected and text == "a: [broken":
            failed = text
        elif expected:
            loaded, failed = text, None
        at_last_poll = text if changed and not expected else None
        assert holder.current.router == loaded


@given(st.binary(min_size=0, max_size=64), st.binary(min_size=0, max_size=64))
def test_the_fingerprint_follows_the_content_of_a_rule_file(tmp_path_factory, before, after):
    """Within one mtime tick (the mtime put back), the content alone decides whether it changed."""
    folder = tmp_path_factory.mktemp("fingerprint")
    path = folder / "tiers.yaml"
    path.write_bytes(before)
    stat = path.stat()
    first = files_fingerprint([folder])
    assert files_fingerprint([folder]) == first  # stable
    path.write_bytes(after)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (files_fingerprint([folder]) == first) is (before == after)


def test_a_new_or_removed_file_changes_the_fingerprint(tmp_path):
    first = files_fingerprint([tmp_path, tmp_path / "models"])
    (tmp_path / "routing.yaml").write_text("x")
    second = files_fingerprint([tmp_path, tmp_path / "models"])
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "win.joblib").write_bytes(b"1")
    third = files_fingerprint([tmp_path, tmp_path / "models"])
    (tmp_path / "routing.yaml").unlink()
    assert len({first, second, third, files_fingerprint([tmp_path, tmp_path / "models"])}) == 4


@given(st.text(max_size=40))
def test_metric_labels_never_carry_an_id(path):
    label = _template("/" + path)
    assert label in {"/route", "/healthz", "/metrics", "/openapi.json", "/accounts/{account_id}", "(unmatched)"}


def _refusal(headers):
    guard = _Guard(None, "t" * 32, ServiceMetrics())
    return guard._refusal({"headers": headers})


@given(st.binary(max_size=80))
def test_only_the_exact_bearer_token_passes(value):
    token = b"t" * 32
    refused = _refusal([(b"authorization", value)])
    scheme, _, credential = value.strip().partition(b" ")
    passes = scheme.lower() == b"bearer" and credential.strip() == token
    assert (refused is None) is passes
    if refused is not None:
        assert refused.status == 401 and refused.problems[0][0] == "Authorization"
        assert token.decode() not in refused.message


def test_a_missing_header_is_named():
    refused = _refusal([])
    assert refused.status == 401 and refused.problems[0][2] == "no Authorization header"


@pytest.mark.parametrize("token", [None, "", "   ", "short", "has space inside the token!", "é" * 20])
def test_a_weak_or_unprintable_token_is_refused_at_start(token):
    with pytest.raises(ConfigError, match="KAM_SERVE_TOKEN"):
        check_token(token)


def test_options_never_show_the_token():
    options = ServeOptions(token="s3cret-" + "x" * 20)
    assert "s3cret" not in repr(options) and "s3cret" not in str(options)


def test_the_guard_answers_401_over_asgi_without_calling_the_app():
    called = []

    async def app(scope, receive, send):
        called.append(scope["path"])

    metrics = ServiceMetrics()
    guard = _Guard(app, "t" * 32, metrics)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/metrics", "headers": [], "query_string": b""}
    asyncio.run(guard(scope, receive, send))
    assert called == [] and sent[0]["status"] == 401
    asyncio.run(guard({**scope, "path": "/healthz"}, receive, send))
    assert called == ["/healthz"]
