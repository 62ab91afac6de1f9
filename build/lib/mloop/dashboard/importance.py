"""Feature importance of a registered version: the model's own, else permutation importance.

The model's own is ``feature_importances_`` (trees) or the absolute ``coef_`` (linear models)
of the final step of a pipeline. Without either, permutation importance (Breiman 2001, as
``sklearn.inspection.permutation_importance`` computes it) is measured on up to
``PERMUTATION_ROWS`` rows of the first dataset the version's run stored. Results are computed
on first request and kept per version: a registered version never changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from mloop.client import Client
from mloop.errors import MloopError
from mloop.uris import ModelUri

PERMUTATION_ROWS = 1000
SHOWN = 15


@dataclass(frozen=True)
class Importance:
    """Importance per feature, most important first; ``source`` says how it was measured and
    ``problem`` why there is none (then ``names`` is empty)."""

    source: str
    names: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    problem: str = ""


def _final_step(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _input_names(estimator: Any, count: int, inputs: list[str]) -> list[str]:
    steps = getattr(estimator, "steps", None)
    names: list[str] = []
    if steps and len(steps) > 1:
        try:
            names = [str(n).split("__", 1)[-1] for n in estimator[:-1].get_feature_names_out()]
        except (AttributeError, ValueError, TypeError):
            names = []
    if len(names) != count:
        names = [str(n) for n in getattr(_final_step(estimator), "feature_names_in_", [])]
    if len(names) != count:
        names = inputs if len(inputs) == count else [f"input {i}" for i in range(count)]
    return names


def _own(estimator: Any, inputs: list[str]) -> Importance | None:
    final = _final_step(estimator)
    if hasattr(final, "feature_importances_"):
        values = np.asarray(final.feature_importances_, dtype=float)
        source = "the model's own feature_importances_"
    elif hasattr(final, "coef_"):
        values = np.abs(np.atleast_2d(np.asarray(final.coef_, dtype=float))).mean(axis=0)
        source = "the absolute coefficients (coef_) of the model; inputs as the model sees them"
    else:
        return None
    return _ranked(source, _input_names(estimator, len(values), inputs), values)


def _ranked(source: str, names: list[str], values: np.ndarray) -> Importance:
    order = np.argsort(-values)[:SHOWN]
    return Importance(
        source, tuple(names[i] for i in order), tuple(float(values[i]) for i in order)
    )


def _permutation(client: Client, run_id: str, estimator: Any) -> Importance:
    from sklearn.inspection import permutation_importance

    datasets = client.tracking.list_datasets(run_id)
    if not datasets:
        return Importance(
            "permutation importance", problem="the run stored no dataset to measure on"
        )
    frame, target = client.tracking.load_dataset(run_id, datasets[0].name)
    if target is None:
        return Importance("permutation importance", problem="the run's dataset has no target")
    rows = frame.sample(min(len(frame), PERMUTATION_ROWS), random_state=0)
    found = permutation_importance(
        estimator, rows, target.loc[rows.index], n_repeats=5, random_state=0
    )
    source = f"permutation importance on {len(rows):,} rows of dataset {datasets[0].name!r}"
    return _ranked(source, [str(c) for c in rows.columns], found.importances_mean)


def measure(client: Client, name: str, version: int) -> Importance:
    """The importance of version ``version`` of ``name`` (see the module); never raises for a
    model that cannot be loaded or measured: ``problem`` says why."""
    try:
        loaded = client.registry.load_model(ModelUri.of_version(name, version))
        inputs = [spec.name for spec in loaded.signature.inputs]
        own = _own(loaded.estimator, inputs)
        return own or _permutation(client, loaded.run_id, loaded.estimator)
    except (MloopError, ValueError, TypeError, KeyError) as exc:
        return Importance("", problem=f"could not measure: {exc}")


class ImportanceCache:
    """Importance per (model, version), measured once on first request."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, int], Importance] = {}
        self._lock = threading.Lock()

    def get(self, client: Client, name: str, version: int) -> Importance:
        """The cached importance, measured now if this version was never asked for."""
        with self._lock:
            found = self._found.get((name, version))
        if found is None:
            found = measure(client, name, version)
            with self._lock:
                self._found[(name, version)] = found
        return found
