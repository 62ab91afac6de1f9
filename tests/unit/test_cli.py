"""The ``mloop`` command on a real store filled through the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import mloop
from mloop.cli import app, main
from mloop.store import HEAD_REVISION, close_stores

pytestmark = pytest.mark.timeout(120)

MODEL = "churn-model"
MISSING_RUN = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Home:
    """A populated mloop home: its folder and the ids of what the Python API put in it."""

    path: Path
    weak: str
    strong: str
    baseline: str

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.path / 'mloop.db'}"

    @property
    def artifacts_url(self) -> str:
        return str(self.path / "artifacts")

    def client(self) -> mloop.Client:
        return mloop.Client(self.store_url, artifacts_url=self.artifacts_url)


def populate(path: Path) -> Home:
    """Two churn runs with models (registered as v1, v2; champion -> v1) and one baseline run."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"tenure": np.arange(30.0), "spend": np.arange(30.0)[::-1]})
    target = (features["tenure"] > 14).astype(int)
    home = Home(path, "", "", "")
    client = home.client()
    ids = []
    for name, c, f1 in [("lr-weak", 0.1, 0.7), ("lr-strong", 1.0, 0.9)]:
        run_id = client.create_run("churn", name)
        client.log_params(run_id, {"C": c, "solver": "lbfgs"})
        client.log_metrics(run_id, {"f1": f1, "auc": f1 + 0.05})
        model = LogisticRegression(C=c).fit(features, target)
        client.log_model(run_id, model, input_example=features.head())
        client.end_run(run_id)
        client.register_model(run_id, MODEL, description=f"{name} model")
        ids.append(run_id)
    baseline = client.create_run("other", "baseline")
    client.log_metrics(baseline, {"f1": 0.5})
    client.end_run(baseline)
    client.set_alias(MODEL, "champion", 1, reason="first champion")
    return Home(path, ids[0], ids[1], baseline)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("MLOOP_STORE_URL", "MLOOP_ARTIFACTS_URL", "MLOOP_HOME", "FORCE_COLOR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLOOP_USER", "alice")
    yield
    close_stores()


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home the read-only tests share; tests that change it use ``home``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOOP_USER", "alice")
        return populate(tmp_path_factory.mktemp("shared"))


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return populate(tmp_path)


