"""The gate: champion and challenger score the same fresh holdout; the challenger must win.

It passes only when the primary metric improves by more than the margin with statistical
support (the interval's lower end above the margin and a one-sided p-value below
``(1 - confidence) / 2``) and no guardrail metric is worse beyond its tolerance. The report
also replays the window's logged requests through the challenger (a shadow run on the past).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.entities import GateConfig
from mloop.prediction_log import PREDICTION, PROBA_PREFIX
from mloop.stats import PairedComparison, Scored
from mloop.stats.paired import LOWER_IS_BETTER, metric_values


def positive_class(model: Any) -> Any:
    """The class a binary classifier scores in its last ``predict_proba`` column."""
    classes = getattr(model, "classes_", None)
    return classes[-1] if classes is not None and len(classes) else 1


def scored(model: Any, features: pd.DataFrame, positive: Any) -> Scored:
    """A model's predicted positives and positive-class scores (None without predict_proba)."""
    predicted = np.asarray(model.predict(features)) == positive
    if not callable(getattr(model, "predict_proba", None)):
        return Scored(predicted)
    classes = list(getattr(model, "classes_", [positive]))
    proba = np.asarray(model.predict_proba(features), dtype=np.float64)
    return Scored(predicted, proba[:, classes.index(positive)])


def _compare(
    config: GateConfig, truth: np.ndarray, champion: Scored, challenger: Scored
) -> PairedComparison:
    if config.test == "mcnemar":
        return stats.mcnemar(truth, champion, challenger, confidence=config.confidence)
    return stats.paired_bootstrap(
        config.metric,
        truth,
        champion,
        challenger,
        margin=config.margin,
        confidence=config.confidence,
        resamples=config.resamples,
    )


def _guardrails(
    config: GateConfig, truth: np.ndarray, champion: Scored, challenger: Scored
) -> dict[str, dict[str, Any]]:
    found = {}
    for metric, tolerance in config.guardrails.items():
        before = float(metric_values(metric, truth, champion))
        after = float(metric_values(metric, truth, challenger))
        change = before - after if metric in LOWER_IS_BETTER else after - before
        found[metric] = {
            "champion": before,
            "challenger": after,
            "difference": change,
            "tolerance": tolerance,
            "passed": not change < -tolerance,
        }
    return found


def shadow_replay(challenger: Any, shadow: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    """The challenger on the window's logged requests, against what the champion answered.

    Returns ``rows``, ``agreement`` (share of equal predictions) and, for a classifier with
    logged probabilities, the mean ``score_shift`` of the positive class and the two-sample
    Kolmogorov-Smirnov ``score_ks`` statistic between the logged and replayed scores.
    """
    if shadow.empty or PREDICTION not in shadow:
        return {"rows": 0, "agreement": None}
    replayed = np.asarray(challenger.predict(shadow[features]))
    logged = shadow[PREDICTION].to_numpy()
    report: dict[str, Any] = {"rows": len(shadow), "agreement": float(np.mean(replayed == logged))}
    positive = positive_class(challenger)
    column = f"{PROBA_PREFIX}{positive}"
    if column in shadow and callable(getattr(challenger, "predict_proba", None)):
        scores = np.asarray(scored(challenger, shadow[features], positive).scores)
        before = shadow[column].to_numpy(dtype=np.float64)
        report["score_shift"] = float(np.mean(scores) - np.nanmean(before))
        report["score_ks"] = stats.ks_test(before[np.isfinite(before)], scores).statistic
    return report


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def judge(
    config: GateConfig,
    champion: Any,
    challenger: Any,
    holdout: pd.DataFrame,
    target: str,
) -> dict[str, Any]:
    """The gate report of two fitted models on a holdout (features and ``target``).

    Returns ``metric``, ``test``, ``champion``, ``challenger``, ``difference`` (the
    challenger's improvement), ``ci_low``, ``ci_high``, ``p_value``, ``n``, ``margin``,
    ``guardrails`` (per metric: both values, difference, tolerance, passed) and ``passed``.
    Undefined statistics are None.
    """
    positive = positive_class(challenger)
    features = holdout.drop(columns=[target])
    truth = holdout[target].to_numpy() == positive
    pair = scored(champion, features, positive), scored(challenger, features, positive)
    found = _compare(config, truth, *pair)
    guardrails = _guardrails(config, truth, *pair)
    supported = found.ci_low > config.margin and found.p_value < (1 - config.confidence) / 2
    return {
        "metric": found.metric,
        "test": config.test,
        "champion": _finite(found.champion),
        "challenger": _finite(found.challenger),
        "difference": _finite(found.difference),
        "ci_low": _finite(found.ci_low),
        "ci_high": _finite(found.ci_high),
        "p_value": _finite(found.p_value),
        "n": found.n,
        "margin": config.margin,
        "confidence": config.confidence,
        "guardrails": guardrails,
        "passed": bool(supported and all(g["passed"] for g in guardrails.values())),
    }


def gate_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The challenger run's metrics from a gate report: both models on the same holdout.

    ``holdout.<metric>`` is the challenger's value and ``holdout.<metric>.champion`` the
    champion's, for the primary metric and each guardrail; undefined values are left out.
    """
    pairs = {report["metric"]: report, **report["guardrails"]}
    found = {}
    for metric, values in pairs.items():
        for model, suffix in (("challenger", ""), ("champion", ".champion")):
            if values[model] is not None and np.isfinite(values[model]):
                found[f"holdout.{metric}{suffix}"] = float(values[model])
    return found


def gate_reason(report: dict[str, Any]) -> str:
    """One sentence a person can read: why the gate passed or failed."""
    level = f"{report['confidence']:.0%}"
    measured = (
        f"{report['metric']} {_show(report['champion'])} -> {_show(report['challenger'])}, "
        f"improvement {_show(report['difference'])} ({level} CI {_show(report['ci_low'])} to "
        f"{_show(report['ci_high'])}, p={_show(report['p_value'])}, margin {report['margin']:g}, "
        f"{report['n']} holdout rows)"
    )
    broken = [
        f"guardrail {name} worse by {-g['difference']:.4f} (tolerance {g['tolerance']:g})"
        for name, g in report["guardrails"].items()
        if not g["passed"]
    ]
    if report["passed"]:
        return f"gate passed: {measured}"
    if broken:
        return f"gate failed: {'; '.join(broken)}; {measured}"
    return f"gate failed: the improvement is not supported above the margin: {measured}"


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
