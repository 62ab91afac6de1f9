"""Profiles as plain JSON-able dicts that round-trip exactly."""

from __future__ import annotations

from typing import Any

from mloop.errors import InvalidInput
from mloop.profiles.categorical import CategoricalProfile
from mloop.profiles.dataset import ColumnProfile, DatasetProfile
from mloop.profiles.numeric import NumericProfile

PROFILE_FORMAT = 1


def profile_to_dict(profile: DatasetProfile) -> dict[str, Any]:
    """A dict of lists, numbers, strings and None that ``profile_from_dict`` reads back."""
    return {
        "profile_format": PROFILE_FORMAT,
        "n_rows": profile.n_rows,
        "columns": [_column_to_dict(column) for column in profile.columns.values()],
        "extra": dict(profile.extra),
    }


def profile_from_dict(data: dict[str, Any]) -> DatasetProfile:
    """Read a profile written by ``profile_to_dict``; malformed data raises InvalidInput."""
    if not isinstance(data, dict) or data.get("profile_format") != PROFILE_FORMAT:
        raise InvalidInput(f"not a profile of format {PROFILE_FORMAT}")
    try:
        columns = [_column_from_dict(column) for column in data["columns"]]
        profile = DatasetProfile(
            n_rows=int(data["n_rows"]),
            columns={column.name: column for column in columns},
            extra=dict(data.get("extra") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"malformed profile: {exc!r}") from exc
    if len(profile.columns) != len(columns):
        raise InvalidInput("malformed profile: duplicate column names")
    return profile


def _column_to_dict(column: ColumnProfile) -> dict[str, Any]:
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
        "edges": list(column.edges),
        "counts": list(column.counts),
    }


def _column_from_dict(data: dict[str, Any]) -> ColumnProfile:
    if data["kind"] == "categorical":
        categories = [str(category) for category in data["categories"]]
        frequencies = [int(tally) for tally in data["frequencies"]]
        return CategoricalProfile(
            name=str(data["name"]),
            count=int(data["count"]),
            missing=int(data["missing"]),
            frequencies=dict(zip(categories, frequencies, strict=True)),
            others={str(name): int(tally) for name, tally in data["others"].items()},
        )
    if data["kind"] != "numeric":
        raise ValueError(f"unknown column kind {data['kind']!r}")
    edges = tuple(float(edge) for edge in data["edges"])
    counts = tuple(int(tally) for tally in data["counts"])
    if len(counts) != len(edges) + 1:
        raise ValueError(f"column {data['name']!r}: {len(counts)} counts for {len(edges)} edges")
    return NumericProfile(
        name=str(data["name"]),
        count=int(data["count"]),
        missing=int(data["missing"]),
        infinite=int(data["infinite"]),
        min=_optional_float(data["min"]),
        max=_optional_float(data["max"]),
        mean=_optional_float(data["mean"]),
        squared_deviations=float(data["squared_deviations"]),
        edges=edges,
        counts=counts,
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
