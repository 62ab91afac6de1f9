"""Reference and window profiles: bin layout, exact merges, kinds, degenerate input, JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import reduce
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from mloop.errors import InvalidInput
from mloop.profiles import (
    OTHERS_KEPT,
    CategoricalProfile,
    DatasetProfile,
    NumericProfile,
    binning,
    merge_all,
    merge_profiles,
    missing_rate,
    on_reference,
    out_of_range,
    profile_from_dict,
    profile_to_dict,
    proportions,
    reference_profile,
    std,
    unseen_categories,
    unseen_count,
    window_profile,
)
from mloop.profiles.binning import bin_counts, bin_index, quantile_edges


def mixed_frame(seed: int, rows: int = 4000) -> pd.DataFrame:
    """Floats with NaN and infinities, discrete ints, text with None, a nullable int column."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 1, rows)
    income[rng.random(rows) < 0.1] = np.nan
    score = rng.normal(0, 1, rows).round(2)
    score[rng.random(rows) < 0.01] = np.inf
    score[rng.random(rows) < 0.01] = -np.inf
    city = rng.choice(["paris", "lyon", "nice", "lille", "metz", "brest", "nantes"], rows)
    city = city.astype(object)
    city[rng.random(rows) < 0.05] = None
    return pd.DataFrame(
        {
            "income": income,
            "score": score,
            "visits": rng.integers(0, 30, rows),
            "plan": rng.choice(["basic", "pro", "max"], rows),
            "city": city,
            "tier": pd.array(rng.integers(0, 3, rows), dtype="Int64"),
            "active": rng.random(rows) < 0.5,
        }
    )


def assert_profiles_match(actual: DatasetProfile, expected: DatasetProfile) -> None:
    """Equal counts, missing, extremes and categories; moments equal to float tolerance."""
    assert actual.n_rows == expected.n_rows
    assert list(actual.columns) == list(expected.columns)
    for name, column in expected.columns.items():
        merged = actual.columns[name]
        if isinstance(column, NumericProfile) and isinstance(merged, NumericProfile):
            if column.mean is not None:
                assert merged.mean == pytest.approx(column.mean, rel=1e-9, abs=1e-9)
            assert merged.squared_deviations == pytest.approx(column.squared_deviations, 1e-9)
            merged = replace(merged, mean=column.mean, squared_deviations=column.squared_deviations)
        assert merged == column, name


