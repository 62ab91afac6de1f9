"""``mloop models`` and ``mloop store``: versions, lineage, alias moves and their audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mloop.cli import app
from mloop.store import HEAD_REVISION
from tests.unit.cli.home import MODEL, Home, cli, cli_json

pytestmark = pytest.mark.timeout(120)


def test_models_ls(shared_home: Home) -> None:
    rows = cli_json(shared_home, "models", "ls")
    assert len(rows) == 1
    assert rows[0]["name"] == MODEL
    assert rows[0]["latest_version"] == 2
    assert rows[0]["aliases"] == {"champion": 1}
    assert MODEL in cli(shared_home, "models", "ls").stdout


def test_models_show_lists_versions(shared_home: Home) -> None:
    rows = cli_json(shared_home, "models", "show", MODEL)
    by_version = {row["version"]: row for row in rows}
    assert set(by_version) == {1, 2}
    assert by_version[1]["run_id"] == shared_home.weak
    assert by_version[1]["aliases"] == "champion"
    assert by_version[2]["run_id"] == shared_home.strong
    assert by_version[2]["description"] == "lr-strong model"
    assert by_version[2]["format"] == "skops"


def test_models_show_version_gives_lineage(shared_home: Home) -> None:
    lineage = cli_json(shared_home, "models", "show", MODEL, "--version", "2")
    assert (lineage["model"], lineage["version"]) == (MODEL, 2)
    assert lineage["run"]["id"] == shared_home.strong
    assert lineage["run"]["name"] == "lr-strong"
    assert lineage["params"]["C"] == "1.0"
    assert lineage["model_file"]["format"] == "skops"
    assert len(lineage["model_file"]["digest"]) == 64
    assert [c["name"] for c in lineage["model_file"]["signature"]["inputs"]] == [
        "tenure",
        "spend",
    ]
    table = cli(shared_home, "models", "show", MODEL, "--version", "1").stdout
    assert f"{MODEL} v1" in table
    assert shared_home.weak in table


def test_promote_rollback_and_history(home: Home) -> None:
    out = cli(home, "models", "promote", MODEL, "2", "--reason", "better f1", user="bob").stdout
    assert f"{MODEL}@champion: v1 -> v2 (better f1)" in out
    assert home.client().get_alias(MODEL, "champion") == 2

    out = cli(home, "models", "rollback", MODEL, "--reason", "complaints", user="carol").stdout
    assert "rolled back v2 -> v1 (complaints)" in out
    assert home.client().get_alias(MODEL, "champion") == 1

    history = cli_json(home, "models", "history", MODEL)
    moves = [(e["action"], e["from"], e["to"], e["user"], e["reason"]) for e in history]
    assert moves == [
        ("set", None, 1, "alice", "first champion"),
        ("set", 1, 2, "bob", "better f1"),
        ("rollback", 2, 1, "carol", "complaints"),
    ]
    assert all(e["alias"] == "champion" and e["when"] for e in history)
    table = cli(home, "models", "history", MODEL).stdout
    assert "complaints" in table
    assert "carol" in table


def test_promote_another_alias(home: Home) -> None:
    out = cli(home, "models", "promote", MODEL, "2", "-r", "try it", "--alias", "challenger").stdout
    assert f"{MODEL}@challenger: nothing -> v2 (try it)" in out
    assert home.client().get_alias(MODEL, "challenger") == 2
    assert home.client().get_alias(MODEL, "champion") == 1
    history = cli_json(home, "models", "history", MODEL, "--alias", "challenger")
    assert [(e["alias"], e["to"], e["reason"]) for e in history] == [("challenger", 2, "try it")]


def test_promote_during_a_rollout_warns_that_the_rollout_stops(home: Home) -> None:
    cli(home, "rollout", "start", MODEL, "--challenger", "2", "--mode", "ab")
    out = cli(home, "models", "promote", MODEL, "2", "-r", "by hand").stdout
    assert f"{MODEL}@champion: v1 -> v2 (by hand)" in out
    assert "warning: rollout 1 of" in out and "it stops at its next evaluation" in out


def test_store_upgrade(tmp_path: Path, shared_home: Home) -> None:
    fresh = Home(tmp_path / "fresh", "", "", "")
    fresh.path.mkdir()
    assert f"store empty -> {HEAD_REVISION}" in cli(fresh, "store", "upgrade").stdout
    assert f"store {HEAD_REVISION} -> {HEAD_REVISION}" in cli(fresh, "store", "upgrade").stdout
    out = cli(shared_home, "store", "upgrade").stdout
    assert f"store {HEAD_REVISION} -> {HEAD_REVISION}" in out
    assert len(cli_json(shared_home, "runs", "ls")) == 3


def test_promote_says_so_when_the_alias_already_points_there(home: Home) -> None:
    out = cli(home, "models", "promote", MODEL, "1", "--reason", "again").stdout
    assert f"{MODEL}@champion already points to v1" in out
    history = cli_json(home, "models", "history", MODEL)
    assert [e["reason"] for e in history] == ["first champion"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_reason_is_refused(home: Home, reason: str) -> None:
    runner = CliRunner()
    args = ["--store", home.store_url, "--artifacts", home.artifacts_url, "models", "promote"]
    result = runner.invoke(app, [*args, MODEL, "2", "--reason", reason])
    assert result.exit_code == 2 and "reason" in result.output
    assert home.client().get_alias(MODEL, "champion") == 1
