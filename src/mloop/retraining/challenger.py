"""The challenger: a tracked run that trains the recipe (one candidate or a sweep), registered."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mloop.client import Client
from mloop.entities import RetrainingPolicy
from mloop.prediction_log import TS
from mloop.retraining.executors import Progress, executor_for
from mloop.retraining.gate import positive_class, scored
from mloop.retraining.recipe import CandidateJob, RecipeError, fit_candidate
from mloop.retraining.training_set import TrainingSet
from mloop.services.retraining_policy import CHALLENGER_DATASETS
from mloop.stats.paired import LOWER_IS_BETTER, metric_values

EXPERIMENT = "retraining"
VALIDATION_SHARE = 0.2


@dataclass(frozen=True)
class Challenger:
    """A registered challenger: its fitted model, version, run and the params it won with."""

    model: Any
    version: int
    run_id: str
    params: dict[str, Any]


def validation_score(model: Any, frame: pd.DataFrame, target: str, metric: str) -> float:
    """``metric`` of ``model`` on ``frame``, higher is better (losses are negated)."""
    positive = positive_class(model)
    truth = frame[target].to_numpy() == positive
    value = float(
        metric_values(metric, truth, scored(model, frame.drop(columns=[target]), positive))
    )
    return -value if metric in LOWER_IS_BETTER else value


@dataclass(frozen=True)
class _Scorer:
    """A picklable validation scorer for one metric (sent to Dask workers with the job)."""

    metric: str

    def __call__(self, model: Any, frame: pd.DataFrame, target: str) -> float:
        return validation_score(model, frame, target, self.metric)


def _sweep(
    policy: RetrainingPolicy, data: TrainingSet, progress: Progress | None
) -> tuple[dict[str, Any], list[float | None]]:
    """The candidate params that score best on the newest train rows, and every score."""
    options = [{**policy.params, **c} for c in policy.candidates]
    cut = int(len(data.train) * (1 - VALIDATION_SHARE))
    weights = None if data.weights is None else data.weights[:cut]
    jobs = [
        CandidateJob(policy.recipe, data.train.iloc[:cut], policy.target, params, weights,
                     data.train.iloc[cut:], _Scorer(policy.gate.metric))
        for params in options
    ]  # fmt: skip
    results = executor_for(policy.executor, policy.dask_address).map(fit_candidate, jobs, progress)
    scores = [score for _, score in results]
    usable = [s if s is not None and np.isfinite(s) else -np.inf for s in scores]
    return options[int(np.argmax(usable))], scores


def _fit(
    policy: RetrainingPolicy,
    data: TrainingSet,
    run_id: str,
    progress: Progress | None,
    client: Client,
) -> tuple[Any, dict[str, Any]]:
    params = dict(policy.params)
    if len(policy.candidates) > 1:
        params, scores = _sweep(policy, data, progress)
        client.tracking.log_batch(
            run_id,
            params={
                f"sweep.{i}": json.dumps(c, default=str) for i, c in enumerate(policy.candidates)
            },
            metrics={
                f"sweep.{i}.validation_{policy.gate.metric}": s
                for i, s in enumerate(scores)
                if s is not None and np.isfinite(s)
            },
        )
    elif policy.candidates:
        params = {**params, **policy.candidates[0]}
    job = CandidateJob(policy.recipe, data.train, policy.target, params, data.weights)
    model, _ = fit_candidate(job)
    return model, params


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _log_data(client: Client, run_id: str, policy: RetrainingPolicy, data: TrainingSet) -> None:
    """Store the training set under ``policy.dataset`` (where the next retraining looks for
    its champion's data) with each row's log time as ``ts`` (so the next retraining counts the
    rows of its own window once), and the holdout as ``retraining.holdout``."""
    holdout, weights = CHALLENGER_DATASETS
    train = data.train if data.times is None else data.train.assign(**{TS: data.times})
    for name, frame in ((policy.dataset, train), (holdout, data.holdout)):
        features, target = frame.drop(columns=[policy.target]), frame[policy.target]
        client.tracking.log_dataset(run_id, name, features, target, store=True)
    if data.weights is not None:
        client.tracking.log_dataset(run_id, weights, data.weights, store=True)


def train_challenger(
    client: Client,
    policy: RetrainingPolicy,
    champion: int,
    trigger: str,
    data: TrainingSet,
    progress: Progress | None = None,
) -> Challenger:
    """Train, log and register the challenger of ``champion`` inside one tracked run.

    The run keeps the params, the assembled train set (stored and fingerprinted under
    ``policy.dataset``, so a promoted challenger hands it on as the next champion's data),
    the holdout (``retraining.holdout``), the model and tags naming the champion, policy
    recipe and trigger. Raises RecipeError (with ``run_id``) after marking the run FAILED
    with the error when the recipe fails; any other error (an executor that cannot run, an
    interruption) also marks the run FAILED, with the error in its ``mloop.error`` tag,
    before it propagates.
    """
    tags = {
        "mloop.retraining.model": policy.model,
        "mloop.retraining.champion_version": champion,
        "mloop.retraining.recipe": policy.recipe,
        "mloop.retraining.trigger": trigger,
        "mloop.retraining.notes": "; ".join(data.notes),
    }
    run_id = client.tracking.create_run(EXPERIMENT, f"{policy.model}-challenger", tags=tags)
    try:
        _log_data(client, run_id, policy, data)
        model, params = _fit(policy, data, run_id, progress, client)
    except RecipeError as exc:
        client.tracking.set_tags(run_id, {"mloop.error": str(exc)})
        client.tracking.end_run(run_id, "FAILED")
        raise RecipeError(str(exc), run_id) from exc.__cause__
    except BaseException as exc:
        client.tracking.set_tags(run_id, {"mloop.error": str(exc) or type(exc).__name__})
        client.tracking.end_run(run_id, "FAILED")
        raise
    client.tracking.log_params(run_id, {k: _text(v) for k, v in params.items()})
    features = data.train.drop(columns=[policy.target])
    client.tracking.log_model(run_id, model, input_example=features.head(50))
    client.tracking.end_run(run_id)
    holdout = data.holdout
    version = client.register_model(
        run_id,
        policy.model,
        description=f"challenger of v{champion} ({trigger})",
        reference=holdout.drop(columns=[policy.target]),
        reference_labels=holdout[policy.target],
    )
    return Challenger(model, version.version, run_id, params)
