"""A monitoring run over the prediction log: drift, performance, CBPE, stored results, alerts."""

from __future__ import annotations

import time

import pytest

from mloop.entities import Alert
from mloop.monitoring.monitor import run_monitor
from mloop.monitoring.notifiers import CallbackNotifier
from mloop.prediction_log import Window
from mloop.scenario import churn_customers

from .conftest import Monitored

DOWNTURN = {"annual_income", "credit_score"}


def test_the_scenario_drift_is_found_and_alerted(monitored: Monitored) -> None:
    monitored.log(
        churn_customers(6000, seed=21, economic_downturn=1.0), start=time.time() - 600, feedback=0.5
    )
    seen: list[Alert] = []
    run = run_monitor(
        monitored.client,
        "churn@champion",
        Window(last_n=6000),
        notifiers=[CallbackNotifier(seen.append)],
    )
    assert set(run.drift.drifted_columns) >= DOWNTURN
    assert "customer_age" not in run.drift.drifted_columns
    assert run.drift.n_current == 6000
    assert {a.subject for a in seen if a.rule == "feature-drift"} == set(run.drift.drifted_columns)
    assert run.performance is not None and run.performance["n_labeled"] == 3000
    assert run.estimated is not None
    realized = run.performance["metrics"]["accuracy"]
    estimated = run.estimated["estimates"]["accuracy"]
    assert abs(estimated["value"] - realized) < 0.02
    stored = monitored.client.monitoring.results("churn", kind="drift")
    assert stored[-1].summary["drifted_columns"] == run.drift.drifted_columns
    kinds = {r.kind for r in monitored.client.monitoring.results("churn")}
    assert kinds == {"drift", "prediction_drift", "performance", "estimated_performance"}


def test_unshifted_traffic_raises_nothing(monitored: Monitored) -> None:
    monitored.log(churn_customers(5000, seed=33), start=time.time() - 600)
    seen: list[Alert] = []
    run = run_monitor(
        monitored.client, "churn", Window(last_n=5000), notifiers=[CallbackNotifier(seen.append)]
    )
    assert run.drift.drifted_columns == []
    assert not run.drift.dataset_drift
    assert seen == []
    assert run.performance is None


def test_stored_chunk_profiles_give_the_same_answer_as_raw_rows(monitored: Monitored) -> None:
    start = time.time() - 3600
    monitored.log(
        churn_customers(6000, seed=44, economic_downturn=0.6), start=start, chunk_rows=1000
    )
    window = Window(start=start, end=start + 45)
    first = run_monitor(monitored.client, "churn/1", window, store_results=False)
    chunk_ids = [
        c.id
        for c in monitored.client.prediction_log.chunks(
            "churn", version=1, window=Window(start=start, end=start + 45)
        )
    ]
    stored = monitored.client.monitoring.stored_chunk_profiles(chunk_ids)
    assert len(stored) == 4
    second = run_monitor(monitored.client, "churn/1", window, store_results=False)
    assert first.drift.n_current == second.drift.n_current == 4500
    assert first.drift.table["statistic"].tolist() == pytest.approx(
        second.drift.table["statistic"].tolist()
    )


def test_empty_window_is_a_defined_result(monitored: Monitored) -> None:
    run = run_monitor(monitored.client, "churn@champion", Window(last_n=100))
    assert run.drift.n_current == 0
    assert not run.drift.dataset_drift
    assert run.drift.drifted_columns == []
