"""The store contract: tracking behaviour that must hold on every store implementation.

Tests of the store itself take ``store``; tests of what the tracking service adds (validation,
dataset fingerprints, the fluent API) take ``client``. Both follow every store in conftest.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import mloop
from mloop.entities import Metric, NewRun, RunBatch, RunQuery, RunStatus
from mloop.errors import Conflict, InvalidInput, NotFound
from mloop.store import Store


def new_run(store: Store, name: str = "rf", experiment: str = "churn", **tags: str) -> str:
    """A RUNNING run created on the store itself."""
    experiment_id = store.runs.get_or_create_experiment(experiment).id
    return store.runs.create_run(NewRun(experiment_id, name, "tester", tags=tags))


def test_experiment_is_created_once_and_counts_runs(store: Store) -> None:
    first = store.runs.get_or_create_experiment("churn")
    assert store.runs.get_or_create_experiment("churn") == first
    assert store.runs.get_experiment("churn") == first
    new_run(store, "a")
    new_run(store, "b")
    listed = {e.name: n for e, n in store.runs.list_experiments()}
    assert listed == {"churn": 2}
    with pytest.raises(NotFound, match="nope"):
        store.runs.get_experiment("nope")


def test_params_are_immutable(store: Store) -> None:
    run_id = new_run(store)
    store.runs.log_batch(run_id, RunBatch(params={"n_estimators": "100", "model": "rf"}))
    store.runs.log_batch(run_id, RunBatch(params={"n_estimators": "100"}))
    with pytest.raises(Conflict, match="n_estimators"):
        store.runs.log_batch(run_id, RunBatch(params={"n_estimators": "200"}))
    assert store.runs.get_run(run_id).params == {"n_estimators": "100", "model": "rf"}


def test_batch_with_a_conflicting_param_writes_nothing(store: Store) -> None:
    run_id = new_run(store)
    store.runs.log_batch(run_id, RunBatch(params={"depth": "3"}))
    with pytest.raises(Conflict):
        store.runs.log_batch(
            run_id,
            RunBatch(
                params={"fresh": "1", "depth": "4"},
                metrics=[Metric("f1", 0.5, 0, time.time())],
                tags={"t": "x"},
            ),
        )
    run = store.runs.get_run(run_id)
    assert run.params == {"depth": "3"}
    assert run.metrics == {}
    assert "t" not in run.tags
    assert store.runs.get_metric_history(run_id, "f1") == []


def test_a_run_is_created_in_an_experiment_given_as_an_object(client: mloop.Client) -> None:
    experiment = client.get_or_create_experiment("objects")
    run_id = client.create_run(experiment, "by-object")
    assert client.get_run(run_id).experiment_id == experiment.id


def test_batch_with_an_invalid_metric_writes_nothing(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf")
    with pytest.raises(InvalidInput, match="finite"):
        client.log_batch(run_id, params={"a": 1}, metrics={"ok": 1.0, "bad": float("nan")})
    assert client.get_run(run_id).params == {}


def test_metric_history_keeps_every_step_and_latest_is_highest_step(store: Store) -> None:
    run_id = new_run(store)
    for index, (step, value) in enumerate([(0, 0.9), (2, 0.5), (1, 0.7), (2, 0.4)]):
        store.runs.log_batch(
            run_id, RunBatch(metrics=[Metric("loss", value, step, 1000.0 + index)])
        )
    history = store.runs.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.7), (2, 0.5), (2, 0.4)]
    assert all(m.timestamp >= 1000.0 for m in history)
    assert store.runs.get_run(run_id).metrics == {"loss": 0.4}


def test_a_sampled_history_is_short_ordered_and_keeps_its_extremes(store: Store) -> None:
    run_id = new_run(store)
    values = np.sin(np.arange(5000) / 80.0)
    values[1234], values[4321] = 7.0, -7.0
    points = [Metric("loss", float(v), step, 1.0) for step, v in enumerate(values)]
    store.runs.log_batch(run_id, RunBatch(metrics=points))
    sampled, total = store.runs.sample_metric_history(run_id, "loss", 100)
    steps = [m.step for m in sampled]
    assert total == 5000 and 2 <= len(sampled) <= 100 and steps == sorted(steps)
    assert max(m.value for m in sampled) == 7.0 and min(m.value for m in sampled) == -7.0
    whole, count = store.runs.sample_metric_history(run_id, "loss", 10_000)
    assert count == 5000 and whole == store.runs.get_metric_history(run_id, "loss")
    with pytest.raises(NotFound):
        store.runs.sample_metric_history("0" * 32, "loss", 100)


def test_service_stamps_metric_times(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf")
    client.log_metric(run_id, "loss", 0.5, step=0)
    assert client.get_metric_history(run_id, "loss")[0].timestamp > 0


def test_batch_of_metrics_is_one_transaction(store: Store) -> None:
    run_id = new_run(store)
    now = time.time()
    points = [Metric(f"m{i % 10}", float(i), i // 10, now) for i in range(1000)]
    store.runs.log_batch(run_id, RunBatch(metrics=points))
    assert len(store.runs.get_metric_history(run_id, "m3")) == 100
    assert store.runs.get_run(run_id).metrics["m9"] == 999.0


def test_logging_to_an_unknown_run_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.runs.log_batch("0" * 32, RunBatch(metrics=[Metric("f1", 0.5, 0, time.time())]))
    with pytest.raises(NotFound):
        store.runs.log_batch("0" * 32, RunBatch(params={"a": "1"}))
    with pytest.raises(NotFound):
        store.runs.get_run("0" * 32)


def test_fluent_run_finishes_or_fails_and_nests(store_url: str) -> None:
    with mloop.start_run(experiment="churn", name="parent") as parent:
        parent.log_metrics({"f1": 0.61, "accuracy": 0.84}, step=0)
        with mloop.start_run(name="child", nested=True) as child:
            child.log_param("fold", 1)
    with pytest.raises(RuntimeError), mloop.start_run(experiment="churn", name="broken") as broken:
        raise RuntimeError("training crashed")
    client = mloop.Client(store_url)
    assert client.get_run(parent.id).status is RunStatus.FINISHED
    assert client.get_run(child.id).parent_run_id == parent.id
    assert client.get_run(child.id).experiment_id == client.get_run(parent.id).experiment_id
    assert client.get_run(broken.id).status is RunStatus.FAILED
    assert mloop.active_run() is None


def test_fluent_log_dataset_stores_what_retraining_reads_back(store_url: str) -> None:
    features = pd.DataFrame({"age": [30, 40, 50], "region": ["N", "S", "E"]})
    labels = pd.Series([0, 1, 0], name="churn")
    with mloop.start_run(experiment="churn") as run:
        kept = run.log_dataset("train", features, labels, store=True)
        mloop.log_dataset("holdout", features.tail(2), labels.tail(2), store=True)
        mloop.log_dataset("seen", features)
    tracking = mloop.Client(store_url).tracking
    assert {d.name: d.digest for d in tracking.list_datasets(run.id)}["train"] == kept.digest
    read_features, read_labels = tracking.load_dataset(run.id, "train")
    pd.testing.assert_frame_equal(read_features, features)
    pd.testing.assert_series_equal(read_labels, labels)
    assert len(tracking.load_dataset(run.id, "holdout")[0]) == 2
    with pytest.raises(NotFound, match="stored no dataset 'seen'"):
        tracking.load_dataset(run.id, "seen")


def test_second_top_level_run_needs_nested(store_url: str) -> None:
    with mloop.start_run(experiment="churn"), pytest.raises(InvalidInput, match="nested"):
        mloop.start_run(experiment="churn")


def test_tags_overwrite_and_dataset_fingerprint(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf", tags={"team": "risk"})
    client.set_tags(run_id, {"team": "growth", "stage": "dev"})
    assert client.get_run(run_id).tags["team"] == "growth"
    frame = pd.DataFrame({"age": [30, 40, 50], "region": ["N", "S", "E"]})
    labels = pd.Series([0, 1, 0], name="churn")
    first = client.log_dataset(run_id, "train", frame, labels)
    assert first.n_rows == 3
    assert first.schema == {
        "age": "int64",
        "region": str(frame["region"].dtype),
        "target.churn": "int64",
    }
    assert client.log_dataset(run_id, "train", frame.copy(), labels.copy()).digest == first.digest
    changed = frame.assign(age=[30, 40, 51])
    with pytest.raises(Conflict):
        client.log_dataset(run_id, "train", changed, labels)
    other = client.log_dataset(run_id, "changed", changed, labels)
    assert other.digest != first.digest


def _populate(store: Store) -> dict[str, str]:
    ids = {}
    now = time.time()
    for i, (model, f1) in enumerate([("rf", 0.61), ("gb", 0.72), ("lr", 0.55), ("rf", 0.40)]):
        run_id = new_run(store, f"{model}-{i}", team="risk" if i % 2 else "growth")
        metrics = [Metric("f1", f1, 0, now), Metric("accuracy", 0.8 + i / 100, 0, now)]
        store.runs.log_batch(
            run_id, RunBatch(params={"model": model, "depth": str(i)}, metrics=metrics)
        )
        ids[f"{model}-{i}"] = run_id
    new_run(store, "elsewhere", experiment="other")
    return ids


def test_search_runs_filters_and_orders(store: Store) -> None:
    ids = _populate(store)
    churn = [store.runs.get_experiment("churn").id]

    def names(filter_string: str | None = None, *order_by: str, limit: int = 1000) -> list[str]:
        found = store.runs.search_runs(RunQuery(churn, filter_string, order_by, limit))
        return [r.name for r in found]

    found = store.runs.search_runs(RunQuery(churn, "metrics.f1 > 0.5 and params.model = 'rf'"))
    assert [r.id for r in found] == [ids["rf-0"]]
    assert names("metrics.f1 >= 0.5", "metrics.f1 DESC") == ["gb-1", "rf-0", "lr-2"]
    either = names("params.model = 'lr' or (tags.team = 'risk' and metrics.f1 < 0.5)")
    assert set(either) == {"lr-2", "rf-3"}
    assert set(names("params.model IN ('gb', 'lr')")) == {"gb-1", "lr-2"}
    assert set(names("name LIKE 'rf-%'")) == {"rf-0", "rf-3"}
    assert len(names("params.model != 'rf'")) == 2
    assert len(names("attributes.status = 'RUNNING'", limit=3)) == 3
    everything = [e.id for e, _ in store.runs.list_experiments()]
    assert len(store.runs.search_runs(RunQuery(everything))) == 5
    assert names(None, "params.model ASC", "metrics.f1 DESC") == ["gb-1", "lr-2", "rf-0", "rf-3"]


def test_search_sorts_runs_without_the_key_last_and_pages_by_offset(store: Store) -> None:
    ids = _populate(store)
    bare = new_run(store, "bare")  # no metrics, no params
    churn = [store.runs.get_experiment("churn").id]

    def names(filter_string: str | None, order: str, limit: int = 1000, offset: int = 0) -> list:
        query = RunQuery(churn, filter_string, [order], limit, offset)
        return [r.name for r in store.runs.search_runs(query)]

    assert names(None, "metrics.f1 DESC") == ["gb-1", "rf-0", "lr-2", "rf-3", "bare"]
    assert names(None, "metrics.f1 ASC")[:4] == ["rf-3", "lr-2", "rf-0", "gb-1"]
    assert names(None, "metrics.f1 ASC")[-1] == "bare"
    assert names("metrics.f1 > 0.5 or metrics.f1 < 0.5", "metrics.f1 DESC")[-1] == "rf-3"
    assert names("params.model = 'rf' or metrics.f1 > 0.7", "metrics.f1 DESC") == [
        "gb-1",
        "rf-0",
        "rf-3",
    ]
    pages = [names(None, "metrics.f1 DESC", 2, offset) for offset in (0, 2, 4, 6)]
    assert pages == [["gb-1", "rf-0"], ["lr-2", "rf-3"], ["bare"], []]
    assert store.runs.get_run(bare).metrics == {} and ids


def test_client_searches_every_experiment_by_default(client: mloop.Client) -> None:
    client.create_run("churn", "a")
    client.create_run("other", "b")
    assert {r.name for r in client.search_runs(None)} == {"a", "b"}


def test_search_runs_returns_a_frame(store: Store) -> None:
    _populate(store)
    frame = mloop.search_runs(
        experiment="churn", filter="metrics.f1 > 0.5", order_by=["metrics.f1 DESC"]
    )
    assert list(frame["name"]) == ["gb-1", "rf-0", "lr-2"]
    assert list(frame["metrics.f1"]) == [0.72, 0.61, 0.55]
    assert list(frame["params.model"]) == ["gb", "rf", "lr"]
    assert {"run_id", "status", "start_time", "tags.team"} <= set(frame.columns)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("metrics.f1 >", "position 12"),
        ("metrics.f1 > 0.5 and", "position 20"),
        ("metrics.f1 > 'high'", "compares with numbers"),
        ("params.model > 'a'", "are text"),
        ("foo.bar = 1", "unknown field group"),
        ("metrics.f1 = 0.5 params.x = 'a'", "position 17"),
        ("(metrics.f1 = 0.5", "expected ')'"),
        ("metrics.f1 ~ 3", "unexpected character"),
    ],
)
def test_malformed_filter_says_where(store: Store, text: str, where: str) -> None:
    run_id = new_run(store, "a")
    experiment_id = store.runs.get_run(run_id).experiment_id
    with pytest.raises(InvalidInput, match="malformed filter") as caught:
        store.runs.search_runs(RunQuery([experiment_id], text))
    assert where in str(caught.value)


def test_search_of_unknown_experiment_is_not_found(client: mloop.Client) -> None:
    with pytest.raises(NotFound, match="nope"):
        client.search_runs("nope")


def test_metrics_from_numpy_scalars_are_accepted(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "np")
    client.log_metrics(run_id, {"f1": np.float32(0.5), "n": np.int64(3)})
    assert client.get_run(run_id).metrics == {"f1": 0.5, "n": 3.0}
