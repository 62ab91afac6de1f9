"""The model report: one self-contained HTML page about a registered model's whole loop.

Versions and aliases, drift, performance, alerts, retraining decisions and rollouts, read
through the services; the charts are inline PNGs, the style inline: the file opens with no
network. ``write_overview_png`` draws the same story as one multi-panel figure.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mloop.entities import Alert, AliasEvent, Decision, MonitorKind, MonitorResult, RolloutDecision
from mloop.errors import NotFound
from mloop.reports import write_report
from mloop.services.monitoring import MonitoringService
from mloop.services.registry import RegistryService
from mloop.services.report_charts import (
    drift_chart,
    overview_figure,
    performance_chart,
    png_data_uri,
    rollout_chart,
)
from mloop.services.retraining import RetrainingService
from mloop.services.rollouts import RolloutService
from mloop.services.tracking import TrackingService
from mloop.uris import model_name

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1d2433;
       padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 2px solid #dde; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #e4e6ee; text-align: left;
         vertical-align: top; }
th { background: #f4f5f9; } .bad { color: #b3261e; font-weight: 600; }
.good { color: #1b6e3a; font-weight: 600; } .muted { color: #667; }
img { max-width: 100%; }
"""


class LoopServices(Protocol):
    """What the report reads: ``mloop.Client`` has these."""

    @property
    def registry(self) -> RegistryService: ...
    @property
    def monitoring(self) -> MonitoringService: ...
    @property
    def rollouts(self) -> RolloutService: ...
    @property
    def retraining(self) -> RetrainingService: ...
    @property
    def tracking(self) -> TrackingService: ...


@dataclass(frozen=True)
class ModelReport:
    """Everything the report shows about one model, oldest first where there is an order."""

    model: str
    versions: list[dict[str, Any]]
    aliases: list[AliasEvent]
    drift: list[MonitorResult]
    prediction_drift: list[MonitorResult]
    performance: list[MonitorResult]
    alerts: list[Alert]
    retraining: list[Decision]
    rollouts: list[RolloutDecision]
    created_at: float


def gather(services: LoopServices, model: str) -> ModelReport:
    """Read a model's state from the services. Raises NotFound for an unknown model."""
    name = model_name(model)
    versions = services.registry.list_model_versions(name)
    if not versions:
        raise NotFound(f"model {name!r} has no versions", field="model")
    rows = []
    for version in versions:
        run = services.tracking.get_run(version.run_id)
        rows.append({"version": version.version, "created_at": version.created_at,
                     "aliases": version.aliases, "run": run.name, "run_id": run.id,
                     "description": version.description, "metrics": dict(run.metrics)})  # fmt: skip
    results = services.monitoring.results
    return ModelReport(
        model=name,
        versions=rows,
        aliases=services.registry.alias_history(name),
        drift=results(name, kind=MonitorKind.DRIFT),
        prediction_drift=results(name, kind=MonitorKind.PREDICTION_DRIFT),
        performance=results(name, kind=MonitorKind.PERFORMANCE),
        alerts=services.monitoring.alerts(model=name),
        retraining=services.retraining.decisions(name),
        rollouts=services.rollouts.decisions(name),
        created_at=time.time(),
    )


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return html.escape(", ".join(map(str, value)))
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f"<p class='muted'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(uri: str | None, caption: str) -> str:
    if uri is None:
        return f"<p class='muted'>{html.escape(caption)}: no data yet.</p>"
    return f"<figure><img alt='{html.escape(caption)}' src='{uri}'></figure>"


def _versions(report: ModelReport) -> str:
    rows = [[v["version"], _when(v["created_at"]), v["aliases"], v["run"], v["run_id"][:8],
             v["metrics"].get("f1"), v["description"]] for v in report.versions]  # fmt: skip
    moves = [[_when(e.at), e.alias, e.from_version, e.to_version, e.user, e.reason]
             for e in report.aliases]  # fmt: skip
    return (
        "<h2>Versions and aliases</h2>"
        + _table(
            ["version", "registered", "aliases", "run", "run id", "f1", "description"],
            rows,
            "no versions",
        )
        + "<h3>Alias moves</h3>"
        + _table(["when", "alias", "from", "to", "who", "why"], moves, "no alias moves")
    )


