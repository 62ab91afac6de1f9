"""What a demo run leaves behind, as JSON (``mloop demo --json``) and as a printed summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

from mloop.client import Client
from mloop.demo.stages import Stages
from mloop.entities import Alert, Rollout


@dataclass(frozen=True)
class EndState:
    """The end state of one run: the tracked ``runs`` (name, run_id, metrics), the champion
    version before and after, the drifted features and the alerts raised on them, the
    retraining decisions (kind, reason, trigger, versions, gate numbers), the rollout (mode,
    state, versions, decisions with reasons and the sequential test), the traffic, the URLs and
    the report's path; ``seconds`` is the wall time of the run."""

    runs: list[dict[str, Any]]
    champion_before: int
    champion_after: int
    drifted_features: list[str]
    alerts: list[dict[str, Any]]
    retraining: list[dict[str, Any]]
    retraining_decision: dict[str, Any]
    rollout: dict[str, Any]
    traffic: dict[str, int]
    dashboard_url: str
    model_server_url: str
    report: str
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return asdict(self)


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert's id, rule, subject (the feature), severity, status, message and value."""
    return {
        "id": alert.id,
        "rule": alert.rule,
        "subject": alert.subject,
        "severity": str(alert.severity),
        "status": str(alert.status),
        "message": alert.message,
        "value": alert.value,
    }


def _sequential(statistics: dict[str, Any]) -> dict[str, Any] | None:
    test = statistics.get("sequential")
    if not test:
        return None
    keys = ("difference", "ci_low", "ci_high", "p_value")
    return {key: test.get(key) for key in keys}


def rollout_json(client: Client, rollout: Rollout) -> dict[str, Any]:
    """A rollout's id, mode, state, champion and challenger versions, and its decisions (kind,
    reason, traffic shares after it, answers per arm and the sequential test it saw)."""
    decisions = []
    for decision in client.rollouts.decisions(rollout.model, rollout.id):
        arms = decision.statistics.get("arms", [])
        decisions.append(
            {
                "kind": decision.kind,
                "reason": decision.reason,
                "shares": decision.arms,
                "answers": {arm["name"]: arm["n"] for arm in arms},
                "sequential": _sequential(decision.statistics),
            }
        )
    return {
        "id": rollout.id,
        "mode": str(rollout.policy.mode),
        "state": str(rollout.state),
        "champion": rollout.champion,
        "challenger": rollout.challenger,
        "steps": list(rollout.policy.steps),
        "decisions": decisions,
    }


def print_summary(stages: Stages, state: EndState) -> None:
    """The closing table: what happened, where to look next."""
    table = Table(title="mloop demo: the loop, end to end", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("result")
    best = max(state.runs, key=lambda run: run["metrics"]["f1"])
    table.add_row("experiments", f"{len(state.runs)} runs; best {best['name']}")
    table.add_row("champion", f"v{state.champion_before} -> v{state.champion_after}")
    table.add_row("drift", ", ".join(state.drifted_features) or "none")
    table.add_row("alerts", str(len(state.alerts)))
    decision = state.retraining_decision
    gate = decision.get("gate") or {}
    verdict = f"{decision['kind']}"
    if gate:
        verdict += (
            f" ({gate.get('metric')} {gate.get('champion', 0):.3f} -> "
            f"{gate.get('challenger', 0):.3f}, "
            f"interval [{gate.get('ci_low', 0):+.3f}, {gate.get('ci_high', 0):+.3f}])"
        )
    table.add_row("retraining", verdict)
    rollout = state.rollout
    outcome = f"{rollout.get('mode', 'none')}: {rollout.get('state', 'not started')}"
    table.add_row("rollout", outcome)
    table.add_row("dashboard", state.dashboard_url)
    table.add_row("report", state.report)
    table.add_row("time", f"{state.seconds:.0f} s")
    stages.console.print(table)
