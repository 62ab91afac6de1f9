"""What every command shares: JSON output, literal user text, options held per invocation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mloop.cli import app
from mloop.cli.common import CliState, cli_state
from mloop.errors import NotFound
from tests.unit.cli.home import MODEL, Home, cli, cli_json

pytestmark = pytest.mark.timeout(120)


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


def test_user_text_is_printed_literally_not_as_markup(home: Home) -> None:
    client = home.client()
    run_id = client.create_run("churn", "[/weird] [bold]name")
    client.log_params(run_id, {"[red]key": "[/]"})
    out = cli(home, "models", "promote", MODEL, "2", "--reason", "[/oops] [b]why").stdout
    assert "([/oops] [b]why)" in out
    assert "[/oops] [b]why" in cli(home, "models", "history", MODEL).stdout
    assert "[/weird] [bold]name" in cli(home, "runs", "ls").stdout
    assert "[red]key=[/]" in cli(home, "runs", "show", run_id).stdout


def test_options_hold_for_one_invocation_only(
    shared_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(cli_json(shared_home, "runs", "ls")) == 3
    monkeypatch.setenv("MLOOP_HOME", str(tmp_path / "empty"))
    runner = CliRunner(env={"COLUMNS": "250"})
    result = runner.invoke(app, ["experiments", "ls", "--json"])
    assert isinstance(result.exception, NotFound)  # the new home's store, not the last one
    assert str(tmp_path / "empty") in str(result.exception)


def test_settings_file_names_the_store_and_options_override_it(
    shared_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mloop.toml").write_text(
        f'store_url = "{shared_home.store_url}"\nartifacts_url = "{shared_home.artifacts_url}"\n'
    )
    runner = CliRunner(env={"COLUMNS": "250"})
    from_file = runner.invoke(app, ["runs", "ls", "--json"])
    assert from_file.exit_code == 0, from_file.output
    assert len(json.loads(from_file.stdout)) == 3
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    overridden = runner.invoke(app, ["--store", empty, "runs", "ls", "--json"])
    assert isinstance(overridden.exception, NotFound)
    assert empty in str(overridden.exception)


def test_state_reaches_commands_through_the_context(shared_home: Home) -> None:
    seen: list[CliState] = []
    probe = typer.Typer()

    @probe.command()
    def show(ctx: typer.Context) -> None:
        seen.append(cli_state(ctx))

    app.add_typer(probe, name="probe")
    try:
        cli(shared_home, "probe", "show")
    finally:
        app.registered_groups.pop()
    assert seen[0].settings.store_url == shared_home.store_url
    assert seen[0].settings.artifacts_url == shared_home.artifacts_url
    assert seen[0].client().store_url == shared_home.store_url
