"""The ``mloop`` command line: experiments, runs, models, the store and the demo."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mloop.errors import MloopError
from mloop.registry import Client

EXIT_CODES = {
    "invalid_input": 2,
    "not_found": 2,
    "conflict": 2,
    "unauthorized": 3,
    "integrity": 4,
    "unsafe_model": 4,
    "store_version": 5,
    "store_unavailable": 6,
}

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
experiments_app = typer.Typer(no_args_is_help=True, help="List experiments.")
runs_app = typer.Typer(no_args_is_help=True, help="List, show and compare runs.")
models_app = typer.Typer(no_args_is_help=True, help="Registered models, aliases and their history.")
store_app = typer.Typer(no_args_is_help=True, help="Maintain the store.")
app.add_typer(experiments_app, name="experiments")
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(store_app, name="store")

out = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
_state: dict[str, str | None] = {"store": None, "artifacts": None}


@app.callback()
def _root(
    store: Annotated[str | None, typer.Option(help="Store URL (default: MLOOP_STORE_URL).")] = None,
    artifacts: Annotated[str | None, typer.Option(help="Artifact root URL.")] = None,
) -> None:
    """mloop: track, register, serve and monitor tabular models."""
    _state["store"] = store
    _state["artifacts"] = artifacts


def _client() -> Client:
    return Client(_state["store"], artifacts_url=_state["artifacts"])


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _emit(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=Text(title))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    for column in columns:
        table.add_column(Text(column), overflow="fold")
    for row in rows:
        table.add_row(*(Text(_cell(row.get(column))) for column in columns))
    out.print(table)


def _say(message: str) -> None:
    """Print a plain message: user data (names, reasons) is never read as rich markup."""
    out.print(message, markup=False, highlight=False, soft_wrap=True)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@experiments_app.command("ls")
def experiments_ls(as_json: JsonOption = False) -> None:
    """List experiments with their number of runs."""
    rows = [
        {"id": e.id, "name": e.name, "runs": n, "created": _when(e.created_at)}
        for e, n in _client().list_experiments()
    ]
    _emit(rows, as_json, "experiments")


@runs_app.command("ls")
def runs_ls(
    experiment: Annotated[list[str] | None, typer.Option("--experiment", "-e")] = None,
    filter: Annotated[
        str | None, typer.Option("--filter", "-f", help="e.g. metrics.f1 > 0.5")
    ] = None,
    order_by: Annotated[list[str] | None, typer.Option("--order-by", "-o")] = None,
    max_results: Annotated[int, typer.Option("--max", min=1)] = 100,
    as_json: JsonOption = False,
) -> None:
    """List runs, filtered and ordered like search_runs."""
    runs = _client().search_runs(experiment or None, filter, order_by or (), max_results)
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.id,
            "name": run.name,
            "status": run.status.value,
            "start": _when(run.start_time),
        }
        row.update({f"metrics.{k}": v for k, v in sorted(run.metrics.items())})
        rows.append(row if not as_json else {**row, "params": run.params, "tags": run.tags})
    _emit(rows, as_json, "runs")


@runs_app.command("show")
def runs_show(run_id: str, as_json: JsonOption = False) -> None:
    """Show one run: attributes, params, metrics, tags, datasets and artifacts."""
    client = _client()
    run = client.get_run(run_id)
    detail: dict[str, Any] = {
        "run_id": run.id,
        "name": run.name,
        "experiment_id": run.experiment_id,
        "status": run.status.value,
        "user": run.user,
        "code_version": run.code_version,
        "parent_run_id": run.parent_run_id,
        "start": _when(run.start_time),
        "end": _when(run.end_time),
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
        "datasets": [d.__dict__ for d in client.store.list_datasets(run.id)],
        "artifacts": [a.__dict__ for a in client.list_artifacts(run.id)],
    }
    if as_json:
        typer.echo(json.dumps(detail, indent=2, default=str))
        return
    for section in ("params", "metrics", "tags"):
        detail[section] = ", ".join(f"{k}={_cell(v)}" for k, v in sorted(detail[section].items()))
    detail["datasets"] = ", ".join(f"{d['name']} ({d['n_rows']} rows)" for d in detail["datasets"])
    detail["artifacts"] = ", ".join(a["path"] for a in detail["artifacts"])
    _emit([{"field": k, "value": v} for k, v in detail.items()], False, f"run {run.id}")


@runs_app.command("compare")
def runs_compare(run_ids: list[str], as_json: JsonOption = False) -> None:
    """Compare params and metrics of several runs side by side."""
    client = _client()
    runs = [client.get_run(run_id) for run_id in run_ids]
    keys = sorted({f"params.{k}" for r in runs for k in r.params})
    keys += sorted({f"metrics.{k}" for r in runs for k in r.metrics})
    rows = []
    for key in keys:
        group, _, name = key.partition(".")
        row: dict[str, Any] = {"key": key}
        for run in runs:
            row[f"{run.name} ({run.id[:8]})"] = getattr(run, group).get(name)
        rows.append(row)
    _emit(rows, as_json, "run comparison")


@models_app.command("ls")
def models_ls(as_json: JsonOption = False) -> None:
    """List registered models with their newest version and aliases."""
    rows = [
        {
            "name": m.name,
            "latest_version": m.latest_version,
            "aliases": m.aliases
            if as_json
            else ", ".join(f"{a}=v{v}" for a, v in m.aliases.items()),
            "created": _when(m.created_at),
        }
        for m in _client().list_models()
    ]
    _emit(rows, as_json, "registered models")


@models_app.command("show")
def models_show(
    name: str,
    version: Annotated[int | None, typer.Option(help="Show this version's lineage.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a model's versions, or one version's lineage with --version."""
    client = _client()
    if version is not None:
        lineage = client.lineage(name, version)
        if as_json:
            typer.echo(json.dumps(lineage, indent=2, default=str))
            return
        _print_lineage(lineage)
        return
    rows = [
        {
            "version": v.version,
            "aliases": ", ".join(v.aliases),
            "run_id": v.run_id,
            "format": v.format,
            "registered": _when(v.created_at),
            "description": v.description,
        }
        for v in client.list_model_versions(name)
    ]
    _emit(rows, as_json, f"model {name}")


