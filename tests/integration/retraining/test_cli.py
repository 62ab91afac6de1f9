"""``mloop retrain``, ``mloop models evaluate`` and decisions in ``mloop models history``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import mloop
from mloop.cli import app
from mloop.scenario import TARGET, churn_customers

from .conftest import RECIPE, log_traffic, train_champion


def _cli(client: mloop.Client, *args: str, code: int = 0) -> Any:
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(
        app, ["--store", client.store_url, "--artifacts", client.artifacts_url, *args]
    )
    assert result.exit_code == code, (result.output, result.exception)
    return result


def _json(client: mloop.Client, *args: str) -> Any:
    return json.loads(_cli(client, *args, "--json").stdout)


def test_policy_dry_run_retrain_history_and_evaluate(sqlite_url: str, tmp_path: Path) -> None:
    client = mloop.Client(sqlite_url)
    log_traffic(client, train_champion(client), 1200, downturn=1.0, seed=11)
    _cli(
        client, "retrain", "policy", "set", "churn", "--recipe", RECIPE, "--target", TARGET,
        "--params", '{"model": "logistic_regression", "max_iter": 500}', "--new-labels", "500",
        "--window", "2000", "--resamples", "200", "--guardrail", "accuracy=0.05",
    )  # fmt: skip
    shown = _json(client, "retrain", "policy", "show", "churn")
    assert shown["triggers"]["new_labels"] == 500 and shown["gate"]["guardrails"] == {
        "accuracy": 0.05
    }
    plan = _json(client, "retrain", "churn", "--dry-run")
    assert plan["action"] == "retrain" and plan["fired"][0]["name"] == "new_labels"
    assert client.retraining.decisions("churn") == []
    decision = _json(client, "retrain", "churn")
    assert set(decision) == {
        "kind", "at", "reason", "trigger", "champion_version", "challenger_version", "run_id",
        "gate",
    }  # fmt: skip
    assert decision["kind"] == "promoted" and decision["challenger_version"] == 2
    assert {"metric", "champion", "challenger", "difference", "ci_low", "ci_high", "p_value",
            "passed", "guardrails"} <= set(decision["gate"])  # fmt: skip
    history = _json(client, "models", "history", "churn")
    actions = [row["action"] for row in history]
    assert actions[0] == "set" and actions[-1] in ("set", "retraining.promoted")
    assert {"retraining.triggered", "retraining.trained", "retraining.promoted"} <= set(actions)
    holdout = tmp_path / "holdout.parquet"
    churn_customers(400, seed=12, economic_downturn=1.0).to_parquet(holdout)
    rows = _json(
        client, "models", "evaluate", "churn", "--versions", "1,2", "--data", str(holdout),
        "--label-column", TARGET,
    )  # fmt: skip
    f1 = {row["version"]: row for row in rows if row["metric"] == "f1"}
    assert f1[2]["value"] > f1[1]["value"] and f1[2]["ci_low"] <= f1[2]["value"] <= f1[2]["ci_high"]
    assert "deleted" in _cli(client, "retrain", "policy", "delete", "churn").stdout
    assert client.retraining.policies() == []
    assert len(client.retraining.decisions("churn")) == len(
        [a for a in actions if a.startswith("retraining.")]
    )


def test_user_mistakes_exit_2_with_one_line(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    train_champion(client, rows=300)
    env = {**os.environ, "MLOOP_STORE_URL": sqlite_url, "MLOOP_ARTIFACTS_URL": client.artifacts_url}
    base = [sys.executable, "-c", "from mloop.cli import main; main()", "retrain"]
    for args, said in (
        (["churn", "--dry-run"], "no retraining policy"),
        (["nosuch", "--dry-run"], "registered model 'nosuch' does not exist"),
        (["policy", "delete", "churn"], "no retraining policy"),
        (["policy", "set", "churn", "--recipe", "x", "--target", "churn"], "entry point"),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--params", "{"],
         "--params is not JSON"),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--canary-steps",
          "10,50"], "only with --on-pass canary"),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--on-pass",
          "canary", "--canary-steps", "10,150"], "canary-steps: 150% is not between 0 and 100"),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--on-pass",
          "canary", "--canary-options", '{"promote_when": "sometimes"}'], "promote_when"),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--on-pass",
          "canary", "--canary-options", '{"mode": "ab"}'], "canary options may not set mode"),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--on-pass",
          "canary", "--canary-options", '{"alias": "prod"}'], "canary options may not set alias"),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--on-pass",
          "canary", "--canary-steps", "20,100", "--canary-options", '{"steps": [0.5, 1.0]}'],
         '--canary-steps and "steps" in --canary-options'),
        (["policy", "set", "churn", "--recipe", "a:b", "--target", "churn", "--on-pass",
          "canary", "--canary-min-sample", "50", "--canary-options", '{"min_sample": 80}'],
         '--canary-min-sample and "min_sample" in --canary-options'),
    ):  # fmt: skip
        done = subprocess.run([*base, *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 2, done.stderr
        assert said in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_recipe_not_importable_here_is_stored_with_a_warning(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    train_champion(client, rows=300)
    result = _cli(
        client, "retrain", "policy", "set", "churn", "--recipe", "team_recipes.churn:fit",
        "--target", TARGET,
    )  # fmt: skip
    assert "warning: recipe 'team_recipes.churn:fit' cannot be imported" in result.stdout
    assert client.retraining.policy("churn").recipe == "team_recipes.churn:fit"
    quiet = _cli(
        client, "retrain", "policy", "set", "churn", "--recipe", RECIPE, "--target", TARGET
    )
    assert "warning" not in quiet.stdout


def test_a_canary_pass_starts_the_canary_set_on_the_command_line(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    log_traffic(client, train_champion(client), 1200, downturn=1.0, seed=11)
    _cli(
        client, "retrain", "policy", "set", "churn", "--recipe", RECIPE, "--target", TARGET,
        "--params", '{"model": "logistic_regression", "max_iter": 500}', "--window", "2000",
        "--resamples", "200", "--on-pass", "canary", "--canary-steps", "10,40,100",
        "--canary-min-sample", "250", "--canary-options", '{"promote_when": "better"}',
    )  # fmt: skip
    assert _json(client, "retrain", "policy", "show", "churn")["canary"] == {
        "steps": [0.1, 0.4, 1.0], "min_sample": 250, "promote_when": "better"
    }  # fmt: skip
    decision = _json(client, "retrain", "churn", "--force")
    assert decision["kind"] == "canary", decision["reason"]
    rollout = client.rollouts.running("churn")
    assert rollout is not None and rollout.challenger == decision["challenger_version"]
    policy = rollout.policy
    assert (policy.steps, policy.min_sample, policy.promote_when) == (
        (0.1, 0.4, 1.0),
        250,
        "better",
    )
    assert rollout.weights["challenger"] == 0.1


def test_retrain_during_a_rollout_waits_for_it_and_says_which(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    train_champion(client, rows=300)
    client.register_model(client.get_model_version("churn", 1).run_id, "churn")
    _cli(client, "rollout", "start", "churn", "--challenger", "2", "--mode", "canary")
    _cli(client, "retrain", "policy", "set", "churn", "--recipe", RECIPE, "--target", TARGET,
         "--on-pass", "canary")  # fmt: skip
    rollout = client.rollouts.running("churn")
    assert rollout is not None
    waits = f"rollout {rollout.id} of churn is running; retraining waits until it ends"
    plan = _json(client, "retrain", "churn", "--force", "--dry-run")
    assert (plan["action"], plan["reason"]) == ("skip", waits)
    decision = _json(client, "retrain", "churn", "--force")
    assert (decision["kind"], decision["reason"]) == ("skipped", waits)
    assert [v.version for v in client.list_model_versions("churn")] == [2, 1]


def test_an_unreachable_dask_scheduler_is_one_line_for_retrain_and_predict(
    sqlite_url: str, tmp_path: Path
) -> None:
    client = mloop.Client(sqlite_url)
    log_traffic(client, train_champion(client, rows=300), 300, downturn=1.0, seed=11)
    address = "tcp://127.0.0.1:1"
    _cli(
        client, "retrain", "policy", "set", "churn", "--recipe", RECIPE, "--target", TARGET,
        "--candidates", '[{"C": 0.5}, {"C": 2.0}]', "--executor", "dask",
        "--dask-address", address,
    )  # fmt: skip
    rows = tmp_path / "rows.csv"
    churn_customers(20, seed=5).drop(columns=[TARGET]).to_csv(rows, index=False)
    env = {**os.environ, "MLOOP_STORE_URL": sqlite_url, "MLOOP_ARTIFACTS_URL": client.artifacts_url}
    main = [sys.executable, "-c", "from mloop.cli import main; main()"]
    for args in (
        ["retrain", "churn", "--force"],
        ["predict", "-i", str(rows), "-m", "models:/churn/1", "--executor", "dask",
         "--dask-address", address],
    ):  # fmt: skip
        done = subprocess.run([*main, *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and f"the Dask scheduler at {address} cannot be reached" in lines[0]
    kinds = [d.kind.value for d in client.retraining.decisions("churn")]
    assert kinds == ["triggered", "failed"]
