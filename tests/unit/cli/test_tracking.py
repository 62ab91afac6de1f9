"""``mloop experiments`` and ``mloop runs``: listings, details and comparisons."""

from __future__ import annotations

import pytest

from tests.unit.cli.home import Home, cli, cli_json

pytestmark = pytest.mark.timeout(120)


def test_experiments_ls(shared_home: Home) -> None:
    rows = cli_json(shared_home, "experiments", "ls")
    assert {row["name"]: row["runs"] for row in rows} == {"churn": 2, "other": 1}
    table = cli(shared_home, "experiments", "ls").stdout
    assert "churn" in table
    assert "other" in table


def test_runs_ls_lists_every_run_with_params_and_metrics(shared_home: Home) -> None:
    rows = cli_json(shared_home, "runs", "ls")
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"lr-weak", "lr-strong", "baseline"}
    strong = by_name["lr-strong"]
    assert strong["run_id"] == shared_home.strong
    assert strong["status"] == "FINISHED"
    assert strong["params"] == {"C": "1.0", "solver": "lbfgs"}
    assert strong["metrics.f1"] == pytest.approx(0.9)
    assert strong["metrics.auc"] == pytest.approx(0.95)


def test_runs_ls_table_shows_full_run_ids(shared_home: Home) -> None:
    table = cli(shared_home, "runs", "ls").stdout
    for run_id in (shared_home.weak, shared_home.strong, shared_home.baseline):
        assert run_id in table
    assert "lr-strong" in table


def test_runs_ls_filter(shared_home: Home) -> None:
    rows = cli_json(shared_home, "runs", "ls", "--filter", "metrics.f1 > 0.8")
    assert [row["run_id"] for row in rows] == [shared_home.strong]
    rows = cli_json(shared_home, "runs", "ls", "-f", "params.C = '0.1' and metrics.auc < 0.8")
    assert [row["run_id"] for row in rows] == [shared_home.weak]
    assert cli_json(shared_home, "runs", "ls", "-f", "metrics.f1 > 5") == []


def test_runs_ls_order_by_experiment_and_max(shared_home: Home) -> None:
    ascending = cli_json(shared_home, "runs", "ls", "--order-by", "metrics.f1 ASC")
    assert [row["name"] for row in ascending] == ["baseline", "lr-weak", "lr-strong"]
    descending = cli_json(shared_home, "runs", "ls", "-o", "metrics.f1 DESC", "--max", "2")
    assert [row["name"] for row in descending] == ["lr-strong", "lr-weak"]
    churn = cli_json(shared_home, "runs", "ls", "--experiment", "churn")
    assert {row["name"] for row in churn} == {"lr-weak", "lr-strong"}


def test_runs_show(shared_home: Home) -> None:
    detail = cli_json(shared_home, "runs", "show", shared_home.weak)
    assert detail["run_id"] == shared_home.weak
    assert detail["name"] == "lr-weak"
    assert detail["user"] == "alice"
    assert detail["params"] == {"C": "0.1", "solver": "lbfgs"}
    assert detail["metrics"] == {"f1": pytest.approx(0.7), "auc": pytest.approx(0.75)}
    assert [a["path"] for a in detail["artifacts"]] == ["model/model.skops"]
    table = cli(shared_home, "runs", "show", shared_home.weak).stdout
    assert "lr-weak" in table
    assert "C=0.1" in table
    assert "model/model.skops" in table


def test_runs_compare(shared_home: Home) -> None:
    rows = cli_json(shared_home, "runs", "compare", shared_home.weak, shared_home.strong)
    weak = f"lr-weak ({shared_home.weak[:8]})"
    strong = f"lr-strong ({shared_home.strong[:8]})"
    by_key = {row["key"]: row for row in rows}
    assert set(by_key) == {"params.C", "params.solver", "metrics.auc", "metrics.f1"}
    assert (by_key["params.C"][weak], by_key["params.C"][strong]) == ("0.1", "1.0")
    assert by_key["metrics.f1"][strong] == pytest.approx(0.9)
    table = cli(shared_home, "runs", "compare", shared_home.weak, shared_home.strong).stdout
    assert "metrics.f1" in table
    assert weak in table


def test_a_listing_with_nothing_to_show_says_so(shared_home: Home) -> None:
    out = cli(shared_home, "runs", "ls", "--filter", "metrics.f1 > 5").stdout
    assert out.strip().endswith(": none")
    assert cli_json(shared_home, "runs", "ls", "--filter", "metrics.f1 > 5") == []
