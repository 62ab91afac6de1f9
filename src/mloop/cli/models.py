"""Commands for registered models, their aliases and history, and the store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from mloop.cli.common import JsonOption, client, emit, print_json, say, when
from mloop.client import Client
from mloop.errors import InvalidInput
from mloop.services import decision_record

models_app = typer.Typer(no_args_is_help=True, help="Registered models, aliases and their history.")
store_app = typer.Typer(no_args_is_help=True, help="Maintain the store.")


@models_app.command("ls")
def models_ls(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List registered models with their newest version and aliases."""
    rows = [
        {
            "name": m.name,
            "latest_version": m.latest_version,
            "aliases": m.aliases
            if as_json
            else ", ".join(f"{a}=v{v}" for a, v in m.aliases.items()),
            "created": when(m.created_at),
        }
        for m in client(ctx).registry.list_models()
    ]
    emit(rows, as_json, "registered models")


@models_app.command("show")
def models_show(
    ctx: typer.Context,
    name: str,
    version: Annotated[int | None, typer.Option(help="Show this version's lineage.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a model's versions, or one version's lineage with --version."""
    active = client(ctx)
    if version is not None:
        lineage = active.registry.lineage(name, version)
        if as_json:
            print_json(lineage)
            return
        _print_lineage(lineage)
        return
    rows = [
        {
            "version": v.version,
            "aliases": ", ".join(v.aliases),
            "run_id": v.run_id,
            "format": v.format,
            "registered": when(v.created_at),
            "description": v.description,
        }
        for v in active.registry.list_model_versions(name)
    ]
    emit(rows, as_json, f"model {name}")


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
    emit(rows, False, "lineage")


def _reason(text: str) -> str:
    if not text.strip():
        raise typer.BadParameter("give a reason: it is kept in the audit trail")
    return text.strip()


Reason = Annotated[
    str,
    typer.Option("--reason", "-r", help="Why; kept in the audit trail.", callback=_reason),
]


SchemaChange = Annotated[
    bool,
    typer.Option(
        "--allow-schema-change", help="Move even if the version takes other inputs (audited)."
    ),
]


@models_app.command("promote")
def models_promote(
    ctx: typer.Context,
    name: str,
    version: int,
    reason: Reason,
    alias: Annotated[str, typer.Option("--alias", "-a")] = "champion",
    allow_schema_change: SchemaChange = False,
) -> None:
    """Point an alias (default: champion) at a version."""
    active = client(ctx, create=True)
    started = time.time()
    event = active.registry.set_alias(
        name, alias, version, reason=reason, allow_schema_change=allow_schema_change
    )
    if event.at < started:
        say(f"{name}@{alias} already points to v{event.to_version} (since {when(event.at)})")
        return
    moved = f"v{event.from_version}" if event.from_version is not None else "nothing"
    say(f"{name}@{alias}: {moved} -> v{event.to_version} ({event.reason})")
    running = active.rollouts.running(name)
    if running is not None and running.policy.alias == alias:
        say(
            f"warning: rollout {running.id} of {name} was running against v{running.champion}; "
            "it stops at its next evaluation, as its champion moved"
        )


@models_app.command("rollback")
def models_rollback(
    ctx: typer.Context,
    name: str,
    reason: Reason,
    alias: Annotated[str, typer.Option("--alias", "-a")] = "champion",
    to: Annotated[
        int | None, typer.Option("--to", min=1, help="Roll back to this version.")
    ] = None,
    allow_schema_change: SchemaChange = False,
) -> None:
    """Move an alias back to the version it held before, or to the version given by --to."""
    event = client(ctx, create=True).registry.rollback(
        name, alias, to=to, reason=reason, allow_schema_change=allow_schema_change
    )
    say(
        f"{name}@{alias}: rolled back v{event.from_version} -> v{event.to_version} ({event.reason})"
    )


@models_app.command("history")
def models_history(
    ctx: typer.Context,
    name: str,
    alias: Annotated[str | None, typer.Option("--alias", "-a")] = None,
    as_json: JsonOption = False,
) -> None:
    """The audit trail: alias moves and retraining decisions, oldest first, with reasons."""
    active = client(ctx)
    timed = [
        (
            e.at,
            {
                "when": when(e.at),
                "alias": e.alias,
                "action": e.action,
                "from": e.from_version,
                "to": e.to_version,
                "reason": e.reason,
                "user": e.user,
            },
        )
        for e in active.registry.alias_history(name, alias)
    ]
    if alias is None:
        timed = sorted([*timed, *_decision_rows(active, name, as_json)], key=lambda r: r[0])
    emit([row for _, row in timed], as_json, f"history of {name}")


def _decision_rows(active: Client, name: str, as_json: bool) -> list[tuple[float, dict[str, Any]]]:
    """Retraining decisions as history rows (``action`` is ``retraining.<kind>``)."""
    rows = []
    for decision in active.retraining.decisions(name):
        row = {
            "when": when(decision.at),
            "alias": "",
            "action": f"retraining.{decision.kind.value}",
            "from": decision.champion_version,
            "to": decision.challenger_version,
            "reason": decision.reason,
            "user": "",
        }
        full = {**row, "decision": decision_record(decision)} if as_json else row
        rows.append((decision.at, full))
    return rows


@models_app.command("evaluate")
def models_evaluate(
    ctx: typer.Context,
    name: str,
    versions: Annotated[str, typer.Option(help="Comma-separated versions, e.g. 1,2,3.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="A labelled .csv or .parquet.")],
    label_column: Annotated[str, typer.Option(help="The column holding true labels.")],
    as_json: JsonOption = False,
) -> None:
    """Score versions on one labelled dataset: each metric with its 95% interval.

    Rows without a label are left out and counted.
    """
    from mloop.cli.files import read_frame
    from mloop.cli.progress import working
    from mloop.retraining import evaluate_versions

    numbers = version_list(versions)
    frame = read_frame(data, "data", csv_as_text=True)
    if label_column not in frame:
        listed = ", ".join(map(str, frame.columns[:10])) + (", ..." if frame.shape[1] > 10 else "")
        raise InvalidInput(
            f"--label-column: {data} has no column {label_column!r}; its columns: {listed}",
            field="label_column",
        )
    labels = frame.pop(label_column)
    with working(f"scoring {len(numbers)} versions of {name} on {len(frame)} rows"):
        rows = evaluate_versions(client(ctx), name, numbers, frame, labels)
    scored, left_out = rows[0]["scored_rows"], rows[0]["unlabelled_rows"]
    title = f"{name} on {data.name} ({scored} labelled rows)"
    if as_json:
        emit(rows, as_json, title)
        return
    counted = ("scored_rows", "unlabelled_rows")
    emit([{k: v for k, v in row.items() if k not in counted} for row in rows], False, title)
    say(f"scored {scored} rows; left out {left_out} without a label in {label_column!r}")


def version_list(text: str) -> list[int]:
    """The versions of ``--versions`` ("1,2,3"), in order, each once.

    Raises InvalidInput (field ``versions``) naming an entry that is not a version number.
    """
    numbers: list[int] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry.isdigit() or int(entry) < 1:
            shown = repr(entry) if entry else "an empty entry"
            raise InvalidInput(
                f"--versions {text!r}: {shown} is not a version number; give numbers like 1,2,3",
                field="versions",
            )
        if int(entry) not in numbers:
            numbers.append(int(entry))
    return numbers


@store_app.command("upgrade")
def store_upgrade(ctx: typer.Context) -> None:
    """Migrate the store to this mloop's schema."""
    from mloop.store import upgrade_store

    active = client(ctx, create=True)
    before, after = upgrade_store(active.store_url)
    say(f"store {before or 'empty'} -> {after}")


@models_app.command("reference")
def models_reference(
    ctx: typer.Context,
    name: str,
    version: int,
    data: Annotated[Path, typer.Option("--data", "-d", help="A .csv or .parquet reference set.")],
    label_column: Annotated[
        str | None, typer.Option(help="The column holding true labels, if the data has one.")
    ] = None,
) -> None:
    """Store the reference profile monitoring compares a version's traffic with."""
    from mloop.cli.files import read_frame

    frame = read_frame(data, "data")
    labels = None
    if label_column is not None:
        if label_column not in frame:
            raise InvalidInput(f"{data} has no column {label_column!r}", field="label_column")
        labels = frame.pop(label_column)
    client(ctx, create=True).monitoring.set_reference(name, version, frame, labels)
    say(f"reference profile of {name} v{version}: {len(frame)} rows, {frame.shape[1]} columns")
