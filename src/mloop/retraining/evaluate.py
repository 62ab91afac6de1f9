"""Model versions compared fairly: each scores the same labelled dataset, with intervals.

Rows without a label (None, NaN or an empty text) are left out and counted; the others are
checked as ``/feedback`` checks a label (``mloop.services.labels``): a label is coerced to one of
a classifier's classes only when nothing is lost (``"1"`` to 1, ``1.0`` to 1), and anything else
is refused naming the classes.
Features are checked against each version's signature, as ``mloop predict`` checks them: a
column of text (a CSV read as text) is typed by its feature's kind, as a CSV's cells are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mloop import stats
from mloop.client import Client
from mloop.errors import InvalidInput
from mloop.modelio.frame import frame_from_columns
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.text import typed_columns
from mloop.retraining.gate import positive_class
from mloop.services.labels import LabelKind, checked_labels, label_kind
from mloop.uris import ModelUri


def evaluate_versions(
    client: Client,
    model: str,
    versions: Sequence[int],
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """One row per version and metric: ``version``, ``metric``, ``value``, ``ci_low``,
    ``ci_high``, ``scored_rows`` and ``unlabelled_rows``.

    Rows whose label is missing (None, NaN, empty text) are left out; every version scores the
    same other rows. A classifier gets ``stats.classification_with_intervals``, a model
    without classes ``stats.regression_with_intervals``, at ``confidence``. Raises
    InvalidInput (field: the label column, ``labels.name``) for no versions, a label count that
    differs from the rows, no label at all or a label the model cannot have; InvalidInput
    naming the feature for data a version cannot score (a missing column, a value of the wrong
    type); NotFound for a missing version.
    """
    column = str(labels.name) if labels.name is not None else "labels"
    if not versions:
        raise InvalidInput("give at least one version to evaluate", field="versions")
    if len(labels) != len(features):
        raise InvalidInput("the labels and the data differ in length", field=column)
    labelled = _labelled(labels)
    if not labelled.any():
        raise InvalidInput(
            f"label column {column!r} has no labels: all {len(labels)} rows are empty",
            field=column,
        )
    counts = {"scored_rows": int(labelled.sum()), "unlabelled_rows": int((~labelled).sum())}
    rows = []
    for version in versions:
        loaded = client.registry.load_model(ModelUri.of_version(model, version))
        inputs = model_inputs(loaded, features)[labelled]
        truth = true_labels(labels[labelled], label_kind(loaded.estimator), column)
        found = _version_metrics(loaded, inputs, truth, confidence)
        for metric, value in found["metrics"].items():
            low, high = found["intervals"].get(metric, [float("nan"), float("nan")])
            rows.append(
                {
                    "version": version,
                    "metric": metric,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                    **counts,
                }
            )
    return rows


def model_inputs(loaded: LoadedModel, features: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``features`` that ``loaded`` takes, checked against its signature.

    A column holding only text is converted by its feature's kind, as a CSV's cells are
    (``mloop.modelio.text``). Other columns (ids, timestamps) are left out; without a
    signature ``features`` comes back as it is. Raises InvalidInput naming a missing column,
    or a feature with a value that does not convert, of the wrong type or null where training
    had none (with its row, counted from 0).
    """
    names = [spec.name for spec in loaded.signature.inputs]
    if not names:
        return features
    missing = [name for name in names if name not in features.columns]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InvalidInput(
            f"the data has no column {missing[0]!r}{more}: {loaded.name} v{loaded.version} "
            f"takes it as input",
            field=missing[0],
        )
    columns: dict[str, Any] = {name: _cells(features[name]) for name in names}
    text = {name: cells for name, cells in columns.items() if _is_text(cells)}
    try:
        columns.update(typed_columns(text, loaded.signature))
        checked = frame_from_columns(columns, loaded.signature, max_rows=max(len(features), 1))
    except InvalidInput as exc:
        raise InvalidInput(f"data: {exc.message}", field=exc.field) from exc
    checked.index = features.index
    return checked


def _cells(column: pd.Series) -> np.ndarray:
    """A column's values: a numeric array as it is, else objects with None for missing."""
    if column.dtype.kind in "biuf":
        return column.to_numpy()
    return column.astype(object).where(column.notna(), None).to_numpy()


def _is_text(cells: np.ndarray) -> bool:
    return cells.dtype == object and all(isinstance(v, str) or v is None for v in cells)


def _labelled(labels: pd.Series) -> np.ndarray:
    """Which rows have a label: not None, NaN or an empty (or blank) text."""
    present = labels.notna().to_numpy()
    if labels.dtype.kind in "biuf":
        return present
    blank = np.fromiter((isinstance(v, str) and not v.strip() for v in labels), bool, len(labels))
    return present & ~blank


def true_labels(labels: pd.Series, kind: LabelKind, column: str) -> np.ndarray:
    """``labels`` (none missing) coerced to what ``kind`` takes, as ``/feedback`` coerces them.

    Raises InvalidInput (field ``column``) naming the first value that is not one of the
    model's classes (or, for a model without classes, not a finite number).
    """
    try:
        values = labels.unique()
    except TypeError as exc:
        raise InvalidInput(
            f"label column {column!r} holds values that are not labels (lists or objects)",
            field=column,
        ) from exc
    coerced = {}
    for value in values:
        try:
            coerced[value] = checked_labels({column: value}, kind)[column]
        except InvalidInput as exc:
            wanted = (
                f"one of the model's classes {list(kind.classes)}"
                if kind.classes is not None
                else "a finite number"
            )
            rows = int((labels == value).sum())
            shown = value.item() if isinstance(value, np.generic) else value
            raise InvalidInput(
                f"label column {column!r} holds {shown!r} ({rows} rows), which is not {wanted}",
                field=column,
            ) from exc
    return np.asarray(labels.map(coerced).tolist())


def _version_metrics(
    loaded: LoadedModel, inputs: pd.DataFrame, truth: np.ndarray, confidence: float
) -> dict[str, Any]:
    model = loaded.estimator
    classes = getattr(model, "classes_", None)
    try:
        predicted = np.asarray(model.predict(inputs))
        proba = None
        binary = classes is not None and len(classes) == 2
        if binary and callable(getattr(model, "predict_proba", None)):
            proba = np.asarray(model.predict_proba(inputs))[:, -1]
    except (ValueError, TypeError, KeyError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidInput(
            f"{loaded.name} v{loaded.version} cannot score the data: {reason}", field="data"
        ) from exc
    if classes is None:
        return stats.regression_with_intervals(truth, predicted, confidence)
    return stats.classification_with_intervals(
        truth, predicted, proba, positive_class(model), confidence
    )
