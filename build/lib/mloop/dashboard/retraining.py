"""The retraining page: the model's policy, and its decisions with their gate reports
(champion against challenger on the same fresh holdout, with the interval and the verdict)."""

from __future__ import annotations

from typing import Any

from mloop.client import Client
from mloop.dashboard.charts import Chart, layout, when
from mloop.entities import Decision
from mloop.errors import NotFound
from mloop.services.retraining_policy import policy_to_dict


def _gate_chart(decisions: list[Decision]) -> Chart:
    gated = [d for d in reversed(decisions) if d.gate.get("difference") is not None]
    figure = None
    if gated:
        diff = [d.gate["difference"] for d in gated]
        trace = {
            "type": "scatter",
            "mode": "markers",
            "name": "challenger - champion",
            "x": [when(d.at) for d in gated],
            "y": diff,
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": [
                    (d.gate.get("ci_high") or v) - v for d, v in zip(gated, diff, strict=True)
                ],
                "arrayminus": [
                    v - (d.gate.get("ci_low") or v) for d, v in zip(gated, diff, strict=True)
                ],
            },
            "marker": {
                "size": 11,
                "color": ["#3a9a5b" if d.gate.get("passed") else "#b8434a" for d in gated],
            },
            "text": [
                f"{d.gate.get('metric')}: {'passed' if d.gate.get('passed') else 'failed'}"
                for d in gated
            ],
        }
        zero = {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": 0,
            "y1": 0,
            "line": {"color": "#6b7280", "dash": "dash"},
        }
        figure = {
            "data": [trace],
            "layout": layout("challenger - champion", "time (UTC)", shapes=[zero]),
        }
    return Chart(
        "gates",
        "Gate verdicts: the challenger's improvement with its interval (green passed, red failed)",
        "No gate has run yet: retraining runs the gate after training a challenger.",
        figure,
    )


def retraining_page(client: Client, name: str) -> dict[str, Any]:
    """The policy of ``name`` (None when it has none) and its decisions, newest first."""
    try:
        policy: dict[str, Any] | None = policy_to_dict(client.retraining.policy(name))
    except NotFound:
        policy = None
    decisions = list(reversed(client.retraining.decisions(name)))
    return {
        "model": name,
        "policy": policy,
        "decisions": decisions,
        "charts": [_gate_chart(decisions)],
    }
