"""Faults seen in peer tools, checked on SQLite and PostgreSQL: names, literals, steps,
racing alias moves, input-signature changes, unsafe model files and absolute artifact names."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from typer.testing import CliRunner

import mloop
from mloop.cli import app
from mloop.entities import AliasEvent
from mloop.errors import Conflict, InvalidInput, NotFound, UnsafeModel
from mloop.services.registry import input_changes

NAMES = ["avg model score", "a.b", "it's", "größe", "with`tick", "延迟 p99"]
CITIES = ["München", "Zürich", "東京", "São Paulo", 'it\'s "quoted" \\ here']


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def cli(client: mloop.Client, *args: str) -> Any:
    runner = CliRunner(env={"COLUMNS": "250", "MLOOP_USER": "tester"})
    result = runner.invoke(
        app, ["--store", client.store_url, "--artifacts", client.artifacts.url, *args]
    )
    return result


@pytest.mark.parametrize("name", NAMES)
def test_every_logged_name_filters_and_sorts(client: mloop.Client, name: str) -> None:
    ids = []
    for score in (0.2, 0.7, 0.9):
        run_id = client.create_run("names", f"s{score}")
        client.log_batch(
            run_id, params={name: f"p{score}"}, metrics={name: score}, tags={name: f"t{score}"}
        )
        ids.append(run_id)
    key = quoted(name)
    found = client.search_runs("names", f"metrics.{key} > 0.5", order_by=[f"metrics.{key} DESC"])
    assert [r.id for r in found] == [ids[2], ids[1]]
    assert [r.id for r in client.search_runs("names", f"params.{key} = 'p0.2'")] == [ids[0]]
    assert [r.id for r in client.search_runs("names", f"tags.{key} LIKE 't0.9'")] == [ids[2]]
    ordered = client.search_runs("names", order_by=[f"params.{key} ASC"])
    assert [r.id for r in ordered] == ids
    by_name = client.search_runs("names", "attributes.`name` = 's0.7'", order_by=["`name` DESC"])
    assert [r.id for r in by_name] == [ids[1]]


def test_unicode_literals_round_trip_through_client_and_cli(client: mloop.Client) -> None:
    ids = {}
    for city in CITIES:
        ids[city] = client.create_run("cities", city)
        client.log_params(ids[city], {"city": city})
    for city in CITIES:
        equal = client.search_runs("cities", f"params.city = {literal(city)}")
        assert [r.id for r in equal] == [ids[city]]
        other = client.search_runs("cities", f"params.city != {literal(city)}")
        assert ids[city] not in {r.id for r in other}
        assert len(other) == len(CITIES) - 1
        prefix = literal(city[:3] + "%")
        assert ids[city] in {
            r.id for r in client.search_runs("cities", f"params.city LIKE {prefix}")
        }
        assert ids[city] in {
            r.id for r in client.search_runs("cities", f"params.city ILIKE {prefix}")
        }
        listed = client.search_runs("cities", f"params.city IN ({literal(city)}, 'nowhere')")
        assert [r.id for r in listed] == [ids[city]]
        result = cli(client, "runs", "ls", "--filter", f"params.city = {literal(city)}", "--json")
        assert result.exit_code == 0, result.output
        assert [row["run_id"] for row in json.loads(result.stdout)] == [ids[city]]


@pytest.mark.parametrize(
    "step", [np.int32(3), np.int64(2**40), np.uint8(7), np.int16(-2), 2**63 - 1, -(2**63)]
)
def test_integral_steps_of_any_type_are_stored(client: mloop.Client, step: Any) -> None:
    run_id = client.create_run("steps")
    client.log_metric(run_id, "loss", 0.5, step=step)
    client.log_metrics(run_id, {"acc": 0.9}, step=step)
    assert [p.step for p in client.get_metric_history(run_id, "loss")] == [int(step)]
    assert type(client.get_metric_history(run_id, "acc")[0].step) is int


@pytest.mark.parametrize(
    "step", [2**63, -(2**63) - 1, np.uint64(2**64 - 1), True, np.bool_(False), 2.0, np.float32(1)]
)
def test_steps_that_are_not_64_bit_integers_are_refused(client: mloop.Client, step: Any) -> None:
    run_id = client.create_run("steps")
    with pytest.raises(InvalidInput, match="step"):
        client.log_metric(run_id, "loss", 0.5, step=step)
    with pytest.raises(InvalidInput, match="step"):
        client.log_metrics(run_id, {"loss": 0.5}, step=step)
    assert client.get_metric_history(run_id, "loss") == []


def _frame(columns: dict[str, str]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({n: rng.normal(40, 10, 60).astype(t) for n, t in columns.items()})


def _version(client: mloop.Client, columns: dict[str, str], name: str = "churn") -> int:
    frame = _frame(columns)
    labels = (frame.iloc[:, 0] > 40).astype(int)
    run_id = client.create_run("churn")
    client.log_model(run_id, LogisticRegression().fit(frame, labels), input_example=frame)
    return client.register_model(run_id, name).version


SAME = {"age": "float64", "balance": "float64"}


def _versions(client: mloop.Client, count: int) -> None:
    for version in range(1, count + 1):
        _version(client, SAME)
        client.set_alias("churn", "champion", version)


def _race(count: int, action: Callable[[], AliasEvent]) -> tuple[list[AliasEvent], list[str]]:
    moved: list[AliasEvent] = []
    refused: list[str] = []
    start = threading.Barrier(count)

    def worker() -> None:
        start.wait(timeout=30)
        try:
            moved.append(action())
        except Conflict as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return moved, refused


def _assert_consistent(history: list[AliasEvent]) -> None:
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version
    assert all(e.from_version != e.to_version for e in history)


def test_concurrent_rollbacks_walk_back_one_version_each(client: mloop.Client) -> None:
    _versions(client, 5)
    url = client.store_url
    moved, refused = _race(8, lambda: mloop.Client(url).rollback("churn", reason="race"))
    history = client.alias_history("churn", "champion")
    _assert_consistent(history)
    rollbacks = [(e.from_version, e.to_version) for e in history if e.action == "rollback"]
    assert rollbacks == [(5, 4), (4, 3), (3, 2), (2, 1)]
    assert len(moved) == 4
    assert all("roll back" in message for message in refused)
    assert client.get_alias("churn", "champion") == 1


def test_concurrent_promotions_keep_the_history_a_chain(client: mloop.Client) -> None:
    _versions(client, 3)
    url = client.store_url
    targets = iter([1, 2, 1, 2, 3, 1])
    lock = threading.Lock()

    def promote() -> AliasEvent:
        with lock:
            version = next(targets)
        return mloop.Client(url).set_alias("churn", "champion", version)

    _race(6, promote)
    _assert_consistent(client.alias_history("churn", "champion"))


def test_rollback_to_a_named_version(client: mloop.Client) -> None:
    _versions(client, 4)
    event = client.rollback("churn", "champion", to=np.int64(2), reason="v3 and v4 drift")
    assert (event.from_version, event.to_version, event.action) == (4, 2, "rollback")
    assert client.rollback("churn", reason="further").to_version == 1
    with pytest.raises(Conflict, match="already points to version 1"):
        client.rollback("churn", to=1)
    with pytest.raises(NotFound, match="no version 9"):
        client.rollback("churn", to=9)
    with pytest.raises(InvalidInput, match="to"):
        client.rollback("churn", to=2.0)  # type: ignore[arg-type]
    result = cli(client, "models", "rollback", "churn", "--to", "3", "--reason", "back to 3")
    assert result.exit_code == 0, result.output
    history = client.alias_history("churn", "champion")
    assert (history[-1].from_version, history[-1].to_version, history[-1].action) == (
        1,
        3,
        "rollback",
    )
    _assert_consistent(history)


def test_setting_the_held_version_is_a_no_op(client: mloop.Client) -> None:
    _versions(client, 2)
    before = client.alias_history("churn", "champion")
    for version in (2, np.int32(2)):
        assert client.set_alias("churn", "champion", version, reason="again") == before[-1]
    assert client.alias_history("churn", "champion") == before
    with pytest.raises(InvalidInput, match="version"):
        client.set_alias("churn", "champion", 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("columns", "difference"),
    [
        ({**SAME, "tenure": "float64"}, "added 'tenure'"),
        ({"age": "float64"}, "removed 'balance'"),
        ({"age": "int64", "balance": "float64"}, "retyped 'age' (float64 -> int64)"),
    ],
)
def test_promotion_to_other_inputs_needs_consent(
    client: mloop.Client, columns: dict[str, str], difference: str
) -> None:
    _version(client, SAME)
    client.set_alias("churn", "champion", 1)
    _version(client, columns)
    with pytest.raises(Conflict, match=difference.replace("(", r"\(").replace(")", r"\)")):
        client.set_alias("churn", "champion", 2)
    assert client.get_alias("churn", "champion") == 1
    assert len(client.alias_history("churn", "champion")) == 1
    moved = client.set_alias("churn", "champion", 2, reason="new", allow_schema_change=True)
    assert difference in moved.reason
    assert moved.reason.startswith("new")
    with pytest.raises(Conflict, match="allow_schema_change"):
        client.rollback("churn")
    result = cli(client, "models", "rollback", "churn", "-r", "x", "--allow-schema-change")
    assert result.exit_code == 0, result.output
    assert difference.split(" (")[0].split("'")[1] in client.alias_history("churn")[-1].reason


def test_promote_cli_refuses_then_allows_a_schema_change(client: mloop.Client) -> None:
    _version(client, SAME)
    client.set_alias("churn", "champion", 1)
    _version(client, {"age": "float64"})
    refused = cli(client, "models", "promote", "churn", "2", "--reason", "r")
    assert refused.exit_code != 0
    allowed = cli(client, "models", "promote", "churn", "2", "-r", "r", "--allow-schema-change")
    assert allowed.exit_code == 0, allowed.output
    assert client.get_alias("churn", "champion") == 2


def test_input_changes_compares_stored_signature_dicts() -> None:
    old = {"inputs": [{"name": "a", "dtype": "int64"}, {"name": "b", "dtype": "object"}]}
    new = {"inputs": [{"name": "a", "type": "float64"}, {"name": "c", "type": "object"}]}
    assert input_changes(old, new) == [
        "added 'c' (object)",
        "removed 'b' (object)",
        "retyped 'a' (int64 -> float64)",
    ]
    assert input_changes(old, old) == []
    assert input_changes({}, new) == []
    assert input_changes(old, {"inputs": []}) == []


class Thresholder(ClassifierMixin, BaseEstimator):
    """A model type no trust list names."""

    def fit(self, x: Any, y: Any) -> Thresholder:
        self.cut_ = float(np.median(np.asarray(x)[:, 0]))
        return self

    def predict(self, x: Any) -> np.ndarray:
        return (np.asarray(x)[:, 0] > self.cut_).astype(int)


def double(x: Any) -> Any:
    return x * 2


def _untrusted_models() -> list[tuple[Any, str]]:
    frame = _frame(SAME)
    labels = (frame["age"] > 40).astype(int)
    return [
        (Thresholder().fit(frame, labels), "Thresholder"),
        (
            make_pipeline(FunctionTransformer(double), LogisticRegression()).fit(frame, labels),
            "double",
        ),
        (make_pipeline(StandardScaler(), Thresholder()).fit(frame, labels), "Thresholder"),
    ]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_models_that_can_never_load_are_refused_at_save(
    client: mloop.Client, index: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, type_name = _untrusted_models()[index]
    run_id = client.create_run("unsafe")
    with pytest.raises(UnsafeModel, match=f"{type_name}.*MLOOP_TRUSTED_TYPES"):
        client.log_model(run_id, model)
    with pytest.raises(NotFound):
        client.get_logged_model(run_id)
    assert client.list_artifacts(run_id) == []
    assert not list(Path(client.artifacts_url).glob("blobs/*/*"))
    monkeypatch.setenv("MLOOP_TRUSTED_TYPES", f"{__name__}.")
    trusting = mloop.Client(client.store_url)
    trusting.log_model(run_id, model)
    assert trusting.load_model(f"runs:/{run_id}/model").predict(_frame(SAME)).shape == (60,)


@pytest.mark.parametrize("absolute", ["/etc/passwd", "/tmp/x", "C:\\x", "c:/x", "%2Fetc"])
def test_absolute_artifact_names_are_refused(
    client: mloop.Client, tmp_path: Path, absolute: str
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hi")
    run_id = client.create_run("artifacts")
    with pytest.raises(InvalidInput, match="artifact name"):
        client.log_artifact(run_id, source, artifact_path=absolute)
    with pytest.raises(InvalidInput, match="artifact name"):
        client.log_bytes(run_id, b"x", absolute)
    with pytest.raises(InvalidInput, match="artifact name"):
        client.download_artifact(run_id, absolute, tmp_path / "out")
    with pytest.raises(InvalidInput, match="artifact name"):
        client.log_model(run_id, LogisticRegression(), name=absolute)
    assert client.list_artifacts(run_id) == []
    assert client.log_artifact(run_id, source, artifact_path="docs/").path == "docs/notes.txt"