def cli(home: Home, *args: str, user: str = "bob") -> Any:
    """Run the CLI in this process against ``home``; the result must be a success."""
    runner = CliRunner(env={"COLUMNS": "250", "MLOOP_USER": user})
    result = runner.invoke(
        app, ["--store", home.store_url, "--artifacts", home.artifacts_url, *args]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def cli_json(home: Home, *args: str) -> Any:
    return json.loads(cli(home, *args, "--json").stdout)


def mloop_main(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``mloop.cli.main`` in a fresh process with MLOOP_HOME, as the installed script does."""
    env = {**os.environ, "MLOOP_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-c", "from mloop.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


# -- listings ------------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "args",
    [
        ("experiments", "ls"),
        ("runs", "ls"),
        ("runs", "ls", "-f", "metrics.f1 > 0.6", "-o", "metrics.f1 DESC"),
        ("runs", "show", "WEAK"),
        ("runs", "compare", "WEAK", "STRONG"),
        ("models", "ls"),
        ("models", "show", MODEL),
        ("models", "show", MODEL, "--version", "1"),
        ("models", "history", MODEL),
    ],
)
def test_json_output_is_only_json(shared_home: Home, args: tuple[str, ...]) -> None:
    args = tuple({"WEAK": shared_home.weak, "STRONG": shared_home.strong}.get(a, a) for a in args)
    parsed = json.loads(cli(shared_home, *args, "--json").stdout)
    assert parsed


# -- alias moves and their audit trail -----------------------------------------------------------


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


def test_user_text_is_printed_literally_not_as_markup(home: Home) -> None:
    client = home.client()
    run_id = client.create_run("churn", "[/weird] [bold]name")
    client.log_params(run_id, {"[red]key": "[/]"})
    out = cli(home, "models", "promote", MODEL, "2", "--reason", "[/oops] [b]why").stdout
    assert "([/oops] [b]why)" in out
    assert "[/oops] [b]why" in cli(home, "models", "history", MODEL).stdout
    assert "[/weird] [bold]name" in cli(home, "runs", "ls").stdout
    assert "[red]key=[/]" in cli(home, "runs", "show", run_id).stdout


# -- store ---------------------------------------------------------------------------------------


def test_store_upgrade(tmp_path: Path, shared_home: Home) -> None:
    fresh = Home(tmp_path / "fresh", "", "", "")
    fresh.path.mkdir()
    assert f"store empty -> {HEAD_REVISION}" in cli(fresh, "store", "upgrade").stdout
    assert f"store {HEAD_REVISION} -> {HEAD_REVISION}" in cli(fresh, "store", "upgrade").stdout
    out = cli(shared_home, "store", "upgrade").stdout
    assert f"store {HEAD_REVISION} -> {HEAD_REVISION}" in out
    assert len(cli_json(shared_home, "runs", "ls")) == 3


def test_mloop_home_selects_the_store(shared_home: Home) -> None:
    result = mloop_main(shared_home.path, "runs", "ls", "--json")
    assert result.returncode == 0, result.stderr
    assert {row["run_id"] for row in json.loads(result.stdout)} == {
        shared_home.weak,
        shared_home.strong,
        shared_home.baseline,
    }


# -- bad input: one readable line on stderr, exit code 2 -----------------------------------------

BAD_INPUT = [
    (("runs", "ls", "--filter", "metrics.f1 >"), "malformed filter"),
    (("runs", "ls", "--filter", "metrics.f1 >> 1"), "filter"),
    (("runs", "ls", "--order-by", "metrics.f1 SIDEWAYS"), "ASC or DESC"),
    (("runs", "ls", "--experiment", "nope"), "nope"),
    (("runs", "show", MISSING_RUN), MISSING_RUN),
    (("runs", "show", "[/x]"), "[/x]"),
    (("runs", "compare", "WEAK", MISSING_RUN), MISSING_RUN),
    (("models", "show", "nope"), "nope"),
    (("models", "show", MODEL, "--version", "9"), "9"),
    (("models", "history", "nope"), "nope"),
    (("models", "promote", MODEL, "9", "--reason", "r"), "9"),
    (("models", "promote", "nope", "1", "--reason", "r"), "nope"),
    (("models", "promote", MODEL, "1", "--reason", "r", "--alias", "1bad"), "1bad"),
    (("models", "rollback", MODEL, "--reason", "r"), "roll back"),
    (("models", "rollback", MODEL, "--reason", "r", "--alias", "challenger"), "roll back"),
]


def assert_one_error_line(code: object, stdout: str, stderr: str, expected: str) -> None:
    """Exit code 2, nothing on stdout, one ``error: ...`` line on stderr naming the problem."""
    assert code == 2, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]


@pytest.mark.parametrize(("args", "expected"), BAD_INPUT)
def test_bad_input_gives_one_line_and_exit_code_2(
    shared_home: Home,
    args: tuple[str, ...],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = tuple(shared_home.weak if a == "WEAK" else a for a in args)
    monkeypatch.setenv("MLOOP_HOME", str(shared_home.path))
    monkeypatch.setattr(sys, "argv", ["mloop", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert_one_error_line(exited.value.code, captured.out, captured.err, expected)


@pytest.mark.parametrize(("args", "expected"), [BAD_INPUT[0], BAD_INPUT[4], BAD_INPUT[13]])
def test_bad_input_in_a_real_process(
    shared_home: Home, args: tuple[str, ...], expected: str
) -> None:
    result = mloop_main(shared_home.path, *args)
    assert_one_error_line(result.returncode, result.stdout, result.stderr, expected)


def test_failed_commands_change_nothing(home: Home) -> None:
    before = cli_json(home, "models", "history", MODEL)
    assert mloop_main(home.path, "models", "promote", MODEL, "9", "-r", "x").returncode == 2
    assert mloop_main(home.path, "models", "rollback", MODEL, "-r", "x").returncode == 2
    assert cli_json(home, "models", "history", MODEL) == before
    assert home.client().get_alias(MODEL, "champion") == 1
