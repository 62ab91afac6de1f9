"""Triggers and the scheduler: what fires, what holds a retraining back, who runs it."""

from __future__ import annotations

import time

import mloop
from mloop.entities import Decision, DecisionKind, MonitorKind, MonitorResult, Triggers
from mloop.retraining import RetrainingScheduler, plan_retraining
from mloop.retraining.triggers import held_back

from .conftest import Scenario, policy, train_champion

FINAL = {DecisionKind.PROMOTED, DecisionKind.REJECTED, DecisionKind.FAILED}


def test_an_estimated_drop_and_the_schedule_fire_their_triggers(client: mloop.Client) -> None:
    train_champion(client, rows=400)
    triggers = Triggers(estimated_drop=0.03, every_seconds=3600.0)
    client.set_retraining_policy(policy(triggers=triggers))
    assert plan_retraining(client, "churn").fired == []
    later = time.time() + 1
    summary = {"estimates": {"f1": {"value": 0.38}}, "reference": {"f1": 0.45}}
    client.monitoring.record_result(
        MonitorResult("churn", 1, "", MonitorKind.ESTIMATED_PERFORMANCE, None, None, 100,
                      summary, [], later)
    )  # fmt: skip
    plan = plan_retraining(client, "churn", now=later + 3600)
    fired = {f.name: f.reason for f in plan.fired}
    assert set(fired) == {"estimated_drop", "schedule"} and plan.action == "retrain"
    assert "estimated f1 fell 0.070" in fired["estimated_drop"]


def _started(now: float, hours: float) -> Decision:
    return Decision("churn", DecisionKind.TRIGGERED, now - hours * 3600, "new labels")


def test_the_daily_maximum_and_the_cool_down_hold_a_retraining_back() -> None:
    now = 1_700_000_000.0
    started = [_started(now, hours) for hours in (30, 20, 2)]
    chosen = policy(cooldown_seconds=3600.0, max_per_day=3)
    assert held_back(chosen, started, now) is None
    cooling = held_back(chosen, [*started, _started(now, 0.25)], now)
    assert cooling is not None and cooling.startswith("cool-down")
    busy = held_back(chosen, [*started, _started(now, 5)], now)
    assert busy is not None and "3 retrainings in the last 24 h" in busy


def test_the_scheduler_runs_the_policy_by_itself(scenario: Scenario) -> None:
    client = scenario.client
    client.set_retraining_policy(policy(cooldown_seconds=3600.0))
    scheduler = RetrainingScheduler(client, "churn", every_seconds=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 240
        while (
            time.monotonic() < deadline
            and not {d.kind for d in client.retraining.decisions("churn")} & FINAL
        ):
            time.sleep(0.2)
    finally:
        scheduler.stop()
    decisions = client.retraining.decisions("churn")
    first = decisions[0]
    assert first.kind is DecisionKind.TRIGGERED and "new labelled rows" in first.reason
    assert {d.kind for d in decisions} & FINAL
