"""The user's training code: an entry point ``package.module:function`` and jobs calling it."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput

Recipe = Callable[..., Any]


class RecipeError(Exception):
    """The user's recipe raised or returned something that is not a fitted model.

    ``run_id`` names the challenger run it failed in, once there is one.
    """

    def __init__(self, message: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


def load_recipe(entry_point: str) -> Recipe:
    """The function an entry point names, imported; InvalidInput when it cannot be found."""
    module_name, _, attribute = entry_point.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(
            f"recipe {entry_point!r} cannot be imported: {exc}", field="recipe"
        ) from exc
    if not callable(function):
        raise InvalidInput(f"recipe {entry_point!r} is not a function", field="recipe")
    return function


def takes_weights(recipe: Recipe) -> bool:
    """Whether a recipe accepts a ``sample_weight`` keyword."""
    parameters = inspect.signature(recipe).parameters
    return "sample_weight" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


@dataclass(frozen=True)
class CandidateJob:
    """One training of the recipe: its frame (features and target), params and weights.

    With a ``validation`` frame the fitted model is also scored there by ``score``.
    """

    recipe: str
    frame: pd.DataFrame
    target: str
    params: Mapping[str, Any]
    weights: np.ndarray | None = None
    validation: pd.DataFrame | None = None
    score: Callable[[Any, pd.DataFrame, str], float] | None = field(default=None, compare=False)


def fit_candidate(job: CandidateJob) -> tuple[Any, float | None]:
    """Call the recipe on the job's frame; return the fitted model and its validation score.

    Raises RecipeError (with the recipe's own error as its cause) when the recipe raises or
    returns an object without ``predict``; InvalidInput when it cannot be imported or takes
    no ``sample_weight`` although weights are set.
    """
    recipe = load_recipe(job.recipe)
    extra: dict[str, Any] = {}
    if job.weights is not None:
        if not takes_weights(recipe):
            raise InvalidInput(
                f"recipe {job.recipe} takes no sample_weight, but the policy weights recent rows",
                field="half_life_seconds",
            )
        extra["sample_weight"] = job.weights
    try:
        model = recipe(job.frame.copy(), job.target, dict(job.params), **extra)
    except Exception as exc:
        raise RecipeError(f"recipe {job.recipe} raised {type(exc).__name__}: {exc}") from exc
    if not callable(getattr(model, "predict", None)):
        raise RecipeError(f"recipe {job.recipe} returned {type(model).__name__}, not a model")
    if job.validation is None or job.score is None:
        return model, None
    return model, job.score(model, job.validation, job.target)
