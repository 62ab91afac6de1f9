"""Executors: the local one and Dask's give the same results, in order, with progress."""

from __future__ import annotations

import math
import sys
import time

import pytest

from mloop.errors import InvalidInput
from mloop.retraining.executors import DaskExecutor, LocalExecutor, executor_for


def test_local_executor_keeps_order_and_reports_progress() -> None:
    seen: list[int] = []
    assert LocalExecutor().map(math.factorial, [5, 3, 4], seen.append) == [120, 6, 24]
    assert seen == [1, 2, 3]


def test_dask_executor_on_a_local_cluster_matches_the_local_one() -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    seen: list[int] = []
    items = [7, 1, 5, 3]
    assert DaskExecutor(workers=2).map(math.factorial, items, seen.append) == [
        math.factorial(n) for n in items
    ]
    assert seen == [1, 2, 3, 4]


def test_a_task_error_reaches_the_caller() -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    with pytest.raises(ValueError, match="factorial"):
        DaskExecutor(workers=1).map(math.factorial, [3, -1])


def test_an_unknown_executor_is_refused() -> None:
    assert isinstance(executor_for("local"), LocalExecutor)
    with pytest.raises(InvalidInput, match="executor"):
        executor_for("ray")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "no-port-here"])
def test_a_scheduler_that_cannot_be_reached_is_named_in_one_clear_error(address: str) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    started = time.monotonic()
    reached = f"the Dask scheduler at {address} cannot be reached"
    with pytest.raises(InvalidInput, match=reached) as raised:
        DaskExecutor(address, connect_seconds=1.0).map(math.factorial, [3])
    assert raised.value.field == "dask_address" and time.monotonic() - started < 10


def test_without_the_dask_extra_the_executor_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an absent package imports as
    with pytest.raises(InvalidInput, match="pip install 'mloop\\[dask\\]'") as raised:
        DaskExecutor().map(math.factorial, [3])
    assert raised.value.field == "executor"
