"""The monitoring page: drift (see ``dashboard.drift``), the predicted positive rate and the
model's confidence over time, realized and estimated performance with label coverage, and the
alerts with their timeline and counts by rule and severity."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from mloop.client import Client
from mloop.dashboard.charts import SEVERITY_COLOURS, Chart, layout, lines, when
from mloop.dashboard.drift import drift_bars, drift_over_time, histogram_overlay
from mloop.entities import Alert, MonitorKind, MonitorResult
from mloop.errors import NotFound
from mloop.prediction_log import LABEL, PREDICTION, PROBA_PREFIX, TS

LOG_ROWS = 20_000
BUCKETS = 40
HISTORY = 200


def monitored_version(client: Client, name: str) -> int:
    """The version monitoring looks at: the champion, else the newest version."""
    model = next((m for m in client.registry.list_models() if m.name == name), None)
    if model is None:
        raise NotFound(f"no registered model named {name!r}", field="model")
    return model.aliases.get("champion") or model.latest_version


def _positive_class(client: Client, name: str, version: int) -> Any:
    try:
        return client.monitoring.reference(name, version).meta.positive_class
    except NotFound:
        return None


def bucket_index(times: pd.Series) -> np.ndarray:
    """For each time, which of ``BUCKETS`` equal spans of [first, last] holds it (0-based)."""
    edges = np.linspace(times.min(), times.max() + 1e-9, BUCKETS + 1)
    return np.clip(np.searchsorted(edges, times.to_numpy(float), side="right") - 1, 0, BUCKETS - 1)


def log_series(client: Client, name: str, positive: Any) -> list[Chart]:
    """From the newest ``LOG_ROWS`` logged rows: predicted positive rate, mean confidence and
    label coverage per time bucket (``BUCKETS`` of them)."""
    frame = client.prediction_log.read(name, last_n=LOG_ROWS, with_feedback=True)
    rate = confidence = coverage = None
    if len(frame):
        bucket = bucket_index(frame[TS])
        groups = frame.groupby(bucket)
        x = [when(float(t)) for t in groups[TS].mean()]
        probas = [c for c in frame.columns if c.startswith(PROBA_PREFIX)]
        if positive is not None and PREDICTION in frame:
            share = groups[PREDICTION].apply(
                lambda s: float((s.astype(str) == str(positive)).mean())
            )
            rate = lines(
                [(f"predicted {positive}", x, share.tolist())],
                "share of predictions",
                "time (UTC)",
                yaxis={"tickformat": ".0%"},
            )
        if probas:
            top = frame[probas].max(axis=1).groupby(bucket).mean()
            confidence = lines(
                [("mean top-class probability", x, top.tolist())], "confidence", "time (UTC)"
            )
        labelled = groups[LABEL].apply(lambda s: float(s.notna().mean()))
        coverage = lines(
            [("label coverage", x, labelled.tolist())],
            "share with a label",
            "time (UTC)",
            yaxis={"tickformat": ".0%", "range": [0, 1.05]},
        )
    note = f"newest {min(len(frame), LOG_ROWS):,} logged predictions, all versions"
    empty = "No predictions logged yet: serve the model and send requests."
    return [
        Chart(
            "positive-rate",
            f"Predicted {positive} rate over time (e.g. churn rate trend)",
            empty,
            rate,
            note,
        ),
        Chart("confidence", "Model confidence over time", empty, confidence, note),
        Chart("coverage", "Label coverage over time (labels arrive late)", empty, coverage, note),
    ]


def _performance_series(results: list[MonitorResult], key: str) -> list[tuple[str, list, list]]:
    series: dict[str, tuple[list, list]] = {}
    for result in results:
        found = result.summary.get(key) or {}
        for metric, value in found.items():
            number = value.get("value") if isinstance(value, dict) else value
            if number is not None:
                xs, ys = series.setdefault(metric, ([], []))
                xs.append(when(result.created_at))
                ys.append(number)
    return [(metric, xs, ys) for metric, (xs, ys) in series.items()]


def performance_charts(client: Client, name: str) -> list[Chart]:
    """Realized (labelled rows) and estimated (CBPE) performance over the stored monitor runs,
    and the newest realized metrics against the reference's."""
    realized = client.monitoring.results(name, kind=MonitorKind.PERFORMANCE, limit=HISTORY)
    estimated = client.monitoring.results(
        name, kind=MonitorKind.ESTIMATED_PERFORMANCE, limit=HISTORY
    )
    real = [(f"{m} (realized)", x, y) for m, x, y in _performance_series(realized, "metrics")]
    guess = [(f"{m} (estimated)", x, y) for m, x, y in _performance_series(estimated, "estimates")]
    chosen = [s for s in real + guess if s[0].split(" ")[0] in {"accuracy", "f1", "roc_auc"}]
    comparison = None
    if realized:
        newest = realized[-1].summary
        reference, current = newest.get("reference") or {}, newest.get("metrics") or {}
        keys = [k for k in current if k in reference and current[k] is not None][:6]
        comparison = {
            "data": [
                {"type": "bar", "name": "reference", "x": keys, "y": [reference[k] for k in keys]},
                {
                    "type": "bar",
                    "name": "current window",
                    "x": keys,
                    "y": [current[k] for k in keys],
                },
            ],
            "layout": layout("value"),
        }
    empty = "Needs labelled predictions and a monitor run."
    return [
        Chart(
            "performance",
            "Realized and estimated performance over time",
            empty,
            lines(chosen, "value", "time (UTC)"),
        ),
        Chart(
            "performance-drift",
            "Performance: newest window against the reference",
            empty,
            comparison,
        ),
    ]


