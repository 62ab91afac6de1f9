"""Ground-truth label rules: what a label of a classifier, a regressor or an unknown model may be.

A label is coerced only when nothing is lost (``"1"`` to 1 for integer classes, ``"true"`` to
True for boolean ones, ``2.0`` to 2); anything else that is not one of the model's classes, or
not a finite number for a regressor, is refused with an error naming the prediction id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mloop.errors import InvalidInput

_TRUTH = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class LabelKind:
    """What labels a model takes: one of ``classes``, a finite number when ``numeric``.

    With neither, any finite number, string or boolean is taken.
    """

    classes: tuple[Any, ...] | None = None
    numeric: bool = False


ANY_LABEL = LabelKind()


def label_kind(estimator: Any) -> LabelKind:
    """The labels an estimator is scored on: its ``classes_`` when it has them, else numbers."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return LabelKind(numeric=True)
    return LabelKind(classes=tuple(_plain(c) for c in classes))


def checked_labels(labels: Mapping[str, Any], kind: LabelKind) -> dict[str, Any]:
    """The labels as plain JSON scalars, coerced losslessly to what ``kind`` takes.

    Raises InvalidInput (field ``labels.<id>``) naming the first prediction id with a bad label.
    """
    return {pid: _checked(pid, _plain(value), kind) for pid, value in labels.items()}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _checked(prediction_id: str, value: Any, kind: LabelKind) -> Any:
    if kind.classes is not None:
        coerced = _as_class(value, kind.classes)
        wanted = f"one of the model's classes {list(kind.classes)}"
    elif kind.numeric:
        coerced = _number(value)
        wanted = "a finite number"
    else:
        coerced = value if _scalar(value) else None
        wanted = "a finite number, a string or a boolean"
    if coerced is None:
        raise InvalidInput(
            f"label of prediction {prediction_id!r} must be {wanted}, got {value!r}",
            field=f"labels.{prediction_id}",
        )
    return coerced


def _scalar(value: Any) -> bool:
    finite = not isinstance(value, float) or math.isfinite(value)
    return isinstance(value, bool | int | float | str) and finite


def _as_class(value: Any, classes: tuple[Any, ...]) -> Any:
    """The class ``value`` stands for without loss, or None."""
    convert = _CONVERTERS.get(type(classes[0]), _as_str) if classes else _as_str
    coerced = convert(value)
    return coerced if coerced is not None and coerced in classes else None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return _TRUTH.get(value.strip().lower()) if isinstance(value, str) else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    number = _number(value)
    return int(number) if number is not None and float(number).is_integer() else None


def _as_float(value: Any) -> float | None:
    number = None if isinstance(value, bool) else _number(value)
    return None if number is None else float(number)


def _as_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> int | float | None:
    """A finite int or float from a number or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value) if value.strip().lstrip("+-").isdigit() else float(value)
        except ValueError:
            return None
    if isinstance(value, int):
        return value
    return value if isinstance(value, float) and math.isfinite(value) else None


_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    bool: _as_bool,
    int: _as_int,
    float: _as_float,
    str: _as_str,
}
