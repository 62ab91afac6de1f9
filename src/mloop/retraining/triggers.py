"""Which triggers of a policy fire now, and what holds a retraining back (cool-down, frequency).

Triggers read what monitoring stored (results of the champion since it took its alias), the
labels that arrived since, and the audit trail of earlier decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mloop.client import Client
from mloop.entities import Decision, DecisionKind, MonitorKind, RetrainingPolicy
from mloop.prediction_log import LABEL

DAY_SECONDS = 86400.0
RETRY_SECONDS = 60.0
_STARTED = (DecisionKind.TRIGGERED,)
_TRAINED = (DecisionKind.TRAINED,)
_ENDED_WELL = (DecisionKind.TRAINED, DecisionKind.REJECTED, DecisionKind.PROMOTED)


@dataclass(frozen=True)
class Fired:
    """A trigger that fired: its name (``drift``, ``metric_drop`` ...) and why, in words."""

    name: str
    reason: str


def champion_since(client: Client, policy: RetrainingPolicy) -> float:
    """When the alias last moved to the version it holds now (epoch seconds; 0 if never)."""
    history = client.registry.alias_history(policy.model, policy.alias)
    return history[-1].at if history else 0.0


def _newest(
    client: Client, policy: RetrainingPolicy, kind: MonitorKind, version: int, since: float
) -> dict[str, Any] | None:
    results = client.monitoring.results(policy.model, kind=kind, since=since, limit=50)
    mine = [r for r in results if r.version == version]
    return mine[-1].summary if mine else None


def _drop(summary: dict[str, Any] | None, metric: str, estimated: bool) -> float | None:
    if summary is None:
        return None
    reference = summary.get("reference", {}).get(metric)
    value = (
        summary.get("estimates", {}).get(metric, {}).get("value")
        if estimated
        else summary.get("metrics", {}).get(metric)
    )
    if reference is None or value is None:
        return None
    return float(reference) - float(value)


def _drift(summary: dict[str, Any] | None) -> Fired | None:
    if summary is None or not summary.get("dataset_drift"):
        return None
    columns = ", ".join(summary.get("drifted_columns", [])) or "several features"
    return Fired("drift", f"dataset drift ({columns})")


def _metric(
    summary: dict[str, Any] | None, metric: str, threshold: float | None, estimated: bool
) -> Fired | None:
    drop = _drop(summary, metric, estimated)
    if threshold is None or drop is None or drop <= threshold:
        return None
    name, word = ("estimated_drop", "estimated") if estimated else ("metric_drop", "realized")
    return Fired(
        name, f"{word} {metric} fell {drop:.3f} below the reference (threshold {threshold:g})"
    )


def _labels(client: Client, policy: RetrainingPolicy, since: float) -> Fired | None:
    wanted = policy.triggers.new_labels
    if wanted is None:
        return None
    rows = client.prediction_log.read(policy.model, start=since, with_feedback=True, columns=[])
    count = int(rows[LABEL].notna().sum()) if LABEL in rows else 0
    return (
        Fired("new_labels", f"{count} new labelled rows (at least {wanted})")
        if count >= wanted
        else None
    )


def _schedule(
    policy: RetrainingPolicy, decisions: list[Decision], since: float, now: float
) -> Fired | None:
    every = policy.triggers.every_seconds
    if every is None:
        return None
    started = [d.at for d in decisions if d.kind in _STARTED]
    last = max([since, *started])
    return (
        Fired("schedule", f"{now - last:.0f} s since the last retraining (every {every:g} s)")
        if now - last >= every
        else None
    )


def fired_triggers(
    client: Client, policy: RetrainingPolicy, champion: int, decisions: list[Decision], now: float
) -> list[Fired]:
    """The triggers of ``policy`` that fire for the champion version ``champion`` now."""
    since = champion_since(client, policy)
    triggers = policy.triggers
    drift = _newest(client, policy, MonitorKind.DRIFT, champion, since) if triggers.drift else None
    realized = _newest(client, policy, MonitorKind.PERFORMANCE, champion, since)
    estimated = _newest(client, policy, MonitorKind.ESTIMATED_PERFORMANCE, champion, since)
    found = [
        _drift(drift),
        _metric(realized, triggers.metric, triggers.metric_drop, False),
        _metric(estimated, triggers.metric, triggers.estimated_drop, True),
        _labels(client, policy, since),
        _schedule(policy, decisions, since, now),
    ]
    return [f for f in found if f is not None]


def held_back(policy: RetrainingPolicy, decisions: list[Decision], now: float) -> str | None:
    """Why a retraining may not start now (cool-down, daily maximum, back-off); None when it may.

    The cool-down and the daily maximum count challengers trained (``trained`` decisions), not
    attempts: a skip, a failed recipe or a lock another process held does not use up the day's
    retrainings. After failed attempts in a row, the next waits ``RETRY_SECONDS`` after the
    newest, doubled for each earlier failure in the row, at most the cool-down, so a recipe
    that keeps failing is not retried (and alerted) at every check.
    """
    trained = [d.at for d in decisions if d.kind in _TRAINED]
    age = max(now - max(trained), 0.0) if trained else None
    if age is not None and age < policy.cooldown_seconds:
        left = policy.cooldown_seconds - age
        return f"cool-down: the last challenger was trained {age:.0f} s ago ({left:.0f} s left)"
    today = sum(1 for at in trained if now - at < DAY_SECONDS)
    if today >= policy.max_per_day:
        most = policy.max_per_day
        return f"maximum frequency: {today} challengers trained in the last 24 h (at most {most})"
    return _backing_off(policy, decisions, now)


def _backing_off(policy: RetrainingPolicy, decisions: list[Decision], now: float) -> str | None:
    """The back-off after failed attempts in a row; None when the newest attempt did not fail."""
    failed: list[float] = []
    for decision in sorted(decisions, key=lambda d: d.at, reverse=True):
        if decision.kind in _ENDED_WELL:
            break
        if decision.kind == DecisionKind.FAILED:
            failed.append(decision.at)
    if not failed:
        return None
    wait = min(policy.cooldown_seconds, RETRY_SECONDS * 2.0 ** (len(failed) - 1))
    age = max(now - failed[0], 0.0)
    if age >= wait:
        return None
    return (
        f"back-off: {len(failed)} attempt(s) in a row failed, the last {age:.0f} s ago; "
        f"the next may start in {wait - age:.0f} s (--force retries now)"
    )
