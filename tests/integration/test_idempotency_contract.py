"""Every store writes a batch under an idempotency key once, and frees the key of a failure."""

from __future__ import annotations

import threading

import pytest

from mloop.entities import Metric, NewRun, RunBatch
from mloop.errors import Conflict
from mloop.store import Store


def _run(store: Store) -> str:
    experiment = store.runs.get_or_create_experiment("keys").id
    return store.runs.create_run(NewRun(experiment, "r", "tester"))


def test_a_key_writes_once_and_a_failure_frees_it(store: Store) -> None:
    run_id = _run(store)
    store.runs.log_batch(run_id, RunBatch({"alpha": "1"}))
    clash = RunBatch({"alpha": "2"}, [Metric("m", 1.0, 0, 1.0)])
    with pytest.raises(Conflict):
        store.runs.log_batch_once(run_id, clash, f"{run_id}:a")
    batch = RunBatch({}, [Metric("m", 1.0, 0, 1.0)])
    assert store.runs.log_batch_once(run_id, batch, f"{run_id}:a") is True
    assert store.runs.log_batch_once(run_id, batch, f"{run_id}:a") is False
    assert len(store.runs.get_metric_history(run_id, "m")) == 1


def test_racing_writers_of_one_key_write_once(store: Store) -> None:
    run_id = _run(store)
    batch = RunBatch({}, [Metric("m", float(s), s, 1.0) for s in range(50)])
    results: list[bool] = []

    def write() -> None:
        results.append(store.runs.log_batch_once(run_id, batch, f"{run_id}:race"))

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]
    assert len(store.runs.get_metric_history(run_id, "m")) == 50
