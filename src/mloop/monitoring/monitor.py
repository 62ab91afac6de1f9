"""One monitoring run: drift, prediction drift and performance of a window, stored and alerted."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mloop.client import Client
from mloop.entities import Alert, MonitorKind, MonitorResult
from mloop.monitoring.alerts import DEFAULT_RULES, AlertRule, Signal, process_signals
from mloop.monitoring.drift import DriftOptions, DriftReport, detect_drift
from mloop.monitoring.notifiers import Notifier
from mloop.monitoring.performance import estimated_performance, realized_performance
from mloop.monitoring.windows import profile_window, read_window
from mloop.prediction_log import Window
from mloop.profiles import DatasetProfile
from mloop.reference import ReferenceProfile
from mloop.uris import DEFAULT_ALIAS, ModelUri


@dataclass(frozen=True)
class MonitorRun:
    """What one run found: feature drift, output drift, performance, and the alerts raised."""

    model: str
    version: int
    window: Window
    drift: DriftReport
    prediction_drift: DriftReport
    performance: dict[str, Any] | None
    estimated: dict[str, Any] | None
    reference: ReferenceProfile
    current: DatasetProfile
    alerts: list[Alert] = field(default_factory=list)


def resolve_target(client: Client, target: str) -> tuple[str, int]:
    """``churn@champion``, ``churn/3``, ``models:/churn@champion`` or ``churn`` (its champion)."""
    uri = ModelUri.parse_target(target)
    if uri.version is not None:
        return uri.name, uri.version
    return uri.name, client.registry.get_alias(uri.name, uri.alias or DEFAULT_ALIAS)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [_json_safe(row) for row in table.to_dict(orient="records")]


def _signals(run: MonitorRun) -> list[Signal]:
    found = [
        Signal(
            "drift.share",
            "dataset",
            run.drift.share_drifted,
            f"{run.drift.share_drifted:.0%} of features drifted",
        )
    ]
    for row in run.drift.table.to_dict(orient="records"):
        measured = f"{row['method']} {row['statistic']:.4g}, threshold {row['threshold']}"
        message = f"{row['column']} drifted ({measured})"
        found.append(
            Signal("drift.column", str(row["column"]), float(bool(row["drifted"])), message)
        )
    for row in run.prediction_drift.table.to_dict(orient="records"):
        found.append(
            Signal(
                "drift.prediction",
                str(row["column"]),
                float(bool(row["drifted"])),
                f"model output {row['column']} drifted",
            )
        )
    for kind, result in (("performance", run.performance), ("estimated", run.estimated)):
        for metric, drop in (result or {}).get("drop", {}).items():
            found.append(
                Signal(
                    f"{kind}.{metric}_drop",
                    "window",
                    float(drop),
                    f"{kind} {metric} fell by {drop:.3f}",
                )
            )
    return found


def _store(client: Client, run: MonitorRun, arm: str) -> None:
    window = run.window

    def result(
        kind: MonitorKind, n_rows: int, summary: dict[str, Any], details: list[dict[str, Any]]
    ) -> MonitorResult:
        return MonitorResult(
            run.model,
            run.version,
            arm,
            kind,
            window.start,
            window.end,
            n_rows,
            _json_safe(summary),
            details,
            time.time(),
        )

    record = client.monitoring.record_result
    record(
        result(
            MonitorKind.DRIFT, run.drift.n_current, run.drift.summary(), _records(run.drift.table)
        )
    )
    record(
        result(
            MonitorKind.PREDICTION_DRIFT,
            run.prediction_drift.n_current,
            run.prediction_drift.summary(),
            _records(run.prediction_drift.table),
        )
    )
    if run.performance is not None:
        record(result(MonitorKind.PERFORMANCE, run.performance["n_labeled"], run.performance, []))
    if run.estimated is not None:
        record(result(MonitorKind.ESTIMATED_PERFORMANCE, run.estimated["n"], run.estimated, []))


def run_monitor(
    client: Client,
    target: str,
    window: Window,
    *,
    arm: str | None = None,
    options: DriftOptions | None = None,
    rules: Sequence[AlertRule] = DEFAULT_RULES,
    notifiers: Sequence[Notifier] = (),
    store_results: bool = True,
) -> MonitorRun:
    """Compare a window of a model version's traffic with its reference; store and alert.

    Returns the run's drift, prediction drift, performance and the alerts it raised. Raises
    NotFound for an unknown target or a version without a reference, InvalidInput for values
    a statistic cannot use (naming the column).
    """
    name, version = resolve_target(client, target)
    reference = client.monitoring.reference(name, version)
    profile, outputs = reference.profile, reference.outputs
    current = profile_window(client, profile, name, version, arm, window)
    labelled = (
        read_window(client, name, version, arm, window, columns=outputs)
        if outputs
        else pd.DataFrame()
    )
    run = MonitorRun(
        model=name,
        version=version,
        window=window,
        drift=detect_drift(profile, current, columns=reference.features, options=options),
        prediction_drift=detect_drift(profile, current, columns=outputs[-1:], options=options),
        performance=realized_performance(labelled, reference.meta),
        estimated=estimated_performance(labelled, reference.meta),
        reference=reference,
        current=current,
    )
    if store_results:
        _store(client, run, arm or "")
        alerts = process_signals(client.monitoring, name, _signals(run), rules, notifiers)
        run = MonitorRun(**{**run.__dict__, "alerts": alerts})
    return run