def searchsorted_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The documented layout, written the obvious way."""
    index = np.searchsorted(edges, values, side="right")
    index[values == edges[-1]] = edges.size - 1
    return index


@pytest.mark.parametrize("size", [2, 3, 4, 5, 17, 1001])
def test_bin_index_matches_the_documented_layout(size: int) -> None:
    rng = np.random.default_rng(size)
    edges = np.unique(rng.normal(0, 30, size * 4).round(2))[:size]
    rounded = rng.normal(0, 40, 5000).round(2)
    values = np.concatenate([rounded, rng.normal(0, 40, 5000), edges, [-np.inf, np.inf]])
    assert edges.size == size
    assert np.array_equal(bin_index(values, edges), searchsorted_bins(values, edges))


def test_counts_layout_is_underflow_closed_left_bins_closed_last_bin_overflow() -> None:
    values = np.array([-np.inf, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, np.inf])
    assert bin_counts(values, (1.0, 2.0, 3.0)) == (2, 2, 3, 2)
    assert bin_counts(values, (2.0, 2.0)) == (4, 1, 4)
    assert bin_counts(values, ()) == (9,)


def test_quantile_edges_are_equal_frequency_with_exact_extremes() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    edges = quantile_edges(values, 100)
    assert (edges[0], edges[-1]) == (values.min(), values.max())
    assert len(edges) == 101
    counts = bin_counts(values, edges)
    assert counts[0] == counts[-1] == 0
    assert set(counts[1:-1]) == {100}
    assert quantile_edges(np.array([1.0, 1.0, 2.0, 2.0, 3.0]), 1000) == (1.0, 2.0, 3.0)


def test_large_references_take_edges_from_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binning, "QUANTILE_SAMPLE", 2_000)
    values = np.random.default_rng(1).exponential(size=50_000)
    edges = quantile_edges(values, 10)
    assert (edges[0], edges[-1]) == (values.min(), values.max())
    assert edges == quantile_edges(values, 10)
    shares = np.asarray(bin_counts(values, edges)[1:-1]) / values.size
    assert shares == pytest.approx(np.full(10, 0.1), abs=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merged_halves_equal_the_whole(seed: int) -> None:
    frame = mixed_frame(seed)
    reference = reference_profile(mixed_frame(seed + 100))
    cut = np.random.default_rng(seed).integers(1, len(frame))
    halves = [window_profile(reference, part) for part in (frame[:cut], frame[cut:])]
    whole = window_profile(reference, frame)
    assert_profiles_match(merge_profiles(*halves), whole)
    thirds = [
        window_profile(reference, part) for part in (frame[:999], frame[999:2500], frame[2500:])
    ]
    assert_profiles_match(merge_all(thirds), whole)
    assert_profiles_match(merge_all([whole]), whole)
    assert_profiles_match(merge_profiles(window_profile(reference, frame[:0]), whole), whole)


def test_merge_all_of_many_parts_equals_the_whole_and_the_pairwise_merges() -> None:
    frame = mixed_frame(16, rows=20_000)
    frame.loc[5000:6999, "income"] = np.nan  # parts with no finite values in a column
    reference = reference_profile(mixed_frame(116))
    cuts = [0, 1, 1, 700, 5000, 6000, 7000, 7001, *range(8000, 20_000, 1500), 20_000]
    parts = [window_profile(reference, frame[a:b]) for a, b in pairwise(cuts)]
    whole = window_profile(reference, frame)
    merged = merge_all(parts)
    assert_profiles_match(merged, whole)
    assert_profiles_match(merged, reduce(merge_profiles, parts))
    assert merge_all([whole]) is whole


def test_merged_windows_of_the_reference_rows_equal_the_reference() -> None:
    frame = mixed_frame(3)
    reference = reference_profile(frame)
    halves = [window_profile(reference, part) for part in (frame[:1234], frame[1234:])]
    assert_profiles_match(merge_profiles(*halves), reference)


def test_window_of_the_reference_rows_is_the_reference() -> None:
    frame = mixed_frame(4)
    reference = reference_profile(frame)
    window = window_profile(reference, frame)
    assert window == reference
    for name, column in reference.columns.items():
        assert np.array_equal(proportions(window.columns[name]), proportions(column))
        assert proportions(column).sum() == pytest.approx(1.0)


def test_kinds_follow_dtype_and_distinct_values() -> None:
    kinds = {
        name: column.kind for name, column in reference_profile(mixed_frame(5)).columns.items()
    }
    assert kinds == {
        "income": "numeric",
        "score": "numeric",
        "visits": "numeric",
        "plan": "categorical",
        "city": "categorical",
        "tier": "categorical",
        "active": "categorical",
    }
    frame = pd.DataFrame({"five": [1.5, 2.5, 3.5, 4.5, 5.5] * 3, "six": [*range(6)] * 2 + [0] * 3})
    frame["labels"] = pd.Categorical(["a", "b", "c"] * 5)
    kinds = {name: column.kind for name, column in reference_profile(frame).columns.items()}
    assert kinds == {"five": "categorical", "six": "numeric", "labels": "categorical"}


def test_kind_overrides() -> None:
    frame = mixed_frame(6)
    profile = reference_profile(frame, categorical=["visits"], numeric=["tier", "active"])
    assert profile.columns["visits"].kind == "categorical"
    assert len(profile.columns["visits"].frequencies) == frame["visits"].nunique()
    tier = profile.columns["tier"]
    assert isinstance(tier, NumericProfile)
    assert tier.edges == (0.0, 1.0, 2.0)
    assert profile.columns["active"].kind == "numeric"
    with pytest.raises(InvalidInput, match="both"):
        reference_profile(frame, categorical=["visits"], numeric=["visits"])
    with pytest.raises(InvalidInput, match="nowhere"):
        reference_profile(frame, numeric=["nowhere"])
    with pytest.raises(InvalidInput, match="list"):
        reference_profile(frame, categorical="visits")


def test_forced_numeric_text_counts_non_numbers_as_missing() -> None:
    frame = pd.DataFrame({"amount": ["1.5", "2", "x", None, "1e3"]})
    column = reference_profile(frame, numeric=["amount"]).columns["amount"]
    assert isinstance(column, NumericProfile)
    assert (column.count, column.missing, column.min, column.max) == (3, 2, 1.5, 1000.0)


def test_out_of_range_counts_values_and_infinities_outside_the_reference() -> None:
    reference = reference_profile(pd.DataFrame({"x": np.arange(100.0)}), bins=10)
    window = window_profile(reference, pd.DataFrame({"x": [-1.0, 0.0, 99.0, 99.5, np.inf, np.nan]}))
    column = window.columns["x"]
    assert isinstance(column, NumericProfile)
    assert (column.count, column.missing, column.infinite) == (5, 1, 1)
    assert out_of_range(column) == 3
    assert (column.counts[0], column.counts[-1]) == (1, 2)
    assert (column.min, column.max) == (-1.0, 99.5)
    assert out_of_range(reference.columns["x"]) == 0  # type: ignore[arg-type]


def test_moments_and_missing_rate_match_pandas() -> None:
    frame = mixed_frame(7)
    profile = reference_profile(frame)
    income = profile.columns["income"]
    assert isinstance(income, NumericProfile)
    assert income.mean == pytest.approx(frame["income"].mean())
    assert std(income) == pytest.approx(frame["income"].std())
    assert missing_rate(income) == pytest.approx(frame["income"].isna().mean())
    score = profile.columns["score"]
    finite = frame["score"][np.isfinite(frame["score"])]
    assert isinstance(score, NumericProfile)
    assert (score.mean, std(score)) == (pytest.approx(finite.mean()), pytest.approx(finite.std()))
    assert score.infinite == (~np.isfinite(frame["score"])).sum()


def test_unseen_categories_are_counted_and_named() -> None:
    reference = reference_profile(pd.DataFrame({"city": ["paris", "lyon", "paris", 1.0, 2] * 2}))
    window = window_profile(reference, pd.DataFrame({"city": ["paris", "rome", "rome", 1, "2", 3]}))
    column = window.columns["city"]
    assert isinstance(column, CategoricalProfile)
    assert column.frequencies == {"paris": 1, "1": 1, "2": 1, "lyon": 0}
    assert unseen_count(column) == 3
    assert unseen_categories(column) == {"rome": 2, "3": 1}
    assert proportions(column).tolist() == [1 / 6, 1 / 6, 1 / 6, 0.0, 0.5]


def test_reference_categories_are_capped_and_the_rest_merge_exactly() -> None:
    rng = np.random.default_rng(8)
    names = np.array([f"id{i:05d}" for i in range(3 * OTHERS_KEPT)])
    weights = 1 / np.arange(1, names.size + 1)
    frame = pd.DataFrame({"id": rng.choice(names, 5000, p=weights / weights.sum())})
    reference = reference_profile(frame, max_categories=10)
    column = reference.columns["id"]
    assert isinstance(column, CategoricalProfile)
    ranked = sorted(frame["id"].value_counts().items(), key=lambda item: (-item[1], item[0]))
    assert column.frequencies == dict(ranked[:10])
    assert list(column.others) == sorted(name for name, _ in ranked[10:])[:OTHERS_KEPT]
    window = window_profile(reference, frame)
    halves = [window_profile(reference, part) for part in (frame[:2000], frame[2000:])]
    assert merge_profiles(*halves) == window == reference
    tenths = [window_profile(reference, frame[i : i + 500]) for i in range(0, 5000, 500)]
    assert merge_all(tenths) == reference


def test_degenerate_frames_give_defined_profiles() -> None:
    empty = reference_profile(pd.DataFrame({"x": pd.Series([], dtype=float), "s": []}))
    assert empty.n_rows == 0
    assert all(column.count == 0 for column in empty.columns.values())
    window = window_profile(empty, pd.DataFrame({"x": [1.0, 2.0], "s": ["a", None]}))
    assert unseen_count(window.columns["s"]) == 1  # type: ignore[arg-type]
    assert reference_profile(pd.DataFrame()) == DatasetProfile(n_rows=0, columns={})
    forced = reference_profile(pd.DataFrame({"x": [np.nan, np.nan]}), numeric=["x"]).columns["x"]
    assert isinstance(forced, NumericProfile)
    assert (forced.edges, forced.counts, forced.missing, forced.mean) == ((), (0,), 2, None)
    assert std(forced) is None
    assert proportions(forced).tolist() == [0.0]
    assert missing_rate(forced) == 1.0


def test_constant_and_all_missing_columns() -> None:
    frame = pd.DataFrame({"c": [3.0] * 10, "m": [np.nan] * 10, "i": [np.inf] * 10})
    profile = reference_profile(frame, numeric=["c", "m", "i"])
    constant = profile.columns["c"]
    assert isinstance(constant, NumericProfile)
    assert (constant.edges, constant.counts, std(constant)) == ((3.0, 3.0), (0, 10, 0), 0.0)
    window = window_profile(profile, pd.DataFrame({"c": [2.0, 3.0, 4.0], "i": [1.0, np.inf, 0]}))
    assert window.columns["c"].counts == (1, 1, 1)  # type: ignore[union-attr]
    infinite = window.columns["i"]
    assert isinstance(infinite, NumericProfile)
    assert (infinite.counts, out_of_range(infinite), infinite.infinite) == ((3,), 3, 1)
    assert window.columns["m"].missing == 3


def test_windows_report_absent_columns_as_missing_and_ignore_extra_ones() -> None:
    reference = reference_profile(mixed_frame(9))
    window = window_profile(reference, pd.DataFrame({"income": [1.0, 2.0], "unknown": [1, 2]}))
    assert list(window.columns) == list(reference.columns)
    assert window.columns["income"].count == 2
    for name in ["score", "plan", "city", "tier"]:
        assert (window.columns[name].count, window.columns[name].missing) == (0, 2)


def test_mixed_object_columns_are_counted_as_text() -> None:
    values = [1, "1", 1.0, 2.5, True, None, np.nan, "x", ("a", 1), b"raw"]
    column = reference_profile(pd.DataFrame({"mixed": values})).columns["mixed"]
    assert isinstance(column, CategoricalProfile)
    assert (column.count, column.missing) == (8, 2)
    assert column.frequencies["1"] >= 2
    assert {"2.5", "x", "('a', 1)", "b'raw'"} <= set(column.frequencies)
    unhashable = pd.DataFrame({"tags": pd.Series([["a"], ["a"], {"k": 1}, None], dtype=object)})
    column = reference_profile(unhashable).columns["tags"]
    assert column.frequencies == {"['a']": 2, "{'k': 1}": 1}  # type: ignore[union-attr]
    assert column.missing == 1


def test_nullable_and_categorical_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, *range(10)], dtype="Int64"),
            "b": pd.array([True, None, *[False] * 10], dtype="boolean"),
            "s": pd.array(["a", None, *["b"] * 10], dtype="string"),
            "k": pd.Categorical(["x", None, *["y"] * 10]),
        }
    )
    profile = reference_profile(frame)
    assert [column.missing for column in profile.columns.values()] == [1, 1, 1, 1]
    assert profile.columns["n"].kind == "numeric"
    assert profile.columns["b"].frequencies == {"False": 10, "True": 1}  # type: ignore[union-attr]


def test_serialisation_round_trips_exactly_through_json() -> None:
    profile = reference_profile(mixed_frame(10))
    text = json.dumps(profile_to_dict(profile), allow_nan=False)
    assert profile_from_dict(json.loads(text)) == profile


def test_window_profiles_serialise_their_edges_as_the_reference_fingerprint() -> None:
    reference = reference_profile(mixed_frame(17))
    window = window_profile(reference, mixed_frame(18))
    compact = json.loads(json.dumps(profile_to_dict(window, reference=reference)))
    numeric = [column for column in compact["columns"] if column["kind"] == "numeric"]
    assert numeric and all("edges" not in column for column in numeric)
    assert len({column["edges_sha256"] for column in numeric}) == len(numeric)
    assert len(json.dumps(compact)) < len(json.dumps(profile_to_dict(window))) / 2
    restored = profile_from_dict(compact, reference=reference)
    assert restored == window
    assert restored.columns["income"].edges is reference.columns["income"].edges  # type: ignore[union-attr]
    assert profile_from_dict(profile_to_dict(window), reference=reference) == window
    with pytest.raises(InvalidInput, match="only a fingerprint"):
        profile_from_dict(compact)
    with pytest.raises(InvalidInput, match="other bin edges"):
        profile_from_dict(compact, reference=reference_profile(mixed_frame(19)))


def test_columns_off_the_reference_edges_keep_their_own_edges() -> None:
    reference = reference_profile(mixed_frame(20))
    other = reference_profile(mixed_frame(21))
    data = profile_to_dict(other, reference=reference)
    fingerprinted = [column["name"] for column in data["columns"] if "edges_sha256" in column]
    assert fingerprinted == ["visits"]  # integers 0 to 29 on both sides: the same edges
    assert profile_from_dict(data, reference=reference) == other
    assert not on_reference(other, reference)
    assert on_reference(window_profile(reference, mixed_frame(22)), reference)
    assert not on_reference(reference_profile(mixed_frame(20).drop(columns="city")), reference)
    recast = reference_profile(mixed_frame(20), categorical=["income"])
    assert not on_reference(recast, reference)


def test_serialised_twelve_columns_of_a_thousand_bins_stay_small() -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=20_000) * 10**i for i in range(12)})
    profile = reference_profile(frame)
    assert all(len(column.edges) == 1001 for column in profile.columns.values())  # type: ignore[union-attr]
    assert len(json.dumps(profile_to_dict(profile))) < 500_000


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.pop("columns"),
        lambda data: data.update(profile_format=99),
        lambda data: data["columns"][0].update(counts=[1, 2]),
        lambda data: data["columns"][0].update(counts=[data["columns"][0]["counts"]]),
        lambda data: data["columns"][0].update(counts=None),
        lambda data: data["columns"][0]["edges"].__setitem__(0, None),
        lambda data: data["columns"][0].update(kind="text"),
        lambda data: data["columns"][3].update(frequencies=[1]),
        lambda data: data["columns"].append(data["columns"][0]),
    ],
)
def test_malformed_dicts_are_refused(damage: object) -> None:
    data = profile_to_dict(reference_profile(mixed_frame(12)))
    damage(data)  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        profile_from_dict(data)


def test_mismatched_merges_are_refused() -> None:
    frame = mixed_frame(13)
    reference = reference_profile(frame)
    other = reference_profile(mixed_frame(14))
    with pytest.raises(InvalidInput, match="edges"):
        merge_profiles(reference, other)
    recast = reference_profile(frame, categorical=["income"])
    with pytest.raises(InvalidInput, match="categorical"):
        merge_profiles(reference, recast)
    fewer = reference_profile(frame.drop(columns="city"))
    with pytest.raises(InvalidInput, match="different columns"):
        merge_profiles(reference, fewer)
    plans = reference_profile(frame.assign(plan="basic"))
    assert isinstance(plans.columns["plan"], CategoricalProfile)
    with pytest.raises(InvalidInput, match="categories"):
        merge_profiles(window_profile(reference, frame), window_profile(plans, frame))
    with pytest.raises(InvalidInput, match="no profiles"):
        merge_all([])


def test_bad_frames_and_arguments_are_refused() -> None:
    with pytest.raises(InvalidInput, match="DataFrame"):
        reference_profile([[1, 2]])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="unique"):
        reference_profile(pd.DataFrame([[1, 2]], columns=[1, "1"]))
    with pytest.raises(InvalidInput, match="bins"):
        reference_profile(pd.DataFrame({"x": [1.0]}), bins=0)
    profile = reference_profile(pd.DataFrame({0: np.arange(10.0)}))
    assert list(profile.columns) == ["0"]