def _drift(report: ModelReport) -> str:
    if not report.drift:
        return "<h2>Drift</h2><p class='muted'>No monitor has run yet.</p>"
    latest = report.drift[-1]
    rows = [[d.get("column"), d.get("method"), d.get("statistic"), d.get("p_value"),
             "yes" if d.get("drifted") else "no"] for d in latest.details]  # fmt: skip
    verdict = "drifted" if latest.summary.get("dataset_drift") else "no dataset drift"
    return (
        "<h2>Drift</h2>"
        f"<p>Latest monitor run ({_when(latest.created_at)}, version {latest.version}, "
        f"{latest.n_rows} rows): <b>{verdict}</b>, "
        f"{latest.summary.get('share_drifted', 0):.0%} of the features.</p>"
        + _table(["feature", "method", "statistic", "p-value", "drifted"], rows, "")
        + _figure(drift_chart(report.drift), "Share of drifted features over time")
    )


def _performance(report: ModelReport) -> str:
    rows = []
    for result in report.performance:
        metrics, reference = result.summary.get("metrics", {}), result.summary.get("reference", {})
        rows += [[_when(result.created_at), result.version, name, value, reference.get(name),
                  result.n_rows] for name, value in metrics.items()]  # fmt: skip
    return (
        "<h2>Performance on labelled production traffic</h2>"
        + _figure(performance_chart(report.performance), "Realized F1 and accuracy over time")
        + _table(
            ["when", "version", "metric", "value", "reference", "labels"],
            rows,
            "no labelled traffic yet",
        )
    )


def _alerts(report: ModelReport) -> str:
    rows = [[a.id, a.rule, a.subject, a.severity, a.status, a.occurrences, _when(a.last_seen),
             a.message] for a in report.alerts]  # fmt: skip
    headers = ["id", "rule", "subject", "severity", "status", "seen", "last seen", "message"]
    return "<h2>Alerts</h2>" + _table(headers, rows, "no alerts")


def _gate(gate: dict[str, Any]) -> str:
    if not gate:
        return ""
    verdict = "passed" if gate.get("passed") else "failed"
    return (
        f"{gate.get('metric')}: {gate.get('champion', 0):.3f} → {gate.get('challenger', 0):.3f}, "
        f"difference {gate.get('difference', 0):+.3f} "
        f"[{gate.get('ci_low', 0):+.3f}, {gate.get('ci_high', 0):+.3f}], {verdict}"
    )


def _share(decision: RolloutDecision) -> str:
    return f"{decision.arms.get('challenger', 0.0):.0%}"


def _decisions(report: ModelReport) -> str:
    retraining = [[_when(d.at), d.kind, d.trigger, d.champion_version, d.challenger_version,
                   _gate(d.gate), d.reason] for d in report.retraining]  # fmt: skip
    rollouts = [[_when(d.at), d.rollout_id, d.kind, d.versions.get("challenger"), _share(d),
                 d.reason] for d in report.rollouts]  # fmt: skip
    return (
        "<h2>Retraining decisions</h2>"
        + _table(
            ["when", "decision", "trigger", "champion", "challenger", "gate", "reason"],
            retraining,
            "no retraining yet",
        )
        + "<h2>Rollouts</h2>"
        + _figure(rollout_chart(report.rollouts), "Challenger's share of traffic")
        + _table(
            ["when", "rollout", "decision", "challenger", "challenger share", "reason"],
            rollouts,
            "no rollouts yet",
        )
    )


def render_html(report: ModelReport, overview: str | None = None) -> str:
    """The report as one self-contained HTML page (no external src or href); ``overview`` is
    a data URI of the overview figure shown first."""
    champion = next((v["version"] for v in report.versions if "champion" in v["aliases"]), None)
    title = f"mloop report: {report.model}"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='muted'>written {_when(report.created_at)}; "
        f"champion: version {champion}; {len(report.versions)} versions</p>"
        + (_figure(overview, "Overview") if overview else "")
        + _versions(report)
        + _drift(report)
        + _performance(report)
        + _alerts(report)
        + _decisions(report)
        + "</body></html>"
    )


def write_model_report(
    services: LoopServices, model: str, out: Path, *, png: Path | None = None
) -> Path:
    """Write the model's HTML report to ``out`` (and the overview figure to ``png``); returns
    ``out``. Raises NotFound for an unknown model."""
    report = gather(services, model)
    overview = overview_figure(
        versions=report.versions,
        drift=report.drift,
        performance=report.performance,
        alerts=report.alerts,
        rollouts=report.rollouts,
        retraining=report.retraining,
        prediction_drift=report.prediction_drift,
    )
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(overview)
    return write_report(out, render_html(report, png_data_uri(overview)))
