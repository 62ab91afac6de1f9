"""Rollouts: stable assignment of units to arms, the bandit, and the rules that decide.

``assign`` places a unit on an arm; ``next_verdict`` says what a rollout's analysis calls for;
``evaluate`` applies it to a model's running rollout and ``RolloutEvaluator`` does so on a
schedule beside a model server. The serving side (``mloop.serving.rollout_routing``) routes
requests by the rollout row in the store.
"""

from mloop.rollouts.assignment import arm_at, assign, check_weights, unit_point
from mloop.rollouts.bandit import thompson_shares
from mloop.rollouts.decisions import Verdict, next_verdict
from mloop.rollouts.evaluator import RolloutEvaluator, evaluate, evaluate_if_held, rollout_lease

__all__ = [
    "RolloutEvaluator",
    "Verdict",
    "arm_at",
    "assign",
    "check_weights",
    "evaluate",
    "evaluate_if_held",
    "next_verdict",
    "rollout_lease",
    "thompson_shares",
    "unit_point",
]
