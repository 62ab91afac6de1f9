"""Commands on the prediction log: reading it, and keeping it lawful and small (retention,
erasure, roll-ups)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from mloop.cli.common import JsonOption, cli_state, client, emit, parse_time, say, when
from mloop.errors import InvalidInput

predictions_app = typer.Typer(
    no_args_is_help=True,
    help="Read the prediction log; its retention, erasure and roll-ups.",
)
SHOWN_ROWS = 20
EXPORTS = (".csv", ".parquet")


@predictions_app.command("show")
def show(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The registered model's name.")],
    version: Annotated[int | None, typer.Option(help="Only this version's rows.")] = None,
    arm: Annotated[str | None, typer.Option(help="Only this arm's rows (challenger, ...).")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time on (ISO date or time, UTC, or epoch s).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this time.")] = None,
    last: Annotated[
        int | None,
        typer.Option(min=1, help=f"The newest N rows (default {SHOWN_ROWS} without --since)."),
    ] = None,
    feedback: Annotated[bool, typer.Option(help="Add each row's label (empty if none).")] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the rows to a .csv or .parquet file."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Logged predictions of MODEL, oldest first: ids, time, version, arm, unit, latency,
    features, outputs (and labels with --feedback). Exit 2 for a model or version nobody
    registered, and for --since not before --until."""
    if output is not None and output.suffix.lower() not in EXPORTS:
        raise InvalidInput(f"--output must end in {' or '.join(EXPORTS)}", field="output")
    start = None if since is None else parse_time(since, "since")
    end = None if until is None else parse_time(until, "until")
    newest = last if last is not None or start is not None else SHOWN_ROWS
    active = client(ctx)
    frame = active.read_predictions(
        model,
        version=version,
        arm=arm,
        start=start,
        end=end,
        last_n=newest,
        with_feedback=feedback,
    )
    if frame.empty:  # say why when the name or version was never registered (NotFound)
        if version is None:
            active.registry.list_model_versions(model)
        else:
            active.registry.get_model_version(model, version)
    frame = _labels_as_predicted(frame)
    if output is not None:
        _export(frame, output)
        say(f"wrote {len(frame)} rows to {output}")
        return
    if not as_json:
        order: list[str] = sorted((str(c) for c in frame.columns), key=_table_order)
        frame = frame[order].assign(ts=frame["ts"].map(when))
        frame = frame.astype(object).where(frame.notna(), None)
    rows = [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
    emit(rows, as_json, f"predictions of {model}")


def _labels_as_predicted(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels as integers when the predictions are (classes 0/1, not 0.0/1.0): a label column
    with rows unlabelled holds floats, as a missing value needs NaN; those become None."""
    if "label" not in frame or "prediction" not in frame:
        return frame
    labels = frame["label"]
    if frame["prediction"].dtype.kind not in "iu" or labels.dtype.kind != "f":
        return frame
    present = labels.dropna()
    if not np.array_equal(present, np.round(present)):
        return frame
    values = [None if pd.isna(v) else int(v) for v in labels]
    return frame.assign(label=pd.Series(values, index=frame.index, dtype=object))


def _table_order(column: str) -> int:
    """Ids and outcomes first, so the table's leading columns that fit say the most."""
    first = ["prediction_id", "ts", "prediction", "label", "version", "arm", "unit_id"]
    if column in first:
        return first.index(column)
    return len(first) + (column.startswith("feature.") or column == "latency_ms")


def _export(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV or Parquet by the file's suffix; raises InvalidInput for a folder
    that does not exist."""
    if not path.parent.is_dir():
        raise InvalidInput(f"--output: folder {path.parent} does not exist", field="output")
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


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
