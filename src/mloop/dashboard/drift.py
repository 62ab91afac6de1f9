"""The drift panels of the monitoring page: the newest per-feature drift table, its bar chart,
a feature's histogram overlay (reference profile against the window's, both from stored
profiles), and drift over time against each method's threshold."""

from __future__ import annotations

from typing import Any

import numpy as np

from mloop.client import Client
from mloop.dashboard.charts import Chart, layout, lines, when
from mloop.entities import MonitorKind, MonitorResult
from mloop.errors import NotFound
from mloop.monitoring.windows import profile_window
from mloop.prediction_log import Window
from mloop.profiles import CategoricalProfile, ColumnProfile, NumericProfile, proportions

DISPLAY_BINS = 30
HISTORY = 200
MAX_FEATURES_OVER_TIME = 10


def ratio(row: dict[str, Any]) -> float | None:
    """A drift row's statistic divided by its threshold: above 1 is past the threshold."""
    statistic, threshold = row.get("statistic"), row.get("threshold")
    if statistic is None or not threshold:
        return None
    return float(statistic) / float(threshold)


def drift_bars(result: MonitorResult | None) -> Chart:
    """Each feature's statistic ÷ threshold in the newest drift result; drifted ones in red."""
    figure = None
    if result is not None and result.details:
        rows = sorted(result.details, key=lambda r: -(ratio(r) or 0.0))
        trace = {
            "type": "bar",
            "orientation": "h",
            "y": [r["column"] for r in rows],
            "x": [ratio(r) for r in rows],
            "marker": {"color": ["#b8434a" if r.get("drifted") else "#3a9a5b" for r in rows]},
            "text": [f"{r.get('method')} {r.get('statistic') or 0:.3g}" for r in rows],
            "hovertemplate": "%{y}: %{text}<extra></extra>",
            "textposition": "none",
        }
        line = {
            "type": "line",
            "x0": 1,
            "x1": 1,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": "#b8434a", "dash": "dash"},
        }
        figure = {
            "data": [trace],
            "layout": layout(
                "",
                "statistic ÷ threshold",
                shapes=[line],
                yaxis={"autorange": "reversed", "automargin": True},
            ),
        }
    return Chart(
        "drift-bars",
        "Data drift per feature in the newest monitor run (dashed line: the threshold; red: "
        "drifted, past it with a significant test)",
        "No monitor run yet: run `mloop monitor run --model MODEL` or serve with monitoring on.",
        figure,
        height=max(260, 24 * len(result.details if result else []) + 90),
    )


def _over_time(results: list[MonitorResult], limit: int) -> dict[str, Any] | None:
    columns = list(dict.fromkeys(r["column"] for res in results for r in res.details))[:limit]
    series = []
    for column in columns:
        points = [
            (res.created_at, next((ratio(r) for r in res.details if r["column"] == column), None))
            for res in results
        ]
        kept = [(when(t), v) for t, v in points if v is not None]
        series.append((column, [t for t, _ in kept], [v for _, v in kept]))
    figure = lines(series, "statistic ÷ threshold", "time (UTC)")
    if figure is not None:
        figure["layout"]["shapes"] = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": 1,
                "y1": 1,
                "line": {"color": "#b8434a", "dash": "dash"},
            }
        ]
    return figure


def drift_over_time(client: Client, name: str) -> list[Chart]:
    """Feature drift and prediction (output) drift over the stored monitor runs."""
    features = client.monitoring.results(name, kind=MonitorKind.DRIFT, limit=HISTORY)
    outputs = client.monitoring.results(name, kind=MonitorKind.PREDICTION_DRIFT, limit=HISTORY)
    empty = "Needs at least one monitor run; each run adds a point."
    return [
        Chart(
            "drift-over-time",
            "Feature drift over time (dashed line: threshold)",
            empty,
            _over_time(features, MAX_FEATURES_OVER_TIME),
        ),
        Chart(
            "prediction-drift",
            "Prediction (output) drift over time (dashed line: threshold)",
            empty,
            _over_time(outputs, 3),
        ),
    ]


def _numeric_bars(column: NumericProfile) -> tuple[np.ndarray, np.ndarray]:
    """``DISPLAY_BINS`` equal-width bars over the reference's range: (edges, shares).

    The profile's cumulative share is known at each of its bin edges; it is interpolated
    linearly at the display edges, so the bars add up to the in-range share exactly.
    """
    edges = np.asarray(column.edges, dtype=np.float64)
    if len(edges) < 2 or edges[-1] <= edges[0]:
        center = float(edges[0]) if len(edges) else 0.0
        return np.array([center - 0.5, center + 0.5]), np.array([float(proportions(column).sum())])
    inside = proportions(column)[1:-1]
    cumulative = np.r_[0.0, np.cumsum(inside)]
    shown = np.linspace(edges[0], edges[-1], DISPLAY_BINS + 1)
    return shown, np.diff(np.interp(shown, edges, cumulative))


def _overlay_traces(reference: ColumnProfile, current: ColumnProfile) -> list[dict[str, Any]]:
    traces = []
    for profile, label in ((reference, "reference"), (current, "current window")):
        if isinstance(profile, NumericProfile):
            edges, shares = _numeric_bars(profile)
            widths = np.diff(edges)
            density = shares / np.where(widths > 0, widths, 1.0)
            traces.append(
                {
                    "type": "bar",
                    "name": label,
                    "x": ((edges[:-1] + edges[1:]) / 2).tolist(),
                    "y": density.tolist(),
                    "width": widths.tolist(),
                    "opacity": 0.55,
                }
            )
        elif isinstance(profile, CategoricalProfile):
            labels = [*profile.frequencies, "unseen"]
            traces.append(
                {"type": "bar", "name": label, "x": labels, "y": proportions(profile).tolist()}
            )
    return traces


def histogram_overlay(
    client: Client, name: str, version: int, feature: str | None, result: MonitorResult | None
) -> Chart:
    """The reference's and the newest monitored window's distribution of ``feature``."""
    title = f"Distribution of {feature}: reference vs the monitored window" if feature else ""
    empty = "Choose a feature in the drift table (needs a reference and a monitor run)."
    if feature is None or result is None:
        return Chart("histogram", title or "Feature distribution", empty)
    try:
        reference = client.monitoring.reference(name, version).profile
    except NotFound:
        return Chart("histogram", title, f"Version {version} has no reference profile.")
    if feature not in reference.columns:
        return Chart("histogram", title, f"{feature} is not in the reference profile.")
    window = (
        Window(last_n=result.n_rows)
        if result.window_start is None
        else Window(start=result.window_start, end=result.window_end)
    )
    current = profile_window(client, reference, name, version, None, window)
    column = reference.columns[feature]
    traces = _overlay_traces(column, current.columns[feature])
    y_title = "density" if isinstance(column, NumericProfile) else "share of rows"
    figure = {"data": traces, "layout": layout(y_title, feature, barmode="overlay")}
    return Chart("histogram", title, empty, figure)
