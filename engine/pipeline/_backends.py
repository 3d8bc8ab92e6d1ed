"""Where the row-wise stages run: in this process, or partitioned over a Dask cluster.

Both backends cut the database into partitions of whole territories
(:mod:`engine.pipeline._partition`), take the cross-account statistics once over everything
(:func:`engine.features.feature_reference`) and run ``score_partition`` on each partition with
them, so every row equals the row of one pass over the whole database. Nothing here reads or
writes the database: the parts come back to the caller, which writes the run in one transaction.

* ``local``: partitions one after another in this process; memory grows with the partition,
  not with the database.
* ``dask``: partitions as tasks on a ``distributed`` cluster (a LocalCluster of two worker
  processes by default, or any scheduler by address). Rules and models are sent to the workers
  once; the partitions are sent from here (workers need no database access).
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import pandas as pd

from engine._errors import ConfigError, MissingDependencyError
from engine.features import FeatureReference, feature_reference
from engine.pipeline._partition import plan_partitions
from engine.pipeline._rowwise import PartitionScores, score_partition

__all__ = [
    "ACCOUNTS_PER_PARTITION",
    "BACKENDS",
    "SINGLE_PARTITION_ACCOUNTS",
    "default_partitions",
    "run_partitions",
]

BACKENDS = ("local", "dask")

#: Up to this many accounts, the local backend runs one partition (splitting costs more than it saves).
SINGLE_PARTITION_ACCOUNTS = 100_000
#: Above it, partitions aim at this many accounts each (about 1.5 million orders on the demo data).
ACCOUNTS_PER_PARTITION = 150_000

_DASK_INSTALL = "pip install 'kam-engine[dask]'"


def default_partitions(n_accounts: int, backend: str = "local", workers: int = 1) -> int:
    """Number of partitions a run uses when none is given.

    Parameters
    ----------
    n_accounts : int
        Accounts in the database.
    backend : {"local", "dask"}
    workers : int, default 1
        Dask workers available (each gets at least one partition).

    Examples
    --------
    >>> default_partitions(20_000), default_partitions(1_000_000)
    (1, 7)
    >>> default_partitions(20_000, "dask", workers=2)
    2
    """
    by_size = max(1, math.ceil(n_accounts / ACCOUNTS_PER_PARTITION))
    if backend == "dask":
        return max(int(workers), by_size)
    return 1 if n_accounts <= SINGLE_PARTITION_ACCOUNTS else by_size


def _score_one(
    tables: Mapping[str, pd.DataFrame],
    payload: tuple[Mapping[str, Any], Mapping[str, Any]],
    *,
    as_of,
    reference: FeatureReference,
) -> PartitionScores:
    """Score one partition (runs in this process or on a Dask worker)."""
    rules, models = payload
    return score_partition(tables, as_of=as_of, rules=rules, models=models, reference=reference)


def _portable_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """Rule sets that pickle: the parsed spec only (a compiled durable engine holds closures)."""
    from engine.rules import RuleSet

    return {name: RuleSet(value.spec) if isinstance(value, RuleSet) else value for name, value in rules.items()}


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            f"the dask backend needs dask and distributed, which are not installed ({exc}). "
            f"Install them with: {_DASK_INSTALL}"
        ) from exc
    return distributed


#: How long a LocalCluster (its scheduler and two worker processes, each importing pandas and
#: scikit-learn) may take, in all, to start and take the client's connection. distributed's own
#: 30 s connect bound was too short on a busy machine (2 cores at load 10+); without a bound on the
#: workers' start a cluster that cannot start would wait for ever. Past it: a ConfigError, and the
#: worker processes of the attempt are killed.
LOCAL_CLUSTER_START_SECONDS = 180

_CONNECT = "distributed.comm.timeouts.connect"
#: How long the worker processes of a failed start may take to die once killed.
_KILL_WAIT_SECONDS = 5.0


def _set_connect_timeout(value: Any) -> None:
    """Set distributed's connect bound in this process (run on each worker once the cluster is up)."""
    import dask

    dask.config.set({_CONNECT: value})


def _connect_config(value: Any) -> dict[str, Any]:
    """The nested configuration that sets only distributed's connect bound."""
    return {"distributed": {"comm": {"timeouts": {"connect": value}}}}


def _kill_new_children(before: set[int]) -> list[int]:
    """Kill the child processes started since ``before`` (pids) and wait for them, bounded; return the survivors."""
    import multiprocessing

    started = [child for child in multiprocessing.active_children() if child.pid not in before]
    for child in started:
        child.kill()
    deadline = time.monotonic() + _KILL_WAIT_SECONDS
    for child in started:
        child.join(max(0.0, deadline - time.monotonic()))
    return [child.pid for child in started if child.is_alive() and child.pid is not None]


