"""Commands for experiments and runs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mloop.cli.common import JsonOption, cell, client, emit, print_json, when

experiments_app = typer.Typer(no_args_is_help=True, help="List experiments.")
runs_app = typer.Typer(no_args_is_help=True, help="List, show and compare runs.")


@experiments_app.command("ls")
def experiments_ls(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List experiments with their number of runs."""
    rows = [
        {"id": e.id, "name": e.name, "runs": n, "created": when(e.created_at)}
        for e, n in client(ctx).tracking.list_experiments()
    ]
    emit(rows, as_json, "experiments")


@runs_app.command("ls")
def runs_ls(
    ctx: typer.Context,
    experiment: Annotated[list[str] | None, typer.Option("--experiment", "-e")] = None,
    filter: Annotated[
        str | None, typer.Option("--filter", "-f", help="e.g. metrics.f1 > 0.5")
    ] = None,
    order_by: Annotated[list[str] | None, typer.Option("--order-by", "-o")] = None,
    max_results: Annotated[int, typer.Option("--max", min=1)] = 100,
    as_json: JsonOption = False,
) -> None:
    """List runs, filtered and ordered like search_runs."""
    runs = client(ctx).tracking.search_runs(experiment or None, filter, order_by or (), max_results)
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.id,
            "name": run.name,
            "status": run.status.value,
            "start": when(run.start_time),
        }
        row.update({f"metrics.{k}": v for k, v in sorted(run.metrics.items())})
        rows.append(row if not as_json else {**row, "params": run.params, "tags": run.tags})
    emit(rows, as_json, "runs")


@runs_app.command("show")
def runs_show(ctx: typer.Context, run_id: str, as_json: JsonOption = False) -> None:
    """Show one run: attributes, params, metrics, tags, datasets and artifacts."""
    active = client(ctx)
    run = active.tracking.get_run(run_id)
    detail: dict[str, Any] = {
        "run_id": run.id,
        "name": run.name,
        "experiment_id": run.experiment_id,
        "status": run.status.value,
        "user": run.user,
        "code_version": run.code_version,
        "parent_run_id": run.parent_run_id,
        "start": when(run.start_time),
        "end": when(run.end_time),
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
        "datasets": [d.__dict__ for d in active.tracking.list_datasets(run.id)],
        "artifacts": [a.__dict__ for a in active.tracking.list_artifacts(run.id)],
    }
    if as_json:
        print_json(detail)
        return
    for section in ("params", "metrics", "tags"):
        detail[section] = ", ".join(f"{k}={cell(v)}" for k, v in sorted(detail[section].items()))
    detail["datasets"] = ", ".join(f"{d['name']} ({d['n_rows']} rows)" for d in detail["datasets"])
    detail["artifacts"] = ", ".join(a["path"] for a in detail["artifacts"])
    emit([{"field": k, "value": v} for k, v in detail.items()], False, f"run {run.id}")


@runs_app.command("compare")
def runs_compare(ctx: typer.Context, run_ids: list[str], as_json: JsonOption = False) -> None:
    """Compare params and metrics of several runs side by side."""
    active = client(ctx)
    runs = [active.tracking.get_run(run_id) for run_id in run_ids]
    keys = sorted({f"params.{k}" for r in runs for k in r.params})
    keys += sorted({f"metrics.{k}" for r in runs for k in r.metrics})
    rows = []
    for key in keys:
        group, _, name = key.partition(".")
        row: dict[str, Any] = {"key": key}
        for run in runs:
            row[f"{run.name} ({run.id[:8]})"] = getattr(run, group).get(name)
        rows.append(row)
    emit(rows, as_json, "run comparison")
