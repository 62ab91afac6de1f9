"""Chart specifications for the dashboard: plotly.js figures as plain dicts.

A ``Chart`` is what a page shows in one panel: a title, the figure (None when there is no data
yet) and the sentence shown instead of an empty plot. The browser draws figures with the
plotly.js bundled in the installed ``plotly`` package; nothing here imports plotly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

MAX_POINTS = 1000
"""The most points a metric curve sends to the browser (the store down-samples longer ones)."""
PALETTE = ("#2f6db3", "#e07b39", "#3a9a5b", "#b8434a", "#7a5cb0", "#8c6d46", "#d16fb0", "#6b7280")
SEVERITY_COLOURS = {"info": "#6b7280", "warning": "#e0a030", "critical": "#b8434a"}


@dataclass(frozen=True)
class Chart:
    """One panel: ``figure`` is a plotly.js ``{"data", "layout"}`` dict, or None with no data,
    when ``empty`` says what the chart would show and how to get data for it."""

    id: str
    title: str
    empty: str
    figure: dict[str, Any] | None = None
    note: str = ""
    height: int = field(default=320)


def when(epoch: float | None) -> str | None:
    """An epoch-seconds time as an ISO-8601 UTC string plotly reads as a date (None stays)."""
    if epoch is None or not math.isfinite(epoch):
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


MIN_TIME_SPAN_SECONDS = 3600.0
"""The narrowest time axis drawn: fewer points closer together are centred in one hour."""
_WHEN_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def widen_time_axis(figure: dict[str, Any]) -> dict[str, Any]:
    """``figure`` with its x axis widened to one hour when every x is a ``when`` time and they
    span less (one gate verdict alone would otherwise spread over milliseconds).

    Returns a new figure dict; figures with other x values come back unchanged.
    """
    times = []
    for trace in figure.get("data", []):
        for x in trace.get("x", []):
            try:
                times.append(datetime.strptime(x, _WHEN_FORMAT).replace(tzinfo=UTC).timestamp())
            except (TypeError, ValueError):
                return figure
    if not times or max(times) - min(times) >= MIN_TIME_SPAN_SECONDS:
        return figure
    middle = (max(times) + min(times)) / 2
    edges = [when(middle - MIN_TIME_SPAN_SECONDS / 2), when(middle + MIN_TIME_SPAN_SECONDS / 2)]
    xaxis = {**figure.get("layout", {}).get("xaxis", {}), "range": edges}
    return {**figure, "layout": {**figure.get("layout", {}), "xaxis": xaxis}}


def layout(y_title: str = "", x_title: str = "", **extra: Any) -> dict[str, Any]:
    """The common layout: tight margins, a legend on top, axis titles."""
    base: dict[str, Any] = {
        "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
        "legend": {"orientation": "h", "y": 1.12},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "exponentformat": "none"},
        "font": {"size": 12},
        "colorway": list(PALETTE),
    }
    base.update(extra)
    return base


def lines(
    series: Sequence[tuple[str, Sequence[Any], Sequence[float]]],
    y_title: str,
    x_title: str = "",
    **extra: Any,
) -> dict[str, Any] | None:
    """Line chart of named (name, x, y) series; None when no series has a point."""
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": name, "x": list(x), "y": list(y)}
        for name, x, y in series
        if len(x)
    ]
    return {"data": data, "layout": layout(y_title, x_title, **extra)} if data else None


def bars(
    labels: Sequence[str], values: Sequence[float], y_title: str, *, colours: Sequence[str] = ()
) -> dict[str, Any] | None:
    """One bar per label; None without labels."""
    if not labels:
        return None
    trace: dict[str, Any] = {"type": "bar", "x": list(labels), "y": list(values)}
    if colours:
        trace["marker"] = {"color": list(colours)}
    return {"data": [trace], "layout": layout(y_title)}


def heatmap(
    rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]]
) -> dict[str, Any] | None:
    """A heat map with each cell's value written on it; colours scaled per column (0 to 1)."""
    if not rows or not columns:
        return None
    grid = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    low, high = np.nanmin(grid, axis=0), np.nanmax(grid, axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = (grid - low) / span
    text = [["" if np.isnan(v) else f"{v:.3g}" for v in row] for row in grid]
    trace = {
        "type": "heatmap",
        "x": list(columns),
        "y": list(rows),
        "z": [[None if np.isnan(v) else float(v) for v in row] for row in scaled],
        "text": text,
        "texttemplate": "%{text}",
        "hovertemplate": "%{y}<br>%{x}: %{text}<extra></extra>",
        "colorscale": "Viridis",
        "showscale": False,
    }
    return {"data": [trace], "layout": layout(yaxis={"automargin": True, "autorange": "reversed"})}