def _timed_out(error: BaseException | None) -> bool:
    """Whether a TimeoutError is in ``error``'s chain (``raise ... from`` or raised while handling)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, TimeoutError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@contextmanager
def _local_cluster(distributed: Any, seconds: float = LOCAL_CLUSTER_START_SECONDS) -> Iterator[Any]:
    """A client on a LocalCluster of two worker processes, started within ``seconds`` in all and closed on exit.

    The long connect bound holds for the start only: once the client is connected, the workers
    (which copied the configuration when they were spawned) go back to the bound they had before.
    """
    import multiprocessing

    import dask

    before = {child.pid for child in multiprocessing.active_children() if child.pid is not None}
    default_connect = dask.config.get(_CONNECT)
    deadline = time.monotonic() + seconds
    with ExitStack() as stack:
        try:
            # the connect bound of the workers (they take this config with them) and of the client
            with dask.config.set({_CONNECT: f"{seconds}s"}):
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    death_timeout=seconds,  # a worker's start (and its wait for the scheduler) is bounded
                ))
                left = deadline - time.monotonic()  # one deadline for the whole start, not one per phase
                if left <= 0:
                    raise TimeoutError(f"the workers took the whole {seconds:g} s; no time left to connect")
                client = stack.enter_context(distributed.Client(cluster, timeout=f"{left}s"))
            client.run(_set_connect_timeout, default_connect)
            for nanny in cluster.workers.values():  # a worker the nanny restarts gets the default too
                if isinstance(getattr(nanny, "config", None), dict):
                    nanny.config = dask.config.merge(nanny.config, _connect_config(default_connect))
        except Exception as exc:  # noqa: BLE001 - whatever stops the start (distributed wraps a worker's
            # timeout in RuntimeError, and its own clean-up of a timed-out worker can raise AssertionError)
            try:
                stack.close()  # the cluster and client, if they got that far
            except Exception:  # noqa: BLE001 - closing a half-started cluster can fail; the kill below still runs
                pass
            survivors = _kill_new_children(before)
            what = (f"did not start within {seconds:g} s" if _timed_out(exc)
                    else "did not start")
            left_alive = f"; processes {survivors} did not die when killed" if survivors else ""
            raise ConfigError(
                f"the local Dask cluster (a scheduler and two worker processes on 127.0.0.1) {what} "
                f"({type(exc).__name__}: {exc}{left_alive}); expected it to start on this machine. Fix: run with "
                "--backend local, or start a `dask scheduler` and workers yourself and pass --scheduler"
            ) from exc
        yield client


@contextmanager
def _dask_client(scheduler: str | None) -> Iterator[Any]:
    """A client on ``scheduler``, or on a LocalCluster started (and closed) here."""
    distributed = _import_distributed()
    if scheduler is None:
        with _local_cluster(distributed) as client:
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"could not reach the Dask scheduler at {scheduler!r} ({exc}); expected the address of a "
            "running `dask scheduler` such as tcp://host:8786; start one or fix --scheduler"
        ) from exc
    with client:
        yield client


def _run_dask(tables, plan_for, payload, *, as_of, reference, scheduler, partitions) -> list[PartitionScores]:
    with _dask_client(scheduler) as client:
        workers = len(client.scheduler_info().get("workers", {})) or 1
        n = partitions or default_partitions(len(tables["customers"]), "dask", workers=workers)
        plan = plan_for(n)
        [shared] = client.scatter([payload], broadcast=True, hash=False)
        token = uuid.uuid4().hex[:8]
        futures = []
        for number in range(plan.n_partitions):
            # scatter one partition at a time: only one copy of a partition sits in this process
            [remote] = client.scatter([plan.take(tables, number)], hash=False)
            futures.append(
                client.submit(
                    _score_one,
                    remote,
                    shared,
                    as_of=as_of,
                    reference=reference,
                    key=f"kam-score-{token}-{number}",
                    pure=False,
                )
            )
        return client.gather(futures)


def run_partitions(
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of,
    rules: Mapping[str, Any],
    models: Mapping[str, Any],
    backend: str = "local",
    scheduler: str | None = None,
    partitions: int | None = None,
) -> list[PartitionScores]:
    """Run ``engine.pipeline._rowwise.score_partition`` over the data; return the parts.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The validated customer database.
    as_of : date
    rules, models : mapping
        Rule sets (``tiers``, ``routing``) and fitted models (``churn``, ``win``).
    backend : {"local", "dask"}, default "local"
    scheduler : str, optional
        Dask scheduler address (``tcp://host:8786``); default: a LocalCluster for this run.
    partitions : int, optional
        Number of partitions (whole territories each); default :func:`default_partitions`.

    Returns
    -------
    list of dict
        One ``score_partition`` result per partition, in partition order (the caller puts rows
        back in table order).

    Raises
    ------
    ConfigError
        Unknown backend, a scheduler without the dask backend, a bad partition count, or an
        unreachable scheduler.
    MissingDependencyError
        ``backend="dask"`` without dask/distributed installed.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {list(BACKENDS)}; got {backend!r}.")
    if scheduler is not None and backend != "dask":
        raise ConfigError(
            f"a scheduler address ({scheduler!r}) needs backend='dask'; got backend={backend!r}; "
            "pass --backend dask or drop --scheduler"
        )
    if partitions is not None and (
        isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1
    ):
        raise ConfigError(f"partitions must be a whole number >= 1; got {partitions!r}.")
    if backend == "dask":
        _import_distributed()  # fail before any work when the extra is missing

    reference = feature_reference(dict(tables), as_of)
    plan_for = functools.partial(plan_partitions, tables)

    payload = (dict(rules), dict(models))
    if backend == "dask":
        payload = (_portable_rules(rules), dict(models))
        return _run_dask(
            tables, plan_for, payload, as_of=as_of, reference=reference, scheduler=scheduler, partitions=partitions
        )
    plan = plan_for(partitions or default_partitions(len(tables["customers"]), "local"))
    return [
        _score_one(part, payload, as_of=as_of, reference=reference) for part in plan.iter_tables(tables)
    ]
