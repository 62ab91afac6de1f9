"""Executors: the local one and Dask's give the same results, in order, with progress."""

from __future__ import annotations

import math

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
