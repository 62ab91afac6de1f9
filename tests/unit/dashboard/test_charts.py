"""The heat map's scaling and the service page's reading of Prometheus metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mloop.dashboard.charts import heatmap, layout, when, widen_time_axis
from mloop.dashboard.service import _from_families
from mloop.serving.telemetry import ServerMetrics


def test_the_heat_map_scales_each_metric_and_writes_the_values() -> None:
    figure = heatmap(["a", "b"], ["f1", "loss"], [[0.5, 2.0], [0.7, None]])
    assert figure is not None
    trace = figure["data"][0]
    assert trace["z"] == [[0.0, 0.0], [1.0, None]]
    assert trace["text"] == [["0.5", "2"], ["0.7", ""]]
    assert heatmap([], ["f1"], []) is None


def test_server_metrics_become_load_per_version() -> None:
    metrics = ServerMetrics()
    for status, count in (("200", 97), ("500", 3)):
        for _ in range(count):
            metrics.requests.labels("plain", status, "churn", "2").inc()
    for seconds in [0.002] * 98 + [0.9] * 2:
        metrics.latency.labels("plain", "churn", "2").observe(seconds)
    metrics.rows.labels("churn", "2").inc(250)
    text, _ = metrics.exposition()
    [load] = _from_families(text.decode())
    assert (load.model, load.version, load.requests, load.errors, load.rows) == (
        "churn",
        "2",
        100,
        3,
        250,
    )
    assert load.mean_ms == pytest.approx((98 * 2 + 2 * 900) / 100)
    assert load.p99_ms == 1000.0  # the histogram bucket that holds the 99th percentile


def test_one_time_point_gets_an_hour_wide_axis_and_other_axes_stay() -> None:
    verdict = {"data": [{"x": [when(1_700_000_000.0)], "y": [0.03]}], "layout": layout("d")}
    widened = widen_time_axis(verdict)
    low, high = (
        datetime.strptime(edge, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
        for edge in widened["layout"]["xaxis"]["range"]
    )
    assert (low, high) == (1_700_000_000.0 - 1800, 1_700_000_000.0 + 1800)
    assert widened["layout"]["xaxis"]["title"] == verdict["layout"]["xaxis"]["title"]
    assert "range" not in verdict["layout"]["xaxis"]
    day = {"data": [{"x": [when(0.0), when(86_400.0)], "y": [1, 2]}], "layout": layout()}
    assert widen_time_axis(day) is day
    numbers = {"data": [{"x": [1.0], "y": [2.0]}], "layout": layout()}
    assert widen_time_axis(numbers) is numbers
