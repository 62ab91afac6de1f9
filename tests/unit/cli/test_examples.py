"""Every command and group of ``mloop`` shows an example at the end of its help."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main
from typer.testing import CliRunner

from mloop.cli import app
from mloop.cli.examples import EXAMPLES


def _commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, command
    if hasattr(command, "commands"):  # a group (typer ships its own click)
        for name, child in command.commands.items():
            yield from _commands(child, f"{path} {name}")


def test_every_command_and_group_has_an_example_in_its_help() -> None:
    root = typer.main.get_command(app)
    paths = dict(_commands(root, "mloop"))
    missing = [
        path for path, command in paths.items() if "Example: mloop" not in (command.epilog or "")
    ]
    assert missing == []
    assert set(EXAMPLES) == set(paths)  # no example for a command that does not exist


def test_the_example_is_printed_by_help() -> None:
    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "Example: mloop demo --fast --json" in result.output


def test_retrain_help_lists_running_a_policy_beside_editing_it() -> None:
    result = CliRunner().invoke(app, ["retrain", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    commands = result.output.split("Commands")[1]
    assert "run " in commands and "policy " in commands and "--force" in commands
    run = CliRunner().invoke(app, ["retrain", "run", "--help"], env={"COLUMNS": "120"})
    assert run.exit_code == 0 and "--dry-run" in run.output
