"""Every backend and partitioning gives the same rows as one local pass (row for row)."""

from __future__ import annotations

import builtins
import os
import pickle
import time

import pandas as pd
import pytest

from engine._errors import ConfigError, MissingDependencyError
from engine.demo import generate_demo_tables
from engine.features import build_churn_training_frame, build_win_training_frame
from engine.models import ChurnModel, WinModel
from engine.pipeline import _backends
from engine.pipeline._backends import default_partitions, run_partitions
from engine.pipeline._decide import load_default_rules
from engine.pipeline._score import combine_partitions
from engine.validate import validate_tables

AS_OF = "2026-10-01"
TRAINING_DATES = ["2025-06-30", "2025-09-30", "2025-12-31", "2026-03-31"]
SMALL_MODEL = {"candidates": {"hist_gradient_boosting": [{"max_iter": 20, "max_leaf_nodes": 8}]}, "blend": False,
               "cv": 2, "calibration": "sigmoid"}

@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return validate_tables(generate_demo_tables(accounts=1500, seed=2), as_of=AS_OF).valid


@pytest.fixture(scope="module")
def models(tables):
    X, y, _ = build_churn_training_frame(tables, TRAINING_DATES)
    churn = ChurnModel(**SMALL_MODEL).fit(X, y)
    X, y, _ = build_win_training_frame(tables, TRAINING_DATES)
    win = WinModel(**SMALL_MODEL).fit(X, y)
    return {"churn": churn, "win": win}


@pytest.fixture(scope="module")
def rules():
    return load_default_rules()


def _rows(parts, tables):
    """The parts' row-wise results, one frame for accounts and one for opportunities, in table order."""
    accounts = pd.concat(
        [pd.concat([p.accounts, p.tiers.drop(columns=["account_id"]).add_prefix("tiers."),
                    pd.DataFrame({"churn": p.churn})], axis=1) for p in parts],
        ignore_index=True,
    )
    opportunities = pd.concat(
        [pd.concat([p.opportunities, p.routes.add_prefix("routes."), pd.DataFrame({"win": p.win})], axis=1)
         for p in parts],
        ignore_index=True,
    )
    account_order = pd.Index(accounts["account_id"]).get_indexer(tables["customers"]["account_id"])
    open_ids = pd.Index(tables["opportunities"]["opportunity_id"])
    opportunity_order = opportunities["opportunity_id"].map(pd.Series(range(len(open_ids)), index=open_ids))
    return (accounts.iloc[account_order].reset_index(drop=True),
            opportunities.iloc[opportunity_order.argsort(kind="stable")].reset_index(drop=True))


def _run(tables, rules, models, **backend):
    parts = run_partitions(tables, as_of=pd.Timestamp(AS_OF).date(), rules=rules, models=models, **backend)
    return parts, *_rows(parts, tables)


@pytest.fixture(scope="module")
def one_pass(tables, rules, models):
    return _run(tables, rules, models, backend="local", partitions=1)


def _assert_same(got, expected):
    pd.testing.assert_frame_equal(got[1], expected[1], check_exact=True)
    pd.testing.assert_frame_equal(got[2], expected[2], check_exact=True)


def test_one_pass_scores_every_account_and_open_opportunity(tables, one_pass):
    parts, accounts, opportunities = one_pass
    assert len(parts) == 1
    assert accounts["account_id"].tolist() == tables["customers"]["account_id"].tolist()
    assert len(opportunities) > 100
    assert accounts["churn"].between(0, 1).all()
    assert opportunities["win"].between(0, 1).all()


def test_combined_results_of_four_partitions_equal_one_pass(tables, rules, models, one_pass):
    """What a run writes: account scores and opportunity routes after the global stages."""
    parts = run_partitions(tables, as_of=pd.Timestamp(AS_OF).date(), rules=rules, models=models, partitions=4)
    assert len(parts) == 4
    combined = combine_partitions(parts, tables, models=models, rules=rules)
    scores, routes, conflicts = combined.account_scores, combined.opportunity_routes, combined.conflicts
    want = combine_partitions(one_pass[0], tables, models=models, rules=rules)
    want_scores, want_routes, want_conflicts = want.account_scores, want.opportunity_routes, want.conflicts
    pd.testing.assert_frame_equal(scores, want_scores, check_exact=True)
    pd.testing.assert_frame_equal(routes, want_routes, check_exact=True)
    pd.testing.assert_frame_equal(conflicts, want_conflicts, check_exact=True)


def test_four_local_partitions_equal_one_pass(tables, rules, models, one_pass):
    got = _run(tables, rules, models, backend="local", partitions=4)
    assert len(got[0]) == 4
    assert sorted(len(p.accounts) for p in got[0]) != [0, 0, 0, len(tables["customers"])]
    _assert_same(got, one_pass)


_timed_out = _backends._timed_out