def _print_lineage(lineage: dict[str, Any]) -> None:
    run = lineage["run"]
    rows = [
        {"field": "model", "value": f"{lineage['model']} v{lineage['version']}"},
        {"field": "aliases", "value": ", ".join(lineage["aliases"])},
        {"field": "run", "value": f"{run['name']} ({run['id']}) {run['status']} by {run['user']}"},
        {"field": "code_version", "value": run["code_version"]},
        {"field": "params", "value": ", ".join(f"{k}={v}" for k, v in lineage["params"].items())},
        {
            "field": "metrics",
            "value": ", ".join(f"{k}={v:.4g}" for k, v in lineage["metrics"].items()),
        },
        {
            "field": "datasets",
            "value": ", ".join(f"{d['name']}:{d['digest'][:12]}" for d in lineage["datasets"]),
        },
        {
            "field": "model_file",
            "value": f"{lineage['model_file']['format']} {lineage['model_file']['digest']}",
        },
    ]
    _emit(rows, False, "lineage")


Reason = Annotated[str, typer.Option("--reason", "-r", help="Why; kept in the audit trail.")]


@models_app.command("promote")
def models_promote(
    name: str,
    version: int,
    reason: Reason,
    alias: Annotated[str, typer.Option("--alias", "-a")] = "champion",
) -> None:
    """Point an alias (default: champion) at a version."""
    event = _client().set_alias(name, alias, version, reason=reason)
    moved = f"v{event.from_version}" if event.from_version is not None else "nothing"
    _say(f"{name}@{alias}: {moved} -> v{event.to_version} ({reason})")


@models_app.command("rollback")
def models_rollback(
    name: str,
    reason: Reason,
    alias: Annotated[str, typer.Option("--alias", "-a")] = "champion",
) -> None:
    """Move an alias back to the version it held before."""
    event = _client().rollback(name, alias, reason=reason)
    _say(f"{name}@{alias}: rolled back v{event.from_version} -> v{event.to_version} ({reason})")


