"""One monitoring run: drift, prediction drift and performance of a window, stored and alerted."""

from __future__ import annotations

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
from mloop.monitoring.performance import (
    MIN_LABELS,
    estimated_performance,
    realized_performance,
)
from mloop.monitoring.windows import profile_window, read_window
from mloop.prediction_log import Window
from mloop.profiles import DatasetProfile
from mloop.reference import ReferenceProfile
from mloop.uris import DEFAULT_ALIAS, ModelUri
from mloop.web import finite


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


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [finite(row) for row in table.to_dict(orient="records")]


def monitor_key(window: Window) -> str:
    """The monitor definition a window belongs to: ``last 10000`` or ``6h`` style, not dates."""
    if window.last_n is not None:
        return f"last {window.last_n}"
    if window.start is not None and window.end is not None:
        return f"{window.end - window.start:g}s"
    return window.describe()


def _drift_message(row: dict[Any, Any]) -> str:
    if not row["tested"]:
        return f"{row['column']} not tested (no values on one side)"
    return (
        f"{row['column']}: {row['method']} {row['statistic']:.4g} against its threshold "
        f"{row['threshold']:.4g}, {row['test']} corrected p {row['p_value']:.3g} against "
        f"alpha {row['alpha']:.3g}"
    )


def _drift_signals(run: MonitorRun) -> list[Signal]:
    found = [
        Signal(
            "drift.share",
            "dataset",
            run.drift.share_drifted,
            f"{run.drift.share_drifted:.0%} of the tested features drifted",
        )
    ]
    for metric, report in (("drift.column", run.drift), ("drift.prediction", run.prediction_drift)):
        for row in report.table.to_dict(orient="records"):
            if row["tested"]:
                drifted = float(bool(row["drifted"]))
                found.append(Signal(metric, str(row["column"]), drifted, _drift_message(row)))
    return found


def _performance_signals(kind: str, result: dict[str, Any] | None) -> list[Signal]:
    found = []
    for change, verb in (("drop", "fell"), ("rise", "rose")):
        for metric, amount in (result or {}).get(change, {}).items():
            message = f"{kind} {metric} {verb} by at least {amount:.3f} (95% interval)"
            found.append(Signal(f"{kind}.{metric}_{change}", "window", float(amount), message))
    return found


def _signals(run: MonitorRun) -> list[Signal]:
    return [
        *_drift_signals(run),
        *_performance_signals("performance", run.performance),
        *_performance_signals("estimated", run.estimated),
    ]


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
            finite(summary),
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
    min_labels: int = MIN_LABELS,
) -> MonitorRun:
    """Compare a window of a model version's traffic with its reference; store and alert.

    Realized performance drops alert only with at least ``min_labels`` labels. Alerts are
    kept per monitor definition (``monitor_key(window)``). Returns the run's drift, prediction
    drift, performance and the alerts it raised. Raises
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
        performance=realized_performance(labelled, reference.meta, min_labels=min_labels),
        estimated=estimated_performance(labelled, reference.meta),
        reference=reference,
        current=current,
    )
    if store_results:
        _store(client, run, arm or "")
        alerts = process_signals(
            client.monitoring, name, _signals(run), rules, notifiers, monitor_key(window)
        )
        run = MonitorRun(**{**run.__dict__, "alerts": alerts})
    return run
