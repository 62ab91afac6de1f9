"""The store contract: tracking behaviour that must hold on SQLite and PostgreSQL alike."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import mloop
from mloop.entities import Metric, RunStatus
from mloop.errors import Conflict, InvalidInput, NotFound


def test_experiment_is_created_once_and_counts_runs(client: mloop.Client) -> None:
    first = client.get_or_create_experiment("churn")
    assert client.get_or_create_experiment("churn") == first
    client.create_run("churn", "a")
    client.create_run("churn", "b")
    listed = {e.name: n for e, n in client.list_experiments()}
    assert listed == {"churn": 2}


def test_params_are_immutable(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf")
    client.log_params(run_id, {"n_estimators": 100, "model": "rf"})
    client.log_param(run_id, "n_estimators", 100)
    with pytest.raises(Conflict, match="n_estimators"):
        client.log_param(run_id, "n_estimators", 200)
    assert client.get_run(run_id).params == {"n_estimators": "100", "model": "rf"}


def test_batch_with_a_conflicting_param_writes_nothing(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf")
    client.log_param(run_id, "depth", 3)
    with pytest.raises(Conflict):
        client.log_batch(
            run_id, params={"fresh": 1, "depth": 4}, metrics={"f1": 0.5}, tags={"t": "x"}
        )
    run = client.get_run(run_id)
    assert run.params == {"depth": "3"}
    assert run.metrics == {}
    assert "t" not in run.tags
    assert client.get_metric_history(run_id, "f1") == []


def test_batch_with_an_invalid_metric_writes_nothing(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf")
    with pytest.raises(InvalidInput, match="finite"):
        client.log_batch(run_id, params={"a": 1}, metrics={"ok": 1.0, "bad": float("nan")})
    assert client.get_run(run_id).params == {}


def test_metric_history_keeps_every_step_and_latest_is_highest_step(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf")
    for step, value in [(0, 0.9), (2, 0.5), (1, 0.7), (2, 0.4)]:
        client.log_metric(run_id, "loss", value, step=step)
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.7), (2, 0.5), (2, 0.4)]
    assert all(m.timestamp > 0 for m in history)
    assert client.get_run(run_id).metrics == {"loss": 0.4}


def test_batch_of_metrics_is_one_transaction(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "rf")
    now = time.time()
    points = [Metric(f"m{i % 10}", float(i), i // 10, now) for i in range(1000)]
    client.log_batch(run_id, metrics=points)
    assert len(client.get_metric_history(run_id, "m3")) == 100
    assert client.get_run(run_id).metrics["m9"] == 999.0


def test_logging_to_an_unknown_run_is_not_found(client: mloop.Client) -> None:
    with pytest.raises(NotFound):
        client.log_metric("0" * 32, "f1", 0.5)
    with pytest.raises(NotFound):
        client.log_params("0" * 32, {"a": 1})


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


def _populate(client: mloop.Client) -> dict[str, str]:
    ids = {}
    for i, (model, f1) in enumerate([("rf", 0.61), ("gb", 0.72), ("lr", 0.55), ("rf", 0.40)]):
        run_id = client.create_run(
            "churn", f"{model}-{i}", tags={"team": "risk" if i % 2 else "growth"}
        )
        client.log_params(run_id, {"model": model, "depth": i})
        client.log_metrics(run_id, {"f1": f1, "accuracy": 0.8 + i / 100})
        ids[f"{model}-{i}"] = run_id
    client.create_run("other", "elsewhere")
    return ids


def test_search_runs_filters_and_orders(client: mloop.Client) -> None:
    ids = _populate(client)
    found = client.search_runs("churn", "metrics.f1 > 0.5 and params.model = 'rf'")
    assert [r.id for r in found] == [ids["rf-0"]]
    ordered = client.search_runs("churn", "metrics.f1 >= 0.5", order_by=["metrics.f1 DESC"])
    assert [r.name for r in ordered] == ["gb-1", "rf-0", "lr-2"]
    either = client.search_runs(
        "churn", "params.model = 'lr' or (tags.team = 'risk' and metrics.f1 < 0.5)"
    )
    assert {r.name for r in either} == {"lr-2", "rf-3"}
    assert {r.name for r in client.search_runs("churn", "params.model IN ('gb', 'lr')")} == {
        "gb-1",
        "lr-2",
    }
    assert {r.name for r in client.search_runs("churn", "name LIKE 'rf-%'")} == {"rf-0", "rf-3"}
    assert len(client.search_runs("churn", "params.model != 'rf'")) == 2
    assert len(client.search_runs("churn", "attributes.status = 'RUNNING'", max_results=3)) == 3
    assert len(client.search_runs(None)) == 5
    by_param = client.search_runs("churn", order_by=["params.model ASC", "metrics.f1 DESC"])
    assert [r.name for r in by_param] == ["gb-1", "lr-2", "rf-0", "rf-3"]


def test_search_runs_returns_a_frame(store_url: str) -> None:
    _populate(mloop.Client(store_url))
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
def test_malformed_filter_says_where(client: mloop.Client, text: str, where: str) -> None:
    client.create_run("churn", "a")
    with pytest.raises(InvalidInput, match="malformed filter") as caught:
        client.search_runs("churn", text)
    assert where in str(caught.value)


def test_search_of_unknown_experiment_is_not_found(client: mloop.Client) -> None:
    with pytest.raises(NotFound, match="nope"):
        client.search_runs("nope")


def test_metrics_from_numpy_scalars_are_accepted(client: mloop.Client) -> None:
    run_id = client.create_run("churn", "np")
    client.log_metrics(run_id, {"f1": np.float32(0.5), "n": np.int64(3)})
    assert client.get_run(run_id).metrics == {"f1": 0.5, "n": 3.0}
