"""Commands that keep the prediction log lawful and small: retention, erasure, roll-ups."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from mloop.cli.common import JsonOption, cli_state, client, emit, say, when
from mloop.errors import InvalidInput

predictions_app = typer.Typer(
    no_args_is_help=True, help="Retention, erasure and roll-ups of the prediction log."
)


@predictions_app.command("retain")
def retain(
    ctx: typer.Context,
    days: Annotated[
        float | None, typer.Option(min=0.0, help="Keep this many days (default: retention_days).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Delete logged rows older than the retention, with their labels, profiles and blobs;
    then roll up settled hours and days and collect orphan blobs."""
    kept = days if days is not None else cli_state(ctx).settings.retention_days
    if kept is None or kept <= 0:
        raise InvalidInput("give --days or set retention_days in mloop.toml", field="days")
    active = client(ctx, create=True)
    report = active.log_lifecycle.retain(kept)
    row = {
        "cutoff": when(report.cutoff),
        **asdict(report.pruned),
        "blobs_deleted": report.blobs_deleted + active.log_lifecycle.collect_blobs(),
        "rollups_deleted": report.rollups_deleted,
        "rollups_written": active.rollups.roll_up(),
    }
    emit([row], as_json, "retention")


@predictions_app.command("erase")
def erase(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option("--unit", help="The unit (customer) id to erase.")],
    as_json: JsonOption = False,
) -> None:
    """Remove every logged row of one unit and their labels (right to erasure), audited."""
    erasure = client(ctx, create=True).log_lifecycle.erase(unit)
    row = asdict(erasure)
    if not as_json:
        row["at"] = when(erasure.at)
    emit([row], as_json, "erasure")
    if not as_json and erasure.rows == 0:
        say(f"no logged row has unit {unit!r}; the erasure is recorded")


@predictions_app.command("erasures")
def erasures(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="Newest this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The audit trail of erasures: unit, rows, labels, chunks, who and when."""
    found = client(ctx).log_lifecycle.erasures(limit)
    rows = [{**asdict(e), "at": e.at if as_json else when(e.at)} for e in found]
    emit(rows, as_json, "erasures")


@predictions_app.command("rollup")
def rollup(ctx: typer.Context) -> None:
    """Roll up chunk profiles of every settled hour and day (what the server does hourly)."""
    written = client(ctx, create=True).rollups.roll_up()
    say(f"{written} roll-ups written")
