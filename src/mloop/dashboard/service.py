"""The service page: requests, errors, latency and predictions per model version.

When the dashboard knows model servers' ``/metrics`` URLs and one answers, the numbers come
from their Prometheus counters (requests by status, the latency histogram, rows predicted).
Otherwise they come from the prediction log, which holds answered requests and their
latencies but no errors; the page says which source it used.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from mloop.client import Client
from mloop.dashboard.charts import Chart, layout, when
from mloop.prediction_log import LATENCY_MS, TS, VERSION

LOG_ROWS = 50_000
BUCKETS = 40


@dataclass(frozen=True)
class VersionLoad:
    """One model version's traffic: requests, errors (None when unknown), latency in ms
    (mean, p99; None when unknown) and rows predicted."""

    model: str
    version: str
    requests: int
    errors: int | None
    mean_ms: float | None
    p99_ms: float | None
    rows: int


def _histogram_p99(buckets: list[tuple[float, float]]) -> float | None:
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= 0.99 * total:
            return bound * 1000
    return None


def _from_families(text: str) -> list[VersionLoad]:
    requests: dict[tuple[str, str], int] = defaultdict(int)
    errors: dict[tuple[str, str], int] = defaultdict(int)
    rows: dict[tuple[str, str], int] = defaultdict(int)
    latency: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"b": defaultdict(float)})
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.labels.get("model", ""), sample.labels.get("version", ""))
            if not key[0]:
                continue
            if sample.name == "mloop_requests_total":
                requests[key] += int(sample.value)
                errors[key] += int(sample.value) if sample.labels["status"] >= "500" else 0
            elif sample.name == "mloop_predicted_rows_total":
                rows[key] += int(sample.value)
            elif sample.name == "mloop_request_latency_seconds_bucket":
                latency[key]["b"][float(sample.labels["le"])] += sample.value
            elif sample.name in (
                "mloop_request_latency_seconds_sum",
                "mloop_request_latency_seconds_count",
            ):
                part = sample.name.rsplit("_", 1)[1]
                latency[key][part] = latency[key].get(part, 0.0) + sample.value
    found = []
    for key in sorted(requests):
        lat = latency[key]
        mean = 1000 * lat["sum"] / lat["count"] if lat.get("count") else None
        p99 = _histogram_p99(sorted(lat["b"].items()))
        found.append(VersionLoad(*key, requests[key], errors[key], mean, p99, rows[key]))
    return found


def from_servers(urls: Sequence[str]) -> list[VersionLoad] | None:
    """The load per version from the servers' ``/metrics`` (requests of every status; errors
    are 5xx answers); None when none answers."""
    texts = []
    for url in urls:
        try:
            answer = httpx.get(url, timeout=1.0)
        except httpx.HTTPError:
            continue
        if answer.status_code == 200:
            texts.append(answer.text)
    return _from_families("\n".join(texts)) if texts else None


def _log_load(name: str, frame: pd.DataFrame) -> list[VersionLoad]:
    found = []
    for version, rows in frame.groupby(VERSION):
        latency = pd.to_numeric(rows[LATENCY_MS], errors="coerce").dropna().to_numpy(float)
        mean = float(latency.mean()) if latency.size else None
        p99 = float(np.percentile(latency, 99)) if latency.size else None
        found.append(VersionLoad(name, str(version), len(rows), None, mean, p99, len(rows)))
    return found


def _per_version_chart(frames: dict[str, pd.DataFrame]) -> dict[str, Any] | None:
    data = []
    for name, frame in frames.items():
        if frame.empty:
            continue
        edges = np.linspace(frame[TS].min(), frame[TS].max() + 1e-9, BUCKETS + 1)
        middles = [when(float(t)) for t in (edges[:-1] + edges[1:]) / 2]
        for version, rows in frame.groupby(VERSION):
            counts, _ = np.histogram(rows[TS].to_numpy(float), edges)
            data.append(
                {"type": "bar", "name": f"{name} v{version}", "x": middles, "y": counts.tolist()}
            )
    return (
        {"data": data, "layout": layout("predictions", "time (UTC)", barmode="stack")}
        if data
        else None
    )


def service_page(client: Client, metrics_urls: Sequence[str], started: float) -> dict[str, Any]:
    """The load per model version (``loads``), where it came from (``source``), the server's
    uptime in seconds and a chart of predictions per version over time."""
    names = [m.name for m in client.registry.list_models()]
    columns = [TS, LATENCY_MS, VERSION]
    frames = {n: client.prediction_log.read(n, last_n=LOG_ROWS, columns=columns) for n in names}
    loads = from_servers(metrics_urls) if metrics_urls else None
    if loads is not None:
        source = "the model servers' Prometheus metrics (" + ", ".join(metrics_urls) + ")"
    else:
        loads = [load for n in names for load in _log_load(n, frames[n])]
        source = (
            f"the prediction log (newest {LOG_ROWS:,} rows per model; it records answered "
            "requests, not errors)"
        )
    return {
        "loads": loads,
        "source": source,
        "uptime": time.time() - started,
        "charts": [
            Chart(
                "per-version",
                "Predictions served per version over time",
                "No predictions logged yet.",
                _per_version_chart(frames),
                "from the prediction log",
            )
        ],
    }
