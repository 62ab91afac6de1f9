"""The numbers a rollout is judged on, from the prediction log, its feedback and the tallies.

Per arm: answered rows, labelled rows, the primary metric with a 95% Wilson score interval,
requests and errors (summed over servers), p99 latency. Between the arms: the fixed-horizon
z-test, the always-valid sequential test, the sample-ratio-mismatch check on the rows since the
weights last changed, the power reached so far, and the guardrails of the challenger.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mloop.entities import Rollout, RolloutMode, RolloutState
from mloop.prediction_log import LABEL, LATENCY_MS, PREDICTION, PREDICTION_ID, TS, shadow_sources
from mloop.services.chunk_cache import ChunkCache
from mloop.services.prediction_log import PredictionLogService
from mloop.stats import (
    Comparison,
    SequentialResult,
    adjust_p_values,
    power_proportions,
    sequential_proportions,
    srm_test,
    two_proportion_test,
    welch_test,
    wilson,
)

ARMS = ("champion", "challenger")
COLUMNS = [PREDICTION_ID, TS, PREDICTION, LATENCY_MS]


@dataclass(frozen=True)
class ArmSummary:
    """One arm of a rollout: traffic, the metric with its 95% Wilson interval, errors, latency."""

    name: str
    version: int
    weight: float
    n: int
    labelled: int
    successes: int
    metric: float
    ci_low: float
    ci_high: float
    requests: int
    errors: int
    p99_ms: float
    n_since_weights: int


@dataclass(frozen=True)
class Guardrail:
    """One guardrail of the challenger: its value, limit, sample and whether it is breached."""

    name: str
    value: float
    limit: float
    n: int
    breached: bool


@dataclass(frozen=True)
class SecondaryMetric:
    """A metric reported beside the primary one: challenger minus champion with its interval,
    the raw p-value and the Holm-adjusted one (over all secondary metrics); NaN without data."""

    name: str
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float


@dataclass(frozen=True)
class RolloutAnalysis:
    """Everything decisions and ``mloop rollout status`` read about one rollout."""

    rollout: Rollout
    arms: dict[str, ArmSummary]
    comparison: Comparison | None
    sequential: SequentialResult | None
    srm_p_value: float
    power: float
    guardrails: list[Guardrail] = field(default_factory=list)
    secondary: list[SecondaryMetric] = field(default_factory=list)

    @property
    def srm_blocked(self) -> bool:
        """Whether the split is off (SRM p below the policy's threshold): no decision then."""
        return self.srm_p_value < self.rollout.policy.srm_alpha

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: mode, state, arms, srm_p_value, sequential, comparison, power."""
        rollout = self.rollout
        return {
            "model": rollout.model,
            "rollout_id": rollout.id,
            "mode": str(rollout.policy.mode),
            "state": str(rollout.state),
            "step": rollout.step,
            "steps": list(rollout.policy.steps),
            "metric": rollout.policy.metric,
            "arms": [_finite(asdict(arm)) for arm in self.arms.values()],
            "srm_p_value": _number(self.srm_p_value),
            "srm_blocked": self.srm_blocked,
            "sequential": None if self.sequential is None else _finite(asdict(self.sequential)),
            "comparison": None if self.comparison is None else _finite(asdict(self.comparison)),
            "power": _number(self.power),
            "guardrails": [_finite(asdict(g)) for g in self.guardrails],
            "secondary": [_finite(asdict(m)) for m in self.secondary],
        }


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _number(v) if isinstance(v, float) else v for k, v in values.items()}


def _arm_rows(
    rollout: Rollout, log: PredictionLogService, version: int, cache: ChunkCache | None
) -> pd.DataFrame:
    end = None if rollout.state == RolloutState.RUNNING else rollout.updated_at
    rows = log.read(
        rollout.model,
        version=version,
        start=rollout.started_at,
        end=end,
        with_feedback=True,
        columns=COLUMNS,
        cache=cache,
    )
    missing = rows[LABEL].isna()
    shadow = shadow_sources(rows.loc[missing, PREDICTION_ID])
    if not shadow.empty:
        labels = log.feedback_for(shadow.tolist())
        rows.loc[shadow.index, LABEL] = shadow.map(labels)
    return rows


def _successes(rows: pd.DataFrame, metric: str) -> np.ndarray:
    labelled = rows[rows[LABEL].notna()]
    if metric == "reward":
        return np.asarray(pd.to_numeric(labelled[LABEL], errors="coerce").fillna(0) > 0)
    predicted = pd.to_numeric(labelled[PREDICTION], errors="coerce")
    actual = pd.to_numeric(labelled[LABEL], errors="coerce")
    if predicted.notna().all() and actual.notna().all():
        return np.isclose(predicted.to_numpy(float), actual.to_numpy(float))
    return np.asarray(labelled[PREDICTION].astype(str) == labelled[LABEL].astype(str))


def _summary(rollout: Rollout, name: str, rows: pd.DataFrame, tally: tuple[int, int]) -> ArmSummary:
    hits = _successes(rows, rollout.policy.metric)
    n, wins = int(hits.size), int(hits.sum())
    rate = wins / n if n else math.nan
    low, high = wilson(wins, n)
    latency = rows[LATENCY_MS].dropna()
    p99 = float(np.percentile(latency, 99)) if len(latency) else math.nan
    recent = int((rows[TS] >= rollout.weights_at).sum())
    version = rollout.champion if name == "champion" else rollout.challenger
    weight = rollout.weights.get(name, 0.0)
    return ArmSummary(
        name,
        version,
        weight,
        len(rows),
        n,
        wins,
        rate,
        low,
        high,
        tally[0],
        tally[1],
        p99,
        recent,
    )


def _srm(rollout: Rollout, arms: dict[str, ArmSummary]) -> float:
    live = [arm for arm in arms.values() if arm.weight > 0]
    if rollout.policy.mode == RolloutMode.SHADOW or len(live) < 2:
        return math.nan
    return srm_test([a.n_since_weights for a in live], [a.weight for a in live]).p_value


def _power(rollout: Rollout, champion: ArmSummary, challenger: ArmSummary) -> float:
    baseline = champion.metric if math.isfinite(champion.metric) else 0.5
    mde = rollout.policy.mde if baseline + rollout.policy.mde <= 1 else -rollout.policy.mde
    n = min(champion.labelled, challenger.labelled)
    return power_proportions(baseline, mde, n, rollout.policy.alpha)


def guardrails(
    rollout: Rollout,
    champion: ArmSummary,
    challenger: ArmSummary,
    sequential: SequentialResult | None,
) -> list[Guardrail]:
    """The challenger's guardrails under the rollout's policy, breached or not.

    Error rate and latency count once the challenger has ``guardrail_min_requests`` requests;
    with ``promote_when="not_worse"`` the metric is breached when the whole sequential interval
    lies below ``-margin``.
    """
    policy = rollout.policy
    enough = challenger.requests >= policy.guardrail_min_requests
    rate = challenger.errors / challenger.requests if challenger.requests else 0.0
    checks = [
        Guardrail(
            "error_rate",
            rate,
            policy.max_error_rate,
            challenger.requests,
            enough and rate > policy.max_error_rate,
        ),
    ]
    timed = challenger.n >= policy.guardrail_min_requests and math.isfinite(challenger.p99_ms)
    if policy.max_p99_ms is not None:
        breached = timed and challenger.p99_ms > policy.max_p99_ms
        checks.append(
            Guardrail("p99_ms", challenger.p99_ms, policy.max_p99_ms, challenger.n, breached)
        )
    if policy.max_p99_ratio is not None and math.isfinite(champion.p99_ms):
        ratio = challenger.p99_ms / max(champion.p99_ms, 1e-9)
        breached = timed and ratio > policy.max_p99_ratio
        checks.append(Guardrail("p99_ratio", ratio, policy.max_p99_ratio, challenger.n, breached))
    if policy.promote_when == "not_worse" and sequential is not None:
        worse = sequential.ci_high < -policy.margin
        checks.append(
            Guardrail("metric", sequential.ci_high, -policy.margin, challenger.labelled, worse)
        )
    return checks


def analyze_rollout(
    rollout: Rollout,
    log: PredictionLogService,
    tallies: dict[str, tuple[int, int]],
    caches: dict[str, ChunkCache] | None = None,
) -> RolloutAnalysis:
    """The analysis of ``rollout`` from its rows in the log since it started (to its end).

    ``caches`` (by arm) keep the chunks read for the next analysis of the same rollout.
    """
    versions = (rollout.champion, rollout.challenger)
    caches = caches or {}
    rows = {
        name: _arm_rows(rollout, log, v, caches.get(name))
        for name, v in zip(ARMS, versions, strict=True)
    }
    arms = {name: _summary(rollout, name, rows[name], tallies.get(name, (0, 0))) for name in ARMS}
    champion, challenger = arms["champion"], arms["challenger"]
    policy = rollout.policy
    comparison = sequential = None
    if champion.labelled and challenger.labelled:
        counts = (champion.successes, champion.labelled, challenger.successes, challenger.labelled)
        comparison = two_proportion_test(*counts, alpha=policy.alpha)
        sequential = sequential_proportions(*counts, alpha=policy.alpha, tuning=policy.tuning)
    checks = guardrails(rollout, champion, challenger, sequential)
    power = _power(rollout, champion, challenger)
    srm = _srm(rollout, arms)
    secondary = secondary_metrics(rollout.policy.secondary, rows, policy.alpha)
    return RolloutAnalysis(rollout, arms, comparison, sequential, srm, power, checks, secondary)


def secondary_metrics(
    names: tuple[str, ...], rows: dict[str, pd.DataFrame], alpha: float
) -> list[SecondaryMetric]:
    """The secondary metrics of the arms' rows, with Holm-adjusted p-values (Holm 1979).

    They are reported, never decided on: only the primary metric and the guardrails decide.
    """
    found = [_secondary(name, rows["champion"], rows["challenger"], alpha) for name in names]
    adjusted = adjust_p_values([c.p_value for c in found], "holm").tolist() if found else []
    return [
        SecondaryMetric(name, c.difference, c.ci_low, c.ci_high, c.p_value, float(p))
        for name, c, p in zip(names, found, adjusted, strict=True)
    ]


def _secondary(
    name: str, champion: pd.DataFrame, challenger: pd.DataFrame, alpha: float
) -> Comparison:
    if name == LATENCY_MS:
        first = pd.to_numeric(champion[LATENCY_MS], errors="coerce").dropna().to_numpy(float)
        second = pd.to_numeric(challenger[LATENCY_MS], errors="coerce").dropna().to_numpy(float)
        if min(first.size, second.size) < 2:
            nan = math.nan
            return Comparison(nan, nan, nan, nan, nan, alpha)
        return welch_test(first, second, alpha)
    a, b = _successes(champion, name), _successes(challenger, name)
    return two_proportion_test(int(a.sum()), len(a), int(b.sum()), len(b), alpha=alpha)
