"""Charts of the model report, drawn with matplotlib (Agg) into PNG bytes or data URIs.

Each chart function returns None when it has nothing to draw, so the page can say so.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mloop.entities import Alert, Decision, MonitorResult, RolloutDecision

PERFORMANCE_METRICS = ("f1", "accuracy", "roc_auc")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    _pyplot().close(figure)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes, for an ``<img src>`` that needs no network."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _minutes(times: Sequence[float]) -> np.ndarray:
    values = np.asarray(times, dtype=np.float64)
    return (values - values.min()) / 60 if values.size else values


def _draw_drift(axis: Any, drift: Sequence[MonitorResult]) -> bool:
    if not drift:
        return False
    latest = drift[-1].details
    names = [str(d.get("column")) for d in latest]
    values = [float(d.get("statistic") or 0.0) for d in latest]
    colors = ["#c0392b" if d.get("drifted") else "#7f8c8d" for d in latest]
    axis.barh(names, values, color=colors)
    axis.set_xlabel("drift statistic (red: drifted)")
    axis.set_title("Data drift, latest window")
    return True


def _draw_drift_share(axis: Any, drift: Sequence[MonitorResult]) -> bool:
    if not drift:
        return False
    minutes = _minutes([r.created_at for r in drift])
    shares = [float(r.summary.get("share_drifted") or 0.0) for r in drift]
    axis.plot(minutes, shares, marker="o")
    axis.set_ylim(0, 1)
    axis.set_xlabel("minutes")
    axis.set_ylabel("share of features drifted")
    axis.set_title("Drift over time")
    return True


def _draw_performance(axis: Any, performance: Sequence[MonitorResult]) -> bool:
    if not performance:
        return False
    minutes = _minutes([r.created_at for r in performance])
    for metric in PERFORMANCE_METRICS[:2]:
        values = [r.summary.get("metrics", {}).get(metric) for r in performance]
        axis.plot(minutes, [np.nan if v is None else v for v in values], marker="o", label=metric)
        reference = performance[-1].summary.get("reference", {}).get(metric)
        if reference is not None:
            axis.axhline(reference, linestyle=":", color="grey")
    axis.set_xlabel("minutes (dotted: reference)")
    axis.set_title("Realized performance")
    axis.legend(fontsize=8)
    return True


def _draw_rollout(axis: Any, rollouts: Sequence[RolloutDecision]) -> bool:
    if not rollouts:
        return False
    minutes = _minutes([d.at for d in rollouts])
    shares = [d.arms.get("challenger", 0.0) for d in rollouts]
    axis.step(minutes, shares, where="post", marker="o")
    for minute, share, decision in zip(minutes, shares, rollouts, strict=True):
        axis.annotate(decision.kind, (minute, share), fontsize=7, xytext=(2, 4),
                      textcoords="offset points")  # fmt: skip
    axis.set_ylim(-0.05, 1.1)
    axis.set_xlabel("minutes")
    axis.set_ylabel("challenger's share")
    axis.set_title("Rollout traffic")
    return True


def _draw_versions(axis: Any, versions: Sequence[dict[str, Any]]) -> bool:
    rows = [v for v in versions if v["metrics"].get("f1") is not None]
    if not rows:
        return False
    labels = [f"v{v['version']}\n{v['run'][:14]}" for v in rows]
    axis.bar(labels, [v["metrics"]["f1"] for v in rows], color="#2e86c1")
    axis.set_ylabel("F1 (the run's test or gate holdout)")
    axis.set_title("Model versions")
    axis.tick_params(axis="x", labelsize=7)
    return True


def _draw_output_drift(axis: Any, results: Sequence[MonitorResult]) -> bool:
    rows = [(r.created_at, r.details[0]) for r in results if r.details]
    if not rows:
        return False
    minutes = _minutes([at for at, _ in rows])
    axis.plot(minutes, [float(d.get("statistic") or 0.0) for _, d in rows], marker="o")
    threshold = rows[-1][1].get("threshold")
    if threshold is not None:
        axis.axhline(float(threshold), linestyle=":", color="#c0392b")
    axis.set_xlabel("minutes (dotted: threshold)")
    axis.set_ylabel(f"drift of {rows[-1][1].get('column')}")
    axis.set_title("Prediction (output) drift")
    return True


def _draw_gate(axis: Any, retraining: Sequence[Decision]) -> bool:
    judged = [d for d in retraining if d.gate.get("champion") is not None]
    if not judged:
        return False
    last = judged[-1]
    gate = last.gate
    labels = [f"champion v{last.champion_version}", f"challenger v{last.challenger_version}"]
    axis.bar(labels, [gate["champion"], gate["challenger"]], color=["#7f8c8d", "#27ae60"])
    low, high = gate.get("ci_low"), gate.get("ci_high")
    interval = "" if low is None or high is None else f", difference in [{low:+.3f}, {high:+.3f}]"
    verdict = "passed" if gate.get("passed") else "failed"
    axis.set_ylabel(f"{gate.get('metric')} on the production holdout")
    axis.set_title(f"Gate {verdict}{interval}", fontsize=10)
    return True


def _draw_alerts(axis: Any, alerts: Sequence[Alert]) -> bool:
    if not alerts:
        return False
    counts = Counter((a.rule, str(a.severity)) for a in alerts)
    rules = sorted({rule for rule, _ in counts})
    severities = sorted({severity for _, severity in counts})
    bottom = np.zeros(len(rules))
    for severity in severities:
        values = np.array([counts.get((rule, severity), 0) for rule in rules], dtype=float)
        axis.barh(rules, values, left=bottom, label=severity)
        bottom += values
    axis.set_xlabel("alerts")
    axis.set_title("Alerts by rule and severity")
    axis.legend(fontsize=8)
    return True


def _chart(draw: Callable[[Any, Any], bool], items: Any) -> str | None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 3.0))
    if not draw(axis, items):
        plt.close(figure)
        return None
    return png_data_uri(_png(figure))


def drift_chart(drift: Sequence[MonitorResult]) -> str | None:
    """Data URI of the share of drifted features per monitor run; None without runs."""
    return _chart(_draw_drift_share, drift)


def performance_chart(performance: Sequence[MonitorResult]) -> str | None:
    """Data URI of realized F1 and accuracy per monitor run; None without labelled runs."""
    return _chart(_draw_performance, performance)


def rollout_chart(rollouts: Sequence[RolloutDecision]) -> str | None:
    """Data URI of the challenger's traffic share after each rollout decision; None without."""
    return _chart(_draw_rollout, rollouts)


