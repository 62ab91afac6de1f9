"""Profiles as plain JSON-able dicts that round-trip exactly.

A numeric column carries its bin ``edges``, or, when written against a reference whose edges it
shares, only their ``edges_sha256`` fingerprint (see ``binning.fingerprint_edges``): window and
chunk profiles then stay small, and are read back with the same reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mloop.errors import InvalidInput
from mloop.profiles.categorical import CategoricalProfile
from mloop.profiles.dataset import ColumnProfile, DatasetProfile
from mloop.profiles.numeric import NumericProfile, same_edges

PROFILE_FORMAT = 1


def profile_to_dict(
    profile: DatasetProfile, *, reference: DatasetProfile | None = None
) -> dict[str, Any]:
    """A JSON-able dict; edges equal to the ``reference``'s are written as their fingerprint."""
    references = reference.columns if reference is not None else {}
    return {
        "profile_format": PROFILE_FORMAT,
        "n_rows": profile.n_rows,
        "columns": [
            _column_to_dict(column, references.get(name))
            for name, column in profile.columns.items()
        ],
    }


def profile_from_dict(
    data: dict[str, Any], *, reference: DatasetProfile | None = None
) -> DatasetProfile:
    """Read a ``profile_to_dict`` dict, given the reference it was written with, if any."""
    if not isinstance(data, dict) or data.get("profile_format") != PROFILE_FORMAT:
        raise InvalidInput(f"not a profile of format {PROFILE_FORMAT}")
    references = reference.columns if reference is not None else {}
    try:
        columns = [_column_from_dict(column, references) for column in data["columns"]]
        profile = DatasetProfile(
            n_rows=int(data["n_rows"]),
            columns={column.name: column for column in columns},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed profile: {exc!r}") from exc
    if len(profile.columns) != len(columns):
        raise InvalidInput("malformed profile: duplicate column names")
    return profile


def _column_to_dict(column: ColumnProfile, reference: ColumnProfile | None) -> dict[str, Any]:
    common = {
        "name": column.name,
        "kind": column.kind,
        "count": column.count,
        "missing": column.missing,
    }
    if isinstance(column, CategoricalProfile):
        return {
            **common,
            "categories": list(column.frequencies),
            "frequencies": list(column.frequencies.values()),
            "others": dict(column.others),
        }
    return {
        **common,
        "infinite": column.infinite,
        "min": column.min,
        "max": column.max,
        "mean": column.mean,
        "squared_deviations": column.squared_deviations,
        **_edges_to_dict(column, reference),
        "counts": list(column.counts),
    }


def _edges_to_dict(column: NumericProfile, reference: ColumnProfile | None) -> dict[str, Any]:
    if isinstance(reference, NumericProfile) and same_edges(column, reference):
        return {"edges_sha256": reference.edges_fingerprint}
    return {"edges": list(column.edges)}


def _column_from_dict(data: dict[str, Any], references: dict[str, ColumnProfile]) -> ColumnProfile:
    name = str(data["name"])
    if data["kind"] == "categorical":
        categories = [str(category) for category in data["categories"]]
        frequencies = _vector(data["frequencies"], np.int64, "frequencies").tolist()
        return CategoricalProfile(
            name=name,
            count=int(data["count"]),
            missing=int(data["missing"]),
            frequencies=dict(zip(categories, frequencies, strict=True)),
            others={str(other): int(tally) for other, tally in data["others"].items()},
        )
    if data["kind"] != "numeric":
        raise ValueError(f"unknown column kind {data['kind']!r}")
    edges = _edges(name, data, references.get(name))
    counts = _vector(data["counts"], np.int64, "counts")
    if counts.size != len(edges) + 1:
        raise ValueError(f"column {name!r}: {counts.size} counts for {len(edges)} edges")
    return NumericProfile(
        name=name,
        count=int(data["count"]),
        missing=int(data["missing"]),
        infinite=int(data["infinite"]),
        min=_optional_float(data["min"]),
        max=_optional_float(data["max"]),
        mean=_optional_float(data["mean"]),
        squared_deviations=float(data["squared_deviations"]),
        edges=edges,
        counts=tuple(counts.tolist()),
    )


def _edges(name: str, data: dict[str, Any], reference: ColumnProfile | None) -> tuple[float, ...]:
    """The column's edges: its own list, or the reference's when the fingerprints match."""
    if "edges_sha256" not in data:
        edges = _vector(data["edges"], np.float64, "edges")
        if np.isnan(edges).any():
            raise ValueError(f"column {name!r}: NaN among the bin edges")
        return tuple(edges.tolist())
    if not isinstance(reference, NumericProfile):
        raise InvalidInput(
            f"column {name!r}: the profile stores only a fingerprint of its bin edges; "
            "read it with the numeric reference profile it was written against",
            field=name,
        )
    if data["edges_sha256"] != reference.edges_fingerprint:
        raise InvalidInput(
            f"column {name!r}: the profile was made on other bin edges than the reference's "
            f"(fingerprint {data['edges_sha256']!r}, reference {reference.edges_fingerprint!r})",
            field=name,
        )
    return reference.edges


def _vector(values: Any, dtype: type[np.generic], what: str) -> npt.NDArray[Any]:
    """A list of numbers as a 1-d array of ``dtype``; anything else raises ValueError."""
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a flat list, got {array.ndim} dimensions")
    return array


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
