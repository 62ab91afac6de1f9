"""The home page: what is live per model, and one timeline of the loop.

The timeline merges the five kinds of record the loop leaves in the store: alerts, retraining
decisions, the gate verdicts inside them, rollout decisions and alias moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mloop.client import Client
from mloop.dashboard.charts import Chart, layout, when
from mloop.dashboard.render import number
from mloop.entities import AlertStatus, RegisteredModel, Rollout, RolloutMode

EVENT_KINDS = {
    "alert": "#b8434a",
    "retraining": "#e07b39",
    "gate": "#3a9a5b",
    "rollout": "#2f6db3",
    "alias": "#7a5cb0",
}
TIMELINE_LIMIT = 60


@dataclass(frozen=True)
class Event:
    """One step of the loop: when (epoch seconds), which model, its kind, a title and detail."""

    at: float
    model: str
    kind: str
    title: str
    detail: str
    link: str


@dataclass(frozen=True)
class ModelState:
    """What is live for one model: its versions by role (the champion is what ``@champion``
    names; a running rollout adds its challenger, or its shadow), the traffic shares, the
    rollout, open alerts and the last retraining or rollout decision."""

    name: str
    latest_version: int
    champion: int | None
    challenger: int | None
    shadow: int | None
    aliases: dict[str, int]
    weights: dict[str, float]
    rollout: Rollout | None
    open_alerts: int
    last_decision: Event | None
    events: list[Event] = field(default_factory=list)


def _alert_events(client: Client, name: str) -> list[Event]:
    return [
        Event(
            a.first_seen,
            name,
            "alert",
            f"{a.severity} alert {a.rule} on {a.subject} ({a.status})",
            a.message,
            f"/monitoring?model={name}#alerts",
        )
        for a in client.monitoring.alerts(model=name)
    ]


def _retraining_events(client: Client, name: str) -> list[Event]:
    found = []
    for d in client.retraining.decisions(name):
        link = f"/retraining?model={name}#decision-{d.id}"
        found.append(Event(d.at, name, "retraining", f"retraining {d.kind}", d.reason, link))
        if d.gate:
            verdict = "passed" if d.gate.get("passed") else "failed"
            detail = (
                f"{d.gate.get('metric', '')}: champion {number(d.gate.get('champion'))}, "
                f"challenger {number(d.gate.get('challenger'))}"
            )
            found.append(Event(d.at, name, "gate", f"gate {verdict}", detail, link))
    return found


def _rollout_events(client: Client, name: str) -> list[Event]:
    return [
        Event(
            d.at,
            name,
            "rollout",
            f"rollout {d.rollout_id} {d.kind}: challenger {d.arms.get('challenger', 0):.0%}",
            d.reason,
            f"/rollouts?model={name}",
        )
        for d in client.rollouts.decisions(name)
    ]


def _alias_events(client: Client, name: str) -> list[Event]:
    return [
        Event(
            e.at,
            name,
            "alias",
            f"@{e.alias} {e.action}: v{e.from_version or '-'} → v{e.to_version or '-'}",
            f"{e.reason} (by {e.user})",
            f"/registry?model={name}#alias-history",
        )
        for e in client.registry.alias_history(name)
    ]


def model_events(client: Client, name: str) -> list[Event]:
    """Every event of the loop for model ``name``, newest first."""
    events = [
        *_alert_events(client, name),
        *_retraining_events(client, name),
        *_rollout_events(client, name),
        *_alias_events(client, name),
    ]
    return sorted(events, key=lambda e: e.at, reverse=True)


def model_state(client: Client, model: RegisteredModel) -> ModelState:
    """The live state of one registered model (see ``ModelState``)."""
    rollout = client.rollouts.running(model.name)
    champion = model.aliases.get("champion")
    challenger = model.aliases.get("challenger")
    shadow = None
    weights = {"champion": 1.0} if champion is not None else {}
    if rollout is not None:
        weights = dict(rollout.weights)
        if rollout.policy.mode == RolloutMode.SHADOW:
            shadow = rollout.challenger
        else:
            challenger = rollout.challenger
    events = model_events(client, model.name)
    decisions = [e for e in events if e.kind in ("retraining", "rollout")]
    open_alerts = client.monitoring.alerts(model=model.name, status=AlertStatus.OPEN)
    return ModelState(
        model.name,
        model.latest_version,
        champion,
        challenger,
        shadow,
        dict(model.aliases),
        weights,
        rollout,
        len(open_alerts),
        decisions[0] if decisions else None,
        events,
    )


def timeline_chart(events: list[Event]) -> Chart:
    """The loop's events as dots on one time axis, one row per kind of event."""
    traces: list[dict[str, Any]] = []
    for kind, colour in EVENT_KINDS.items():
        chosen = [e for e in events if e.kind == kind]
        if chosen:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": kind,
                    "x": [when(e.at) for e in chosen],
                    "y": [kind] * len(chosen),
                    "text": [f"{e.model}: {e.title}" for e in chosen],
                    "hovertemplate": "%{x}<br>%{text}<extra></extra>",
                    "marker": {"size": 11, "color": colour},
                }
            )
    figure = None
    if traces:
        figure = {"data": traces, "layout": layout("", "time (UTC)", showlegend=False)}
    return Chart(
        "timeline",
        "The loop over time: alerts, retraining, gate verdicts, rollout steps, alias moves",
        "No events yet: alerts, retraining decisions, rollouts and alias moves appear here.",
        figure,
        height=260,
    )


def home_page(client: Client) -> dict[str, Any]:
    """The home page's values: ``models`` (ModelState each), ``events`` and the timeline."""
    states = [model_state(client, m) for m in client.registry.list_models()]
    events = sorted((e for s in states for e in s.events), key=lambda e: e.at, reverse=True)
    return {
        "models": states,
        "events": events[:TIMELINE_LIMIT],
        "n_events": len(events),
        "timeline": timeline_chart(events),
    }
