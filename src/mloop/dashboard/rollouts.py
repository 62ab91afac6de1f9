"""The rollouts page: the split over time (the bandit's allocation for a bandit), per-arm metric
with 95% intervals, the sequential test's confidence sequence, SRM, power, guardrails and the
decisions, read from the rollout's analysis (``mloop.services.rollout_analysis``)."""

from __future__ import annotations

import time
from typing import Any

from mloop.client import Client
from mloop.dashboard.charts import Chart, layout, lines, when
from mloop.entities import RolloutDecision, RolloutState
from mloop.errors import NotFound


def _split(decisions: list[RolloutDecision], running: bool) -> Chart:
    times = [d.at for d in decisions] + ([time.time()] if running and decisions else [])
    series = []
    for arm in ("champion", "challenger"):
        shares = [d.arms.get(arm, 0.0) for d in decisions]
        shares += shares[-1:] if running and decisions else []
        series.append((arm, [when(t) for t in times], shares))
    figure = lines(
        series, "share of traffic", "time (UTC)", yaxis={"range": [0, 1.05], "tickformat": ".0%"}
    )
    if figure is not None:
        for trace in figure["data"]:
            trace["line"] = {"shape": "hv"}
    return Chart(
        "split",
        "Traffic split over time (for a bandit: its allocation after each update)",
        "No rollout decisions yet.",
        figure,
    )


def _arms(status: dict[str, Any]) -> Chart:
    arms = [a for a in status["arms"] if a.get("labelled")]
    figure = None
    if arms:
        trace = {
            "type": "bar",
            "x": [f"{a['name']} v{a['version']}" for a in arms],
            "y": [a.get("metric") for a in arms],
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": [(a.get("ci_high") or 0) - (a.get("metric") or 0) for a in arms],
                "arrayminus": [(a.get("metric") or 0) - (a.get("ci_low") or 0) for a in arms],
            },
        }
        figure = {"data": [trace], "layout": layout(status["metric"])}
    return Chart(
        "arm-metric",
        f"{status['metric']} per arm with 95% intervals",
        "No labelled answers per arm yet: the metric needs feedback labels.",
        figure,
    )


def _sequence(decisions: list[RolloutDecision], margin: float) -> Chart:
    points = [(d.at, d.statistics.get("sequential")) for d in decisions]
    points = [(t, s) for t, s in points if isinstance(s, dict) and s.get("ci_low") is not None]
    figure = None
    if points:
        x = [when(t) for t, _ in points]
        data = [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": x,
                "y": [(s or {}).get(key) for _, s in points],
            }
            for name, key in (
                ("upper bound", "ci_high"),
                ("difference", "difference"),
                ("lower bound", "ci_low"),
            )
        ]
        line = {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": -margin,
            "y1": -margin,
            "line": {"dash": "dash", "color": "#b8434a"},
        }
        figure = {
            "data": data,
            "layout": layout("challenger - champion", "time (UTC)", shapes=[line]),
        }
    return Chart(
        "sequence",
        "Always-valid confidence sequence of challenger - champion at each decision "
        f"(dashed line: {'no difference' if not margin else f'-margin, {-margin:g}'})",
        "No decision has recorded a sequential test yet.",
        figure,
    )


def _traffic(status: dict[str, Any]) -> Chart:
    arms = [a for a in status["arms"] if a.get("n")]
    figure = None
    if arms:
        trace = {
            "type": "pie",
            "labels": [f"{a['name']} v{a['version']}" for a in arms],
            "values": [a["n"] for a in arms],
            "hole": 0.4,
            "sort": False,
        }
        figure = {"data": [trace], "layout": layout(margin={"l": 16, "r": 16, "t": 16, "b": 16})}
    return Chart(
        "traffic",
        "Answered requests per arm",
        "No request has been answered in this rollout yet.",
        figure,
    )


def rollouts_page(client: Client, name: str) -> dict[str, Any]:
    """The newest rollout of ``name``: its status, decisions and the charts; ``status`` is None
    when the model never had a rollout."""
    try:
        status = client.rollouts.status(name)
    except NotFound:
        return {"model": name, "status": None, "decisions": [], "charts": []}
    rollout = client.rollouts.latest(name)
    decisions = client.rollouts.decisions(name, rollout.id)
    running = rollout.state == RolloutState.RUNNING
    return {
        "model": name,
        "rollout": rollout,
        "status": status,
        "decisions": list(reversed(decisions)),
        "charts": [
            _split(decisions, running),
            _traffic(status),
            _arms(status),
            _sequence(decisions, rollout.policy.margin),
        ],
    }