def alert_charts(alerts: list[Alert]) -> list[Chart]:
    """The alert timeline (first sightings by severity) and events by rule and severity."""
    timeline = counts = None
    if alerts:
        data = []
        for severity, colour in SEVERITY_COLOURS.items():
            chosen = [a for a in alerts if a.severity == severity]
            if chosen:
                data.append(
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "name": severity,
                        "x": [when(a.first_seen) for a in chosen],
                        "y": [a.rule for a in chosen],
                        "text": [f"{a.subject}: {a.status}" for a in chosen],
                        "marker": {"color": colour, "size": 10},
                    }
                )
        timeline = {"data": data, "layout": layout("", "first seen (UTC)")}
        tally = Counter((a.rule, str(a.severity)) for a in alerts)
        rules = sorted({rule for rule, _ in tally})
        counts = {
            "data": [
                {
                    "type": "bar",
                    "name": severity,
                    "x": rules,
                    "marker": {"color": colour},
                    "y": [tally.get((rule, severity), 0) for rule in rules],
                }
                for severity, colour in SEVERITY_COLOURS.items()
            ],
            "layout": layout("alerts", barmode="stack"),
        }
    empty = "No alerts yet."
    return [
        Chart("alert-timeline", "Alert timeline", empty, timeline),
        Chart("alert-counts", "Events by type and severity", empty, counts),
    ]


def monitoring_page(client: Client, name: str, feature: str | None) -> dict[str, Any]:
    """The monitoring page of model ``name`` (its champion), with ``feature``'s histogram open.

    Raises NotFound for an unknown model.
    """
    version = monitored_version(client, name)
    drift = client.monitoring.results(name, kind=MonitorKind.DRIFT, limit=1)
    newest = drift[-1] if drift else None
    rows = sorted(newest.details if newest else [], key=lambda r: not r.get("drifted"))
    chosen = feature or (rows[0]["column"] if rows else None)
    alerts = client.monitoring.alerts(model=name)
    return {
        "model": name,
        "version": version,
        "drift": newest,
        "rows": rows,
        "feature": chosen,
        "alerts": alerts,
        "drift_charts": [
            drift_bars(newest),
            histogram_overlay(client, name, version, chosen, newest),
        ],
        "time_charts": [
            *drift_over_time(client, name),
            *log_series(client, name, _positive_class(client, name, version)),
            *performance_charts(client, name),
        ],
        "alert_charts": alert_charts(alerts),
    }
