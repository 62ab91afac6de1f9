"""What every command shares: the client, output tables, JSON and plain messages."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mloop.client import Client
from mloop.config import Settings, load_settings
from mloop.errors import InvalidInput
from mloop.web import finite

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

    def client(self, *, create: bool = False) -> Client:
        """A client on the chosen store and artifact root; the store opens on first use.

        Only ``create=True`` (commands that write) creates a missing store; otherwise its first
        use raises NotFound ("no store at ...").
        """
        return Client(settings=self.settings, create=create)


def cli_state(ctx: typer.Context) -> CliState:
    """The state the root command put in the context, or one from the environment alone."""
    if isinstance(ctx.obj, CliState):
        return ctx.obj
    return CliState.from_options(None, None)


def client(ctx: typer.Context, *, create: bool = False) -> Client:
    """The client for the store and artifact root the options, environment or file name.

    Reading commands leave ``create`` off, so they never create a store; writing ones set it.
    """
    return cli_state(ctx).client(create=create)


def when(seconds: float | None) -> str:
    """Epoch seconds as a UTC date and time."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_time(text: str, field: str) -> float:
    """Epoch seconds from ``text``: epoch seconds, or an ISO date or date-time (UTC if no zone).

    Raises InvalidInput naming ``field`` for anything else.
    """
    try:
        seconds = float(text)
    except ValueError:
        return _iso_seconds(text, field)
    if not math.isfinite(seconds):
        raise InvalidInput(f"{field} {text!r} is not a time", field=field)
    return seconds


def _iso_seconds(text: str, field: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"{field} {text!r}: give an ISO date (2024-05-01, 2024-05-01T12:00) or epoch seconds",
            field=field,
        ) from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def emit(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    """Print rows as a table, or as JSON with ``--json``; no rows print "<title>: none".

    A table of more than four columns that is wider than the terminal keeps its leading
    columns that fit and names the others in a note (``--json`` shows them); one such row is
    printed as a record instead (a field and value per line), so it stays readable at 80 columns.
    """
    if as_json:
        print_json(rows)
        return
    if not rows:
        say(f"{title}: none")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if len(columns) <= _FOLDED_COLUMNS or _fits(title, columns, rows):
        out.print(_table(title, columns, rows))
    elif len(rows) == 1:
        fields = [{"field": c, "value": rows[0].get(c)} for c in columns]
        out.print(_table(title, ["field", "value"], fields))
    else:
        shown = 2
        while shown < len(columns) and _fits(title, columns[: shown + 1], rows):
            shown += 1
        out.print(_table(title, columns[:shown], rows))
        say(f"not shown: {', '.join(columns[shown:])} (--json shows every column)")


def _fits(title: str, columns: list[str], rows: list[dict[str, Any]]) -> bool:
    """Whether the table fits the terminal with prose (text with spaces, such as a reason)
    wrapped at ``_PROSE_WIDTH`` and every other cell (ids, numbers, times) on one line."""
    capped = [{c: _capped(cell(row.get(c))) for c in columns} for row in rows]
    table = _table(title, columns, capped)
    return Measurement.get(out, out.options.update_width(10_000), table).maximum <= out.width


def _capped(text: str) -> str:
    return text[:_PROSE_WIDTH] if " " in text.strip() else text


_PROSE_WIDTH = 20


_FOLDED_COLUMNS = 4


def _table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> Table:
    table = Table(title=Text(title))
    for column in columns:
        table.add_column(Text(column), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell(row.get(column))) for column in columns))
    return table


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON, NaN and infinities as null (``mloop.web.finite``)."""
    typer.echo(json.dumps(finite(value), indent=2, default=str))


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


def share_steps(text: str | None, field: str = "steps") -> tuple[float, ...] | None:
    """Challenger shares (0-1) from percentages such as ``5,25,50,100``; None for None.

    Raises InvalidInput naming ``field`` for a part that is not a number from 0 to 100.
    """
    if text is None:
        return None
    try:
        percentages = [float(part) for part in text.split(",")]
    except ValueError:
        raise InvalidInput(
            f"{field} {text!r} must be percentages separated by commas", field=field
        ) from None
    for value in percentages:
        if not 0 <= value <= 100:
            raise InvalidInput(f"{field}: {value:g}% is not between 0 and 100", field=field)
    return tuple(value / 100 for value in percentages)
