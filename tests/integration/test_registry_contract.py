"""The registry contract on SQLite and PostgreSQL: versions, aliases, audit, rollback, lineage."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import mloop
from mloop.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.normal(40, 10, 200), "balance": rng.lognormal(8, 1, 200)})


def _trained_run(client: mloop.Client, frame: pd.DataFrame, c: float = 1.0) -> str:
    labels = (frame["age"] > 40).astype(int)
    run_id = client.create_run("churn", f"lr-{c}")
    client.log_params(run_id, {"C": c})
    client.log_metrics(run_id, {"f1": 0.5 + c / 10})
    client.log_dataset(run_id, "train", frame, labels)
    client.log_model(run_id, LogisticRegression(C=c).fit(frame, labels), input_example=frame.head())
    client.end_run(run_id)
    return run_id


def test_versions_count_up_and_load_by_version_and_alias(
    client: mloop.Client, frame: pd.DataFrame
) -> None:
    runs = [_trained_run(client, frame, c) for c in (0.1, 1.0, 10.0)]
    versions = [client.register_model(run_id, "churn").version for run_id in runs]
    assert versions == [1, 2, 3]
    client.set_alias("churn", "champion", 3, reason="best f1")
    by_alias = mloop.load_model("models:/churn@champion")
    by_version = mloop.load_model("models:/churn/3")
    assert by_alias.version == 3
    assert np.array_equal(by_alias.predict(frame), by_version.predict(frame))
    assert by_alias.predict_proba(frame).shape == (200, 2)
    assert [v.version for v in client.list_model_versions("churn")] == [3, 2, 1]
    assert client.get_model_version("churn", 3).aliases == ("champion",)


def test_regressor_has_no_predict_proba(client: mloop.Client, frame: pd.DataFrame) -> None:
    run_id = client.create_run("prices", "ols")
    client.log_model(run_id, LinearRegression().fit(frame[["age"]], frame["balance"]))
    client.register_model(run_id, "prices")
    loaded = client.load_model("models:/prices/1")
    assert not hasattr(loaded, "predict_proba")
    assert loaded.predict(frame[["age"]]).shape == (200,)


def test_alias_moves_are_audited_and_roll_back(client: mloop.Client, frame: pd.DataFrame) -> None:
    for c in (0.1, 1.0, 10.0):
        client.register_model(_trained_run(client, frame, c), "churn")
    client.set_alias("churn", "champion", 1, reason="first model")
    client.set_alias("churn", "champion", 2, reason="better recall")
    client.set_alias("churn", "champion", 3, reason="better f1")
    back = client.rollback("churn", "champion", reason="v3 misbehaves")
    assert (back.from_version, back.to_version, back.action) == (3, 2, "rollback")
    assert client.get_alias("churn", "champion") == 2
    client.rollback("churn", reason="v2 too")
    assert client.get_alias("churn", "champion") == 1
    with pytest.raises(Conflict, match="roll back"):
        client.rollback("churn", reason="nothing left")
    history = client.alias_history("churn", "champion")
    assert [(e.from_version, e.to_version, e.action) for e in history] == [
        (None, 1, "set"),
        (1, 2, "set"),
        (2, 3, "set"),
        (3, 2, "rollback"),
        (2, 1, "rollback"),
    ]
    assert {e.user for e in history} == {"tester"}
    assert history[2].reason == "better f1"
    assert history[0].at <= history[-1].at


def test_failed_alias_moves_write_nothing(client: mloop.Client, frame: pd.DataFrame) -> None:
    client.register_model(_trained_run(client, frame), "churn")
    with pytest.raises(NotFound, match="no version 7"):
        client.set_alias("churn", "champion", 7)
    with pytest.raises(InvalidInput):
        client.set_alias("churn", "3rd", 1)
    with pytest.raises(NotFound):
        client.set_alias("unknown", "champion", 1)
    assert client.alias_history("churn") == []
    with pytest.raises(NotFound):
        client.get_alias("churn", "champion")


def test_delete_alias_is_audited(client: mloop.Client, frame: pd.DataFrame) -> None:
    client.register_model(_trained_run(client, frame), "churn")
    client.set_alias("churn", "challenger", 1)
    client.delete_alias("churn", "challenger", reason="experiment over")
    with pytest.raises(NotFound):
        client.get_alias("churn", "challenger")
    assert client.alias_history("churn")[-1].action == "delete"


def test_lineage_reaches_params_metrics_datasets_and_model_file(
    client: mloop.Client, frame: pd.DataFrame
) -> None:
    run_id = _trained_run(client, frame, 1.0)
    client.register_model(run_id, "churn", description="first")
    lineage = client.lineage("churn", 1)
    assert lineage["run"]["id"] == run_id
    assert lineage["params"] == {"C": "1.0"}
    assert lineage["metrics"] == {"f1": 0.6}
    assert lineage["datasets"][0]["n_rows"] == 200
    assert lineage["model_file"]["format"] == "skops"
    assert "scikit-learn" in lineage["model_file"]["environment"]
    names = [c["name"] for c in lineage["model_file"]["signature"]["inputs"]]
    assert names == ["age", "balance"]


def test_register_unknown_run_or_model_name(client: mloop.Client, frame: pd.DataFrame) -> None:
    run_id = client.create_run("churn", "empty")
    with pytest.raises(NotFound, match="no model"):
        client.register_model(run_id, "churn")
    with pytest.raises(InvalidInput):
        client.register_model(_trained_run(client, frame), "bad name/with slash")
    with pytest.raises(InvalidInput, match="models:/"):
        client.load_model("churn@champion")


def _race(count: int, action: Callable[[], int]) -> list[int]:
    """Run ``action`` in ``count`` threads released at once; return results, fail on errors."""
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def worker() -> None:
        start.wait(timeout=30)
        try:
            results.append(action())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def test_concurrent_registrations_get_distinct_versions(
    client: mloop.Client, frame: pd.DataFrame
) -> None:
    run_id = _trained_run(client, frame)
    versions = _race(
        8, lambda: mloop.Client(client.store_url).register_model(run_id, "churn").version
    )
    assert sorted(versions) == list(range(1, 9))


def test_concurrent_first_use_of_an_experiment(store_url: str) -> None:
    ids = _race(6, lambda: mloop.Client(store_url).get_or_create_experiment("raced").id)
    assert len(ids) == 6
    assert len(set(ids)) == 1


def test_setting_the_same_version_twice_does_not_trap_rollback(
    client: mloop.Client, frame: pd.DataFrame
) -> None:
    for c in (0.1, 1.0):
        client.register_model(_trained_run(client, frame, c), "churn")
    client.set_alias("churn", "champion", 1)
    client.set_alias("churn", "champion", 2)
    client.set_alias("churn", "champion", 2, reason="confirmed")
    assert client.rollback("churn", reason="back").to_version == 1
