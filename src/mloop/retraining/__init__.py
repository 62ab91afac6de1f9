"""Automated retraining: policies, triggers, training sets from production, the gate, executors.

``retrain(client, "churn")`` runs the model's stored ``RetrainingPolicy``: when a trigger
fires it assembles a training set from the champion's data and labelled production rows,
trains a challenger with the user's recipe, judges it against the champion on the newest
labelled rows, and promotes or rejects it, writing every decision to the audit trail.
"""

from typing import TYPE_CHECKING

from mloop.lazy import lazy_exports

if TYPE_CHECKING:
    from mloop.entities import Decision, DecisionKind, GateConfig, RetrainingPolicy, Triggers
    from mloop.retraining.evaluate import evaluate_versions
    from mloop.retraining.executors import DaskExecutor, Executor, LocalExecutor, executor_for
    from mloop.retraining.loop import Plan, plan_retraining, retrain
    from mloop.retraining.scheduler import RetrainingScheduler
    from mloop.retraining.training_set import TrainingSet, assemble

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(
            ("Decision", "DecisionKind", "GateConfig", "RetrainingPolicy", "Triggers"),
            "mloop.entities",
        ),
        "evaluate_versions": "mloop.retraining.evaluate",
        **dict.fromkeys(
            ("DaskExecutor", "Executor", "LocalExecutor", "executor_for"),
            "mloop.retraining.executors",
        ),
        **dict.fromkeys(("Plan", "plan_retraining", "retrain"), "mloop.retraining.loop"),
        "RetrainingScheduler": "mloop.retraining.scheduler",
        **dict.fromkeys(("TrainingSet", "assemble"), "mloop.retraining.training_set"),
    },
)

__all__ = [
    "DaskExecutor",
    "Decision",
    "DecisionKind",
    "Executor",
    "GateConfig",
    "LocalExecutor",
    "Plan",
    "RetrainingPolicy",
    "RetrainingScheduler",
    "TrainingSet",
    "Triggers",
    "assemble",
    "evaluate_versions",
    "executor_for",
    "plan_retraining",
    "retrain",
]
