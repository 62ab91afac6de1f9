"""Model signatures: the columns a model takes, their types, categories and observed ranges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput

MAX_CATEGORIES = 1000
KINDS = frozenset({"number", "integer", "boolean", "string", "category", "datetime"})


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name, kind, pandas dtype, nullability, observed range, categories.

    ``kind`` is one of ``KINDS`` or "" for a column the signature does not type.
    """

    name: str
    kind: str = ""
    dtype: str | None = None
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    categories: tuple[Any, ...] | None = None

    @classmethod
    def from_dict(cls, raw: Any, index: int = 0) -> ColumnSpec:
        """A column spec from its stored form; raises InvalidInput naming a missing name."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise InvalidInput(
                f"signature inputs[{index}] needs a name", field=f"signature.inputs[{index}]"
            )
        categories = raw.get("categories")
        return cls(
            name=raw["name"],
            kind=str(raw.get("kind") or ""),
            dtype=raw.get("dtype"),
            nullable=bool(raw.get("nullable")),
            min=raw.get("min"),
            max=raw.get("max"),
            categories=None if categories is None else tuple(categories),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form: name, kind, dtype and nullable, with range and categories if known."""
        stored: dict[str, Any] = {"name": self.name, "dtype": self.dtype, "kind": self.kind}
        stored["nullable"] = self.nullable
        for key in ("min", "max"):
            if getattr(self, key) is not None:
                stored[key] = getattr(self, key)
        if self.categories is not None:
            stored["categories"] = list(self.categories)
        return stored


@dataclass(frozen=True)
class Signature:
    """The columns a model takes, in order, and the shape of what it returns (if recorded)."""

    inputs: tuple[ColumnSpec, ...] = ()
    outputs: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Signature:
        """A signature from its stored JSON form (``{"inputs": [...], "outputs": {...}}``).

        An empty or missing signature gives one with no inputs. Raises InvalidInput for an
        input without a name.
        """
        raw = raw or {}
        specs = raw.get("inputs") or ()
        inputs = tuple(ColumnSpec.from_dict(spec, i) for i, spec in enumerate(specs))
        return cls(inputs, raw.get("outputs"))

    @classmethod
    def coerce(cls, value: Signature | Mapping[str, Any] | None) -> Signature:
        """``value`` itself when it is a Signature, else read from its stored form."""
        return value if isinstance(value, Signature) else cls.from_dict(value)

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON form; ``from_dict(s.to_dict()) == s``."""
        stored: dict[str, Any] = {"inputs": [spec.to_dict() for spec in self.inputs]}
        if self.outputs is not None:
            stored["outputs"] = dict(self.outputs)
        return stored

    @cached_property
    def by_name(self) -> dict[str, ColumnSpec]:
        """The input specs by column name, in signature order."""
        return {spec.name: spec for spec in self.inputs}

    @property
    def names(self) -> list[str]:
        """The input column names in signature order."""
        return list(self.by_name)


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    return "string"


def _column(name: str, series: pd.Series) -> dict[str, Any]:
    kind = _kind(series)
    spec: dict[str, Any] = {
        "name": name,
        "dtype": str(series.dtype),
        "kind": kind,
        "nullable": bool(series.isna().any()),
    }
    values = series.dropna()
    if kind in {"integer", "number"} and len(values):
        spec["min"] = float(values.min())
        spec["max"] = float(values.max())
    if kind in {"category", "string", "boolean"}:
        observed = sorted({_plain(v) for v in values.unique()}, key=str)
        if isinstance(series.dtype, pd.CategoricalDtype):
            observed = [_plain(v) for v in series.cat.categories]
        if len(observed) <= MAX_CATEGORIES:
            spec["categories"] = observed
    return spec


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def infer_signature(frame: pd.DataFrame, outputs: Any = None) -> dict[str, Any]:
    """Describe a model's inputs (and optionally outputs) from an example frame."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput("a signature is inferred from a pandas DataFrame of model inputs")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidInput("the example frame has duplicate column names")
    signature: dict[str, Any] = {
        "inputs": [
            _column(name, frame[col]) for name, col in zip(names, frame.columns, strict=True)
        ]
    }
    if outputs is not None:
        array = np.asarray(outputs)
        signature["outputs"] = {"dtype": str(array.dtype), "shape": [-1, *array.shape[1:]]}
    return signature