def overview_figure(
    *,
    versions: Sequence[dict[str, Any]],
    drift: Sequence[MonitorResult],
    performance: Sequence[MonitorResult],
    alerts: Sequence[Alert],
    rollouts: Sequence[RolloutDecision],
    retraining: Sequence[Decision],
    prediction_drift: Sequence[MonitorResult],
) -> bytes:
    """PNG bytes of a 2 x 4 overview: the tracked versions' F1, drift per feature, drift over
    time, performance, the last gate, rollout traffic, alerts and the drift of the predicted
    churn probability; a panel without data says so."""
    plt = _pyplot()
    figure, axes = plt.subplots(2, 4, figsize=(20, 8.5))
    panels: list[tuple[Callable[[Any, Any], bool], Any, str]] = [
        (_draw_versions, versions, "Model versions"),
        (_draw_drift, drift, "Data drift"),
        (_draw_drift_share, drift, "Drift over time"),
        (_draw_performance, performance, "Realized performance"),
        (_draw_gate, retraining, "Retraining gate"),
        (_draw_rollout, rollouts, "Rollout traffic"),
        (_draw_alerts, alerts, "Alerts"),
        (_draw_output_drift, prediction_drift, "Prediction drift"),
    ]
    for axis, (draw, items, title) in zip(axes.flat, panels, strict=True):
        if not draw(axis, items):
            axis.set_title(title)
            axis.text(0.5, 0.5, "no data yet", ha="center", va="center", color="grey")
            axis.set_axis_off()
    figure.suptitle("mloop: the model's loop at a glance", fontsize=14)
    return _png(figure)