def _start_timed_out(error: ConfigError) -> None:
    """A LocalCluster that could not start in time: a skip on a developer's busy machine, a failure under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"under CI the local Dask cluster must start within its bound: {error}")
    pytest.skip(f"Dask could not start a LocalCluster on this (busy) machine in time; CI runs this test: {error}")


# The cluster's start is bounded (LOCAL_CLUSTER_START_SECONDS, 180 s); this leaves room for it and
# the scoring on a machine several times slower than the one it takes about 11 s on.
@pytest.mark.timeout(600)
def test_dask_local_cluster_equals_one_pass(tables, rules, models, one_pass):
    for rule_set in rules.values():
        rule_set.durable_engine()  # a compiled durable engine does not pickle: only specs travel
    try:
        got = _run(tables, rules, models, backend="dask", partitions=3)
    except ConfigError as error:
        if "did not start within" in str(error) and _timed_out(error):
            _start_timed_out(error)
        raise
    assert len(got[0]) == 3
    _assert_same(got, one_pass)


@pytest.mark.timeout(600)
def test_the_long_connect_bound_holds_for_the_start_only():
    """Once up, the workers are back on the connect bound they had (not 180 s for the whole run)."""
    import dask
    import distributed

    before = dask.config.get(_backends._CONNECT)
    try:
        with _backends._local_cluster(distributed) as client:
            on_workers = client.run(dask.config.get, _backends._CONNECT)
            nannies = [nanny.config["distributed"]["comm"]["timeouts"]["connect"]
                       for nanny in client.cluster.workers.values()]
    except ConfigError as error:
        if _timed_out(error):
            _start_timed_out(error)
        raise
    assert len(on_workers) == 2 and set(on_workers.values()) == {before}
    assert nannies == [before, before]  # a restarted worker starts with the default as well
    assert dask.config.get(_backends._CONNECT) == before


def test_a_local_cluster_that_cannot_start_in_time_is_a_config_error_not_a_wait():
    """Two worker processes cannot start in 50 ms: the bound holds and the error says what to do."""
    import distributed

    with pytest.raises(ConfigError, match=r"did not start within 0.05 s .*Fix: run with --backend local") as info:
        with _backends._local_cluster(distributed, seconds=0.05):
            pass
    assert _timed_out(info.value)


def _live_spawned_children() -> list[int]:
    """Live child processes started by multiprocessing's spawn (the workers; not its resource tracker)."""
    import psutil

    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                alive.append(child.pid)
        except psutil.Error:
            pass  # gone between the listing and the look
    return alive


SLOW_WORKER = """
import os, time
if os.environ.get("KAM_TEST_SLOW_PARENT") == str(os.getppid()):
    time.sleep(60)  # a worker process that cannot start in time (a machine under heavy load)
"""


@pytest.mark.timeout(120)
def test_worker_processes_of_a_failed_start_do_not_outlive_the_error(tmp_path, monkeypatch):
    """Workers that start too slowly: a ConfigError on time, and no worker process left running after it."""
    import distributed

    (tmp_path / "sitecustomize.py").write_text(SLOW_WORKER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("KAM_TEST_SLOW_PARENT", str(os.getpid()))
    before = set(_live_spawned_children())  # another test's process closing late is not this start's
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"did not start within 3 s"):
        with _backends._local_cluster(distributed, seconds=3):
            pass
    took = time.monotonic() - started
    assert took < 3 + 30, f"the 3 s bound took {took:.1f} s"  # 30 s of slack for a slow, busy machine
    deadline = time.monotonic() + 5
    while set(_live_spawned_children()) - before and time.monotonic() < deadline:
        time.sleep(0.2)  # bounded poll: the processes were killed and joined; the OS may lag behind
    assert not set(_live_spawned_children()) - before, "worker processes outlived the start error"


def test_a_start_that_fails_for_another_reason_says_so(monkeypatch):
    """Not every failure is a timeout: the message gives the real cause, not "within 180 s"."""

    class NoCluster:
        def LocalCluster(self, **kwargs):  # noqa: N802 - distributed's name
            raise OSError("[Errno 98] address already in use")

    with pytest.raises(ConfigError, match=r"did not start \(OSError: \[Errno 98\] address already in use\)") as info:
        with _backends._local_cluster(NoCluster(), seconds=5):
            pass
    assert "within" not in str(info.value)


def test_rules_travel_as_specs(rules):
    for rule_set in rules.values():
        rule_set.durable_engine()
    portable = pickle.loads(pickle.dumps(_backends._portable_rules(rules)))
    assert {name: r.hash for name, r in portable.items()} == {name: r.hash for name, r in rules.items()}


def test_models_pickle_for_the_workers(models):
    copy = pickle.loads(pickle.dumps(models))
    assert set(copy) == {"churn", "win"}


def test_missing_dask_gives_the_install_line(tables, rules, models, monkeypatch):
    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(MissingDependencyError, match=r"pip install 'kam-engine\[dask\]'"):
        run_partitions(tables, as_of=pd.Timestamp(AS_OF).date(), rules=rules, models=models, backend="dask")


@pytest.mark.parametrize(
    ("backend", "message"),
    [({"backend": "spark"}, "backend must be one of"),
     ({"backend": "local", "scheduler": "tcp://127.0.0.1:8786"}, "needs backend='dask'"),
     ({"backend": "local", "partitions": 0}, "partitions must be a whole number"),
     ({"backend": "local", "partitions": 2.5}, "partitions must be a whole number")],
)
def test_bad_backend_settings_are_refused(tables, rules, models, backend, message):
    with pytest.raises(ConfigError, match=message):
        run_partitions(tables, as_of=pd.Timestamp(AS_OF).date(), rules=rules, models=models, **backend)


def test_default_partitions_keep_partitions_near_150k_accounts():
    assert default_partitions(1_500) == 1
    assert default_partitions(100_000) == 1
    assert default_partitions(1_000_000) == 7
    assert all(1_000_000 / default_partitions(1_000_000) <= 200_000 for _ in [0])
    assert default_partitions(1_500, "dask", workers=2) == 2
    assert default_partitions(1_000_000, "dask", workers=2) == 7
