"""Training sets from production: the champion's stored training data plus labelled log rows.

The newest labelled rows of the window are held out (by time) for the gate; the rest join
the champion's training data, optionally weighted towards recent rows and capped in size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mloop.client import Client
from mloop.entities import RetrainingPolicy
from mloop.errors import NotFound
from mloop.prediction_log import LABEL, TS, parse_window


@dataclass(frozen=True)
class TrainingSet:
    """What a challenger is trained and judged on.

    ``train`` and ``holdout`` hold the features and the target column, oldest rows first;
    ``times`` (one per train row) is each row's time in the prediction log (epoch seconds, NaN
    for a row that did not come from the log); ``weights`` (one per train row) is None without
    recency weighting; ``shadow`` is every logged request of the window as the model saw it
    (features, ``prediction``, ``proba.*``); ``notes`` says what was left out and why.
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    weights: np.ndarray | None
    shadow: pd.DataFrame
    base_rows: int
    production_rows: int
    notes: tuple[str, ...] = ()
    times: np.ndarray | None = None


def _labels(values: pd.Series, like: pd.Series | None) -> pd.Series:
    """Feedback labels in the dtype of the base data's target (integers when all integral)."""
    if like is not None:
        return values.astype(like.dtype)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and (numbers % 1 == 0).all():
        return numbers.astype("int64")
    return values


def _base(
    client: Client, policy: RetrainingPolicy, champion: int
) -> tuple[pd.DataFrame | None, str]:
    """The champion's stored training data with the target under ``policy.target``."""
    version = client.registry.get_model_version(policy.model, champion)
    try:
        features, target = client.tracking.load_dataset(version.run_id, policy.dataset)
    except NotFound:
        return None, f"v{champion}'s run stored no dataset {policy.dataset!r}; production only"
    if target is None:
        return None, f"dataset {policy.dataset!r} of v{champion} has no target; production only"
    return features.assign(**{policy.target: np.asarray(target)}), ""


def _weights(times: np.ndarray, half_life: float | None) -> np.ndarray | None:
    """``0.5 ** (age / half_life)`` with ages from the newest time; None without a half-life."""
    if half_life is None or times.size == 0:
        return None
    return np.asarray(0.5 ** ((times.max() - times) / half_life))


def assemble(client: Client, policy: RetrainingPolicy, champion: int, now: float) -> TrainingSet:
    """The training set of a retraining of ``policy.model`` whose champion is ``champion``.

    Base rows (the champion's stored ``policy.dataset``) count as older than every production
    row; the newest ``policy.holdout`` share of labelled production rows is the holdout; the
    oldest train rows beyond ``policy.max_rows`` are dropped. Raises NotFound for an unknown
    model or version.
    """
    window = parse_window(policy.window, now)
    logged = client.prediction_log.read_model_window(policy.model, window)
    base, note = _base(client, policy, champion)
    features = [
        c
        for c in logged.columns
        if c not in {TS, LABEL, "prediction"} and not c.startswith("proba.")
    ]
    labelled = logged[logged[LABEL].notna()] if LABEL in logged else logged.iloc[:0]
    production = labelled[[*features, TS]].assign(
        **{
            policy.target: _labels(
                labelled.get(LABEL, pd.Series(dtype=float)),
                None if base is None else base[policy.target],
            )
        }
    )
    held = math.ceil(len(production) * policy.holdout)
    holdout = production.iloc[len(production) - held :].drop(columns=[TS])
    recent = production.iloc[: len(production) - held]
    oldest = float(recent[TS].min()) if len(recent) else now
    notes = [note] if note else []
    if base is not None and not set(features) <= set(base.columns):
        notes.append(f"the stored {policy.dataset!r} lacks inputs the log has; production only")
        base = None
    if base is not None:
        base = _outside_window(base, logged, notes)
    older = (
        base[[*features, policy.target]].assign(**{TS: _logged_times(base)})
        if base is not None
        else None
    )
    train = pd.concat([f for f in (older, recent) if f is not None], ignore_index=True)
    if len(train) > policy.max_rows:
        notes.append(f"capped at the newest {policy.max_rows} of {len(train)} rows")
        train = train.iloc[len(train) - policy.max_rows :].reset_index(drop=True)
    times = train[TS].to_numpy(dtype=np.float64)
    weights = _weights(np.where(np.isnan(times), oldest, times), policy.half_life_seconds)
    return TrainingSet(
        train=train.drop(columns=[TS]),
        holdout=holdout.reset_index(drop=True),
        weights=weights,
        shadow=logged,
        base_rows=0 if older is None else len(older),
        production_rows=len(recent),
        notes=tuple(notes),
        times=times,
    )


def _logged_times(base: pd.DataFrame) -> np.ndarray:
    """The log time of each base row: the stored ``ts`` of rows a challenger took from the
    log, NaN for the rest (they count as older than every production row)."""
    if TS not in base.columns:
        return np.full(len(base), np.nan)
    return pd.to_numeric(base[TS], errors="coerce").to_numpy(dtype=np.float64)


def _outside_window(base: pd.DataFrame, logged: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The base without rows a former challenger took from the log at or after the window's
    first row: the window's rows are read from the log again, so each counts once."""
    if TS not in base.columns or not len(logged):
        return base
    repeated = _logged_times(base) >= float(logged[TS].min())
    if repeated.any():
        notes.append(f"{int(repeated.sum())} rows of the champion's data are in the window")
    return base[~repeated].reset_index(drop=True)
