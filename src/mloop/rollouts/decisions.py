"""The rules that move a rollout: advance, rebalance, promote, roll back or stop.

``next_verdict`` reads an analysis and returns what to do now, or None to wait:

1. A breached guardrail rolls back at once (every mode).
2. While the split is off (sample-ratio mismatch) nothing else is decided.
3. Canary: rolled back as soon as the sequential test finds the challenger worse on the primary
   metric (at any step); otherwise a step advances once both arms have ``min_sample`` answers
   since the weights last changed, and at the last step the challenger is promoted when
   ``promote_when`` holds (the canary default, ``guardrails``: its guardrails held at every
   step and the test never found it worse).
4. A/B and shadow: promoted when ``promote_when`` holds, rolled back when the sequential test
   finds the challenger worse, stopped without a winner at ``max_sample`` labelled answers.
5. Bandit: the traffic shares follow Thompson sampling with the policy's floor; the rollout
   ends as an A/B test does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mloop.entities import RolloutMode, RolloutState
from mloop.rollouts.bandit import thompson_shares
from mloop.services.rollout_analysis import RolloutAnalysis
from mloop.services.rollouts import shares

REBALANCE_AT = 0.02


@dataclass(frozen=True)
class Verdict:
    """A decision to record: its kind, reason, the state, step and weights after it."""

    kind: str
    reason: str
    state: RolloutState = RolloutState.RUNNING
    step: int | None = None
    weights: dict[str, float] | None = None
    statistics: dict[str, Any] = field(default_factory=dict)


def _promotion(analysis: RolloutAnalysis) -> str | None:
    """Why the challenger may be promoted now, or None."""
    policy, test = analysis.rollout.policy, analysis.sequential
    if policy.promote_when == "guardrails":
        if test is None:
            return "guardrails held"
        interval = f"[{test.ci_low:+.3f}, {test.ci_high:+.3f}]"
        return f"guardrails held; not found worse ({policy.metric} difference in {interval})"
    if test is None:
        return None
    if policy.promote_when == "better" and test.decided and test.difference > 0:
        interval = f"[{test.ci_low:.4g}, {test.ci_high:.4g}]"
        return f"challenger better: p={test.p_value:.4g}, interval {interval}"
    if policy.promote_when == "not_worse" and test.ci_low > -policy.margin:
        return f"challenger not worse by {policy.margin}: interval low {test.ci_low:.4g}"
    return None


def _worse(analysis: RolloutAnalysis) -> str | None:
    test = analysis.sequential
    if test is not None and test.decided and test.difference < 0:
        return f"challenger worse: p={test.p_value:.4g}, difference {test.difference:.4g}"
    return None


def _max_reached(analysis: RolloutAnalysis) -> bool:
    limit = analysis.rollout.policy.max_sample
    arms = analysis.arms.values()
    return limit is not None and min(arm.labelled for arm in arms) >= limit


def _rollback(reason: str) -> Verdict:
    return Verdict("rollback", reason, RolloutState.ROLLED_BACK, weights=shares(0.0))


def _canary(analysis: RolloutAnalysis) -> Verdict | None:
    worse = _worse(analysis)
    if worse is not None:
        return _rollback(worse)
    rollout = analysis.rollout
    steps, step = rollout.policy.steps, rollout.step
    arms = [arm for arm in analysis.arms.values() if arm.weight > 0]
    if min(arm.n_since_weights for arm in arms) < rollout.policy.min_sample:
        return None
    if step + 1 < len(steps):
        share = steps[step + 1]
        held = f"guardrails held for {rollout.policy.min_sample} answers"
        return Verdict(
            "advance", f"{held}; challenger to {share:.0%}", step=step + 1, weights=shares(share)
        )
    promotion = _promotion(analysis)
    if promotion is not None:
        return Verdict("promote", promotion, RolloutState.PROMOTED)
    return None


def _experiment(analysis: RolloutAnalysis) -> Verdict | None:
    reason = _promotion(analysis) if analysis.rollout.policy.promote_when != "guardrails" else None
    if reason is not None:
        return Verdict("promote", reason, RolloutState.PROMOTED)
    worse = _worse(analysis)
    if worse is not None:
        return _rollback(worse)
    if _max_reached(analysis):
        return Verdict(
            "stop",
            "maximum sample reached without a decision",
            RolloutState.STOPPED,
            weights=shares(0.0),
        )
    return None


def _bandit(analysis: RolloutAnalysis, rng: np.random.Generator | None) -> Verdict | None:
    ended = _experiment(analysis)
    if ended is not None:
        return ended
    rewards = {a.name: (a.successes, a.labelled) for a in analysis.arms.values()}
    target = thompson_shares(rewards, analysis.rollout.policy.floor, rng)
    current = analysis.rollout.weights
    if max(abs(target[arm] - current.get(arm, 0.0)) for arm in target) < REBALANCE_AT:
        return None
    return Verdict("weights", "Thompson sampling rebalanced the arms", weights=target)


def next_verdict(
    analysis: RolloutAnalysis, rng: np.random.Generator | None = None
) -> Verdict | None:
    """What the rollout should do now under its policy (see the module's rules), or None."""
    if analysis.rollout.state != RolloutState.RUNNING:
        return None
    breached = [g for g in analysis.guardrails if g.breached]
    if breached:
        reason = "; ".join(f"{g.name} {g.value:.4g} over {g.limit:.4g} (n={g.n})" for g in breached)
        return _rollback(f"guardrail breached: {reason}")
    if not math.isnan(analysis.srm_p_value) and analysis.srm_blocked:
        return None
    mode = analysis.rollout.policy.mode
    if mode == RolloutMode.CANARY:
        return _canary(analysis)
    if mode == RolloutMode.BANDIT:
        return _bandit(analysis, rng)
    return _experiment(analysis)
