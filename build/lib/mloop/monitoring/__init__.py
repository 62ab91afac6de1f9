"""Monitoring: reference profiles, drift, realized and estimated performance, alerts.

``detect_drift(reference, current)`` works on two plain DataFrames, without a store;
``run_monitor`` compares a window of a served model's prediction log with its reference.
"""

from mloop.monitoring.alerts import DEFAULT_RULES, AlertRule, Signal, process_signals
from mloop.monitoring.drift import ColumnRule, DriftOptions, DriftReport, detect_drift
from mloop.monitoring.monitor import MonitorRun, run_monitor
from mloop.monitoring.notifiers import CallbackNotifier, LogNotifier, WebhookNotifier
from mloop.monitoring.scheduler import MonitorScheduler
from mloop.prediction_log import Window, parse_window

__all__ = [
    "DEFAULT_RULES",
    "AlertRule",
    "CallbackNotifier",
    "ColumnRule",
    "DriftOptions",
    "DriftReport",
    "LogNotifier",
    "MonitorRun",
    "MonitorScheduler",
    "Signal",
    "WebhookNotifier",
    "Window",
    "detect_drift",
    "parse_window",
    "process_signals",
    "run_monitor",
]