@models_app.command("history")
def models_history(
    name: str,
    alias: Annotated[str | None, typer.Option("--alias", "-a")] = None,
    as_json: JsonOption = False,
) -> None:
    """The audit trail of alias moves: when, who, from which version to which, why."""
    rows = [
        {
            "when": _when(e.at),
            "alias": e.alias,
            "action": e.action,
            "from": e.from_version,
            "to": e.to_version,
            "user": e.user,
            "reason": e.reason,
        }
        for e in _client().alias_history(name, alias)
    ]
    _emit(rows, as_json, f"alias history of {name}")


@store_app.command("upgrade")
def store_upgrade() -> None:
    """Migrate the store to this mloop's schema."""
    from mloop.store import upgrade_store

    client = _client()
    before, after = upgrade_store(client.store_url)
    _say(f"store {before or 'empty'} -> {after}")


@app.command()
def serve(
    model_uri: Annotated[
        str, typer.Argument(help="models:/NAME@ALIAS, models:/NAME/VERSION or runs:/ID/model")
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    batching: Annotated[
        bool, typer.Option(help="Merge concurrent requests into one predict call.")
    ] = True,
    batch_max_rows: Annotated[int, typer.Option(min=1)] = 512,
    batch_max_wait_ms: Annotated[
        float, typer.Option(min=0, help="Wait this long for company.")
    ] = 0.0,
    max_rows: Annotated[int, typer.Option(min=1, help="Most rows one request may send.")] = 10_000,
    max_body_bytes: Annotated[int, typer.Option(min=1024)] = 8 * 1024 * 1024,
    poll_seconds: Annotated[
        float, typer.Option(min=0, help="How often to check the alias; 0 never.")
    ] = 5.0,
    log_predictions: Annotated[
        bool, typer.Option(help="Record every answer in the prediction log.")
    ] = True,
    arm: Annotated[str, typer.Option(help="Rollout arm recorded with each prediction.")] = "",
) -> None:
    """Serve a registered model over HTTP (OIP v2, MLflow scoring, plain JSON)."""
    from mloop.serving import ServeConfig, run_server

    client = _client()
    if model_uri.startswith("models:/"):
        client.resolve(model_uri)
    config = ServeConfig(
        model_uri=model_uri,
        store_url=client.store_url,
        artifacts_url=client.artifacts_url,
        host=host,
        port=port,
        workers=workers,
        batching=batching,
        batch_max_rows=batch_max_rows,
        batch_max_wait_ms=batch_max_wait_ms,
        max_rows=max_rows,
        max_body_bytes=max_body_bytes,
        poll_seconds=poll_seconds,
        log_predictions=log_predictions,
        arm=arm,
    )
    _say(f"serving {model_uri} on http://{host}:{port} with {workers} worker(s)")
    run_server(config)


@app.command()
def predict(
    input: Annotated[
        Path, typer.Option("--input", "-i", help="A .csv or .parquet file of features.")
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="models:/NAME@ALIAS or models:/NAME/VERSION")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default: INPUT.predictions.EXT")
    ] = None,
    batch_rows: Annotated[int, typer.Option(min=1)] = 10_000,
) -> None:
    """Score a file offline with a registered model; the same format comes out."""
    from rich.progress import Progress

    from mloop.serving.batch_scoring import count_rows, file_format, score_file

    file_format(input)
    target = output or input.with_name(f"{input.stem}.predictions{input.suffix}")
    file_format(target)
    loaded = _client().load_model(model)
    total = count_rows(input) if input.is_file() else 0
    with Progress(console=out, transient=True) as bar:
        task = bar.add_task(f"scoring {input.name}", total=total)
        rows = score_file(
            loaded, input, target, batch_rows=batch_rows, progress=lambda n: bar.advance(task, n)
        )
    _say(f"scored {rows} rows with {loaded.name} v{loaded.version} into {target}")


@app.command()
def demo(
    rows: Annotated[int, typer.Option(min=500, help="Customers in the scenario's dataset.")] = 5000,
) -> None:
    """Train the churn scenario's three models, track them and register the best."""
    from mloop.demo import run_demo

    run_demo(_client(), rows=rows, console=out)


def main() -> None:
    """Run the CLI, turning mloop errors into one line on stderr and an exit code."""
    try:
        app()
    except MloopError as exc:
        line = Text.assemble(("error:", "red"), " ", " ".join(str(exc).split()))
        Console(stderr=True).print(line, highlight=False, soft_wrap=True)
        sys.exit(EXIT_CODES.get(exc.code, 1))
