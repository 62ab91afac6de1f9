"""What every command shares: the client, output tables, JSON and plain messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mloop.client import Client
from mloop.config import Settings, load_settings

out = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass(frozen=True)
class CliState:
    """What the global options chose: the settings every command of one invocation uses."""

    settings: Settings

    @classmethod
    def from_options(cls, store: str | None, artifacts: str | None) -> CliState:
        """Settings from the environment and file, overridden by ``--store`` and ``--artifacts``.

        Raises InvalidInput for a bad settings file (see ``mloop.config``).
        """
        settings = load_settings()
        return cls(
            replace(
                settings,
                store_url=store or settings.store_url,
                artifacts_url=artifacts or settings.artifacts_url,
            )
        )

    def client(self) -> Client:
        """A client on the chosen store and artifact root; the store opens on first use."""
        return Client(settings=self.settings)


def cli_state(ctx: typer.Context) -> CliState:
    """The state the root command put in the context, or one from the environment alone."""
    if isinstance(ctx.obj, CliState):
        return ctx.obj
    return CliState.from_options(None, None)


def client(ctx: typer.Context) -> Client:
    """The client for the store and artifact root the options, environment or file name."""
    return cli_state(ctx).client()


def when(seconds: float | None) -> str:
    """Epoch seconds as a UTC date and time."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def emit(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    """Print rows as a table, or as JSON with ``--json``."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=Text(title))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    for column in columns:
        table.add_column(Text(column), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell(row.get(column))) for column in columns))
    out.print(table)


def say(message: str) -> None:
    """Print a plain message: user data (names, reasons) is never read as rich markup."""
    out.print(message, markup=False, highlight=False, soft_wrap=True)


def cell(value: Any) -> str:
    """A value as table text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
