"""The retraining loop on the churn scenario, on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

import mloop
from mloop.entities import DecisionKind, MonitorKind, MonitorResult, RunStatus, Triggers
from mloop.errors import InvalidInput, NotFound
from mloop.retraining import assemble, plan_retraining, retrain
from mloop.scenario import TARGET

from .conftest import Scenario, log_traffic, policy


def _kinds(client: mloop.Client) -> list[str]:
    return [d.kind.value for d in client.retraining.decisions("churn")]


def test_new_labels_retrain_and_a_better_challenger_is_promoted(scenario: Scenario) -> None:
    client = scenario.client
    client.set_retraining_policy(policy())
    decision = retrain(client, "churn")
    assert decision.kind is DecisionKind.PROMOTED, decision.reason
    assert decision.trigger == "new_labels"
    assert (decision.champion_version, decision.challenger_version) == (1, 2)
    gate = decision.gate
    assert gate["passed"] and gate["ci_low"] > 0 and gate["p_value"] < 0.025
    assert gate["difference"] == gate["challenger"] - gate["champion"]
    assert gate["guardrails"]["accuracy"]["passed"]
    assert gate["shadow"]["rows"] == 1200 and 0 <= gate["shadow"]["agreement"] <= 1
    assert client.get_alias("churn", "champion") == 2
    assert _kinds(client) == ["triggered", "trained", "promoted"]
    run = client.get_run(decision.run_id or "")
    assert run.status is RunStatus.FINISHED
    assert run.tags["mloop.retraining.champion_version"] == "1"
    assert run.metrics["holdout.f1"] == gate["challenger"]
    assert run.metrics["holdout.f1.champion"] == gate["champion"]
    assert run.metrics["holdout.accuracy"] == gate["guardrails"]["accuracy"]["challenger"]
    names = {d.name for d in client.list_datasets(run.id)}
    assert names == {"train", "retraining.holdout"}
    train, target = client.tracking.load_dataset(run.id, "train")
    assert len(train) == 1500 + 840 and target.name == TARGET
    assert client.registry.alias_history("churn", "champion")[-1].reason.startswith("retraining:")


def test_a_passing_challenger_can_be_handed_to_a_canary(scenario: Scenario) -> None:
    client = scenario.client
    client.set_retraining_policy(policy(on_pass="canary"))
    decision = retrain(client, "churn")
    assert decision.kind is DecisionKind.CANARY, decision.reason
    assert client.get_alias("churn", "champion") == 1
    rollout = client.rollouts.latest("churn")
    assert (rollout.champion, rollout.challenger) == (1, 2)
    assert rollout.policy.mode == "canary" and rollout.weights["challenger"] == 0.05
    assert _kinds(client) == ["triggered", "trained", "canary"]


def test_a_running_rollout_holds_every_retraining_back_even_a_forced_one(
    scenario: Scenario,
) -> None:
    client = scenario.client
    client.set_retraining_policy(policy(on_pass="canary"))
    assert retrain(client, "churn").kind is DecisionKind.CANARY
    rollout = client.rollouts.latest("churn")
    waits = f"rollout {rollout.id} of churn is running; retraining waits until it ends"
    plan = plan_retraining(client, "churn", force=True)
    assert (plan.action, plan.reason) == ("skip", waits)
    for on_pass in ("canary", "promote"):
        client.set_retraining_policy(policy(on_pass=on_pass))
        decision = retrain(client, "churn", force=True)
        assert (decision.kind, decision.reason) == (DecisionKind.SKIPPED, waits)
    assert [v.version for v in client.list_model_versions("churn")] == [2, 1]
    assert client.get_alias("churn", "champion") == 1
    assert client.rollouts.running("churn") == rollout
    client.rollouts.stop("churn", reason="enough")
    assert plan_retraining(client, "churn", force=True).action == "retrain"


def test_a_rollout_started_while_the_challenger_trained_ends_in_a_failed_decision(
    scenario: Scenario,
) -> None:
    client = scenario.client
    rival = client.register_model(client.get_model_version("churn", 1).run_id, "churn").version
    params = {"model": "logistic_regression", "max_iter": 500, "rival": rival,
              "store_url": client.store_url, "artifacts_url": client.artifacts_url}  # fmt: skip
    recipe = "tests.integration.retraining.recipes:starts_a_rollout"
    client.set_retraining_policy(policy(on_pass="canary", recipe=recipe, params=params))
    decision = retrain(client, "churn", force=True)
    assert decision.kind is DecisionKind.FAILED, decision.reason
    assert decision.reason.startswith("gate passed") and decision.gate["passed"]
    assert "v3 stays registered without an alias" in decision.reason
    assert "is running; retraining waits until it ends" in decision.reason
    assert _kinds(client) == ["triggered", "trained", "failed"]
    assert client.get_model_version("churn", 3).aliases == ()
    assert client.rollouts.running("churn").challenger == rival  # type: ignore[union-attr]
    assert client.get_alias("churn", "champion") == 1


def test_a_promoted_challenger_hands_its_training_set_to_the_next_generation(
    scenario: Scenario,
) -> None:
    client = scenario.client
    client.set_retraining_policy(policy())
    first = retrain(client, "churn")
    assert first.kind is DecisionKind.PROMOTED, first.reason
    second_champion = client.load_model("models:/churn@champion").estimator
    log_traffic(client, second_champion, 600, downturn=1.0, seed=12, version=2)
    retrain(client, "churn", force=True)
    trained = [d for d in client.retraining.decisions("churn") if d.kind is DecisionKind.TRAINED]
    assert [d.champion_version for d in trained] == [1, 2]
    assert "(1500 from the champion's data, 840 from production)" in trained[0].reason
    # v2's 2,340 rows hold the 840 it took from the log, all still in the window: read once
    assert "(1500 from the champion's data, 1260 from production)" in trained[1].reason
    run = client.get_run(trained[1].run_id or "")
    assert run.tags["mloop.retraining.notes"] == "840 rows of the champion's data are in the window"
    stored, _ = client.tracking.load_dataset(trained[1].run_id or "", "train")
    assert stored["ts"].isna().sum() == 1500 and stored["ts"].notna().sum() == 1260


def test_a_worse_challenger_is_rejected_and_stays_unaliased(scenario: Scenario) -> None:
    client = scenario.client
    client.set_retraining_policy(policy(params={"model": "logistic_regression", "C": 1e-6}))
    decision = retrain(client, "churn", force=True)
    assert decision.kind is DecisionKind.REJECTED
    assert decision.reason.startswith("gate failed")
    assert decision.gate["passed"] is False
    assert client.get_alias("churn", "champion") == 1
    assert client.get_model_version("churn", 2).aliases == ()


def test_a_failing_recipe_marks_the_run_failed_and_raises_an_alert(scenario: Scenario) -> None:
    client = scenario.client
    recipe = "tests.integration.retraining.recipes:raises"
    client.set_retraining_policy(policy(recipe=recipe))
    decision = retrain(client, "churn")
    assert decision.kind is DecisionKind.FAILED
    assert "the feature store is down" in decision.reason
    run = client.get_run(decision.run_id or "")
    assert run.status is RunStatus.FAILED and "feature store" in run.tags["mloop.error"]
    alerts = client.monitoring.alerts(model="churn", rule="retraining.failed")
    assert len(alerts) == 1 and "feature store" in alerts[0].message
    assert [v.version for v in client.list_model_versions("churn")] == [1]
    assert client.get_alias("churn", "champion") == 1


def test_a_recipe_that_cannot_be_imported_is_refused_and_audited(scenario: Scenario) -> None:
    client = scenario.client
    client.set_retraining_policy(policy(recipe="no_such_module:train"))
    with pytest.raises(InvalidInput, match="cannot be imported") as raised:
        retrain(client, "churn")
    assert raised.value.field == "recipe"
    assert _kinds(client) == ["triggered", "failed"]
    assert len(client.monitoring.alerts(model="churn", rule="retraining.failed")) == 1
    assert client.get_alias("churn", "champion") == 1


SWEEP = ({"C": 0.5}, {"C": 2.0})


def _failed_without_a_challenger(client: mloop.Client, said: str) -> None:
    decisions = client.retraining.decisions("churn")
    assert [d.kind.value for d in decisions] == ["triggered", "failed"]
    assert said in decisions[-1].reason
    alerts = client.monitoring.alerts(model="churn", rule="retraining.failed")
    assert len(alerts) == 1 and said in alerts[0].message
    run = client.get_run(client.search_runs("retraining")[0].id)
    assert run.status is RunStatus.FAILED and said in run.tags["mloop.error"]
    assert [v.version for v in client.list_model_versions("churn")] == [1]


def test_a_dask_scheduler_nobody_answers_at_fails_the_retraining_in_one_clear_error(
    scenario: Scenario,
) -> None:
    client = scenario.client
    address = "tcp://127.0.0.1:1"
    chosen = policy(executor="dask", dask_address=address, candidates=SWEEP)
    client.set_retraining_policy(chosen)
    with pytest.raises(InvalidInput, match=f"Dask scheduler at {address} cannot be reached") as e:
        retrain(client, "churn", force=True)
    assert e.value.field == "dask_address"
    _failed_without_a_challenger(client, address)


def test_a_missing_dask_extra_fails_the_retraining_and_says_so(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = scenario.client
    client.set_retraining_policy(policy(executor="dask", candidates=SWEEP))
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an absent package imports as
    with pytest.raises(InvalidInput, match="the dask extra"):
        retrain(client, "churn", force=True)
    _failed_without_a_challenger(client, "pip install 'mloop[dask]'")


def test_a_policy_for_a_model_nobody_registered_is_refused(scenario: Scenario) -> None:
    with pytest.raises(NotFound, match="nosuch"):
        scenario.client.set_retraining_policy(policy(model="nosuch"))
    assert scenario.client.retraining.policies() == []


def test_cool_down_holds_a_second_retraining_back(scenario: Scenario) -> None:
    client = scenario.client
    weak = {"model": "logistic_regression", "C": 1e-6}
    client.set_retraining_policy(policy(cooldown_seconds=3600, params=weak))
    assert retrain(client, "churn", force=True).kind is DecisionKind.REJECTED
    plan = plan_retraining(client, "churn")
    assert (plan.action, [f.name for f in plan.fired]) == ("skip", ["new_labels"])
    decision = retrain(client, "churn")
    assert decision.kind is DecisionKind.SKIPPED and decision.reason.startswith("cool-down")
    assert _kinds(client)[-1] == "skipped"


def test_drift_and_metric_drop_results_fire_their_triggers(client: mloop.Client) -> None:
    from .conftest import train_champion

    train_champion(client, rows=400)
    client.set_retraining_policy(policy(triggers=Triggers(drift=True, metric_drop=0.03)))
    assert plan_retraining(client, "churn").fired == []
    now = time.time() + 1
    summaries = {
        MonitorKind.DRIFT: {"dataset_drift": True, "drifted_columns": ["credit_score"]},
        MonitorKind.PERFORMANCE: {"metrics": {"f1": 0.40}, "reference": {"f1": 0.45}},
    }
    for kind, summary in summaries.items():
        client.monitoring.record_result(
            MonitorResult("churn", 1, "", kind, None, None, 100, summary, [], now)
        )
    fired = {f.name: f.reason for f in plan_retraining(client, "churn").fired}
    assert set(fired) == {"drift", "metric_drop"}
    assert "credit_score" in fired["drift"] and "0.050" in fired["metric_drop"]


def test_the_training_set_holds_out_the_newest_rows_weights_and_caps(scenario: Scenario) -> None:
    client = scenario.client
    chosen = policy(holdout=0.25, half_life_seconds=60.0, max_rows=1000)
    data = assemble(client, chosen, 1, time.time())
    assert len(data.holdout) == 300 and len(data.train) == 1000
    assert data.production_rows == 900 and any("capped" in n for n in data.notes)
    assert data.weights is not None and data.weights.max() == 1.0
    assert np.all(np.diff(data.weights) >= 0)
    logged = client.read_predictions("churn").sort_values("ts")
    newest = logged["feature.credit_score"].to_numpy()[-300:]
    assert np.allclose(data.holdout["credit_score"].to_numpy(), newest)
