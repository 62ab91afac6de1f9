"""Commands for monitoring runs, their history, and alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mloop.cli.common import JsonOption, client, emit, parse_time, print_json, say, when
from mloop.entities import AlertStatus, MonitorKind
from mloop.errors import InvalidInput
from mloop.prediction_log import Window, parse_window

monitor_app = typer.Typer(no_args_is_help=True, help="Drift and performance of production traffic.")
alerts_app = typer.Typer(no_args_is_help=True, help="List, acknowledge and resolve alerts.")


def _performance_rows(name: str, result: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not result:
        return []
    current = result.get("metrics") or {
        k: v["value"] for k, v in result.get("estimates", {}).items()
    }
    reference = result.get("reference", {})
    return [
        {"kind": name, "metric": k, "current": v, "reference": reference.get(k)}
        for k, v in current.items()
    ]


@monitor_app.command("run")
def monitor_run(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@ALIAS, NAME/VERSION or NAME")],
    window: Annotated[
        str | None,
        typer.Option("--window", "-w", help="Rows (default 10000) or a period (6h, 7d)."),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="From this time: ISO date or epoch seconds.")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Until this time (excluded): ISO date or epoch seconds.")
    ] = None,
    arm: Annotated[str | None, typer.Option(help="Only predictions of this rollout arm.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write an HTML drift report here.")] = None,
    webhook: Annotated[
        str | None, typer.Option(help="POST alerts here (see MLOOP_WEBHOOK_ALLOW).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare a window of production with the reference; store the result and alert."""
    from mloop.cli.files import check_new_file
    from mloop.cli.progress import working
    from mloop.monitoring.monitor import run_monitor
    from mloop.monitoring.notifiers import LogNotifier, Notifier, WebhookNotifier

    if report is not None:
        check_new_file(report, "report")
    chosen = _window(window, start, end)
    active = client(ctx, create=True)
    notifiers: list[Notifier] = [LogNotifier()]
    if webhook:
        notifiers.append(WebhookNotifier(webhook, allowed=active.settings.webhook_allow))
    with working(f"monitoring {model} over {chosen.describe()}"):
        run = run_monitor(active, model, chosen, arm=arm, notifiers=notifiers)
    rows = [
        {str(k): row[k] for k in sorted(row, key=_column_order) if k != "reference_missing"}
        for row in run.drift.table.to_dict("records")
    ]
    performance = _performance_rows("realized", run.performance) + _performance_rows(
        "estimated", run.estimated
    )
    if as_json:
        payload = {
            "drift": run.drift.summary(),
            "columns": rows,
            "performance": performance,
            "alerts": [a.id for a in run.alerts],
        }
        print_json(payload)
    elif run.drift.n_current == 0:
        on_arm = f" on arm {arm!r}" if arm else ""
        hint = (
            f" (an arm's rows are those of the version it serves: name it as {run.model}/<version>)"
            if arm
            else ""
        )
        say(
            f"no predictions of {run.model} v{run.version}{on_arm} in {run.window.describe()}: "
            f"nothing to compare{hint}; {len(run.alerts)} alert(s) active"
        )
    else:
        emit(rows, False, f"drift of {run.model} v{run.version} ({run.window.describe()})")
        if performance:
            emit(performance, False, "performance")
        verdict = "DATASET DRIFT" if run.drift.dataset_drift else "no dataset drift"
        share = f"{run.drift.share_drifted:.0%} of features drifted"
        say(f"{verdict}: {share} in {run.drift.n_current} rows; {len(run.alerts)} alert(s) active")
    if report is not None:
        _write_report(report, run)


_FIRST_COLUMNS = ("column", "drifted", "p_value", "statistic", "threshold", "method", "test")


def _column_order(name: object) -> int:
    """The verdict's columns first, so a narrow terminal keeps them (the rest follow)."""
    return _FIRST_COLUMNS.index(name) if name in _FIRST_COLUMNS else len(_FIRST_COLUMNS)


def _window(window: str | None, start: str | None, end: str | None) -> Window:
    """``--window``, or the times ``--start`` and ``--end`` bound; InvalidInput for both."""
    if start is None and end is None:
        return parse_window(window or "10000")
    if window is not None:
        raise InvalidInput("give --window or --start/--end, not both", field="window")
    since = None if start is None else parse_time(start, "start")
    until = None if end is None else parse_time(end, "end")
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"--start {start} is not before --end {end}", field="start")
    return Window(start=since, end=until)


def _write_report(path: Path, run: Any) -> None:
    from mloop.reports import drift_report_html, write_report

    rows = run.drift.table.to_dict("records") + run.prediction_drift.table.to_dict("records")
    page = drift_report_html(
        f"Drift of {run.model} v{run.version}: {run.window.describe()}",
        rows,
        run.drift.summary(),
        run.reference.profile.columns,
        run.current.columns,
    )
    say(f"report written to {write_report(path, page)}")


@monitor_app.command("history")
def monitor_history(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", "-m")],
    kind: Annotated[MonitorKind, typer.Option(help="What the results measure.")] = (
        MonitorKind.DRIFT
    ),
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Stored monitoring results over time."""
    active = client(ctx)
    active.registry.list_model_versions(model)
    rows = [
        {"when": when(r.created_at), "version": r.version, "rows": r.n_rows, **_flat(r.summary)}
        for r in active.monitoring.results(model, kind=kind, limit=limit)
    ]
    emit(rows, as_json, f"{kind} of {model}")


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items() if not isinstance(v, dict)})
        elif not isinstance(value, list):
            flat[key] = value
    return flat


@alerts_app.command("ls")
def alerts_ls(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", "-m")] = None,
    status: Annotated[AlertStatus | None, typer.Option(help="Only alerts in this state.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List alerts, newest first."""
    active = client(ctx)
    if model is not None:
        active.registry.list_model_versions(model)
    rows = [
        {
            "id": a.id,
            "status": a.status.value,
            "severity": a.severity,
            "rule": a.rule,
            "model": a.model,
            "subject": a.subject,
            "seen": a.occurrences,
            "last_seen": when(a.last_seen),
            "message": a.message,
        }
        for a in active.monitoring.alerts(model=model, status=status)
    ]
    emit(rows, as_json, "alerts")


def _move(ctx: typer.Context, alert_id: int, status: str) -> None:
    active = client(ctx, create=True)
    alert = active.monitoring.set_alert_status(alert_id, AlertStatus(status), active.settings.user)
    say(f"alert {alert.id} ({alert.rule} on {alert.subject}) is {alert.status.value}")


@alerts_app.command("ack")
def alerts_ack(ctx: typer.Context, alert_id: int) -> None:
    """Acknowledge an alert: someone is on it."""
    _move(ctx, alert_id, "acknowledged")


@alerts_app.command("resolve")
def alerts_resolve(ctx: typer.Context, alert_id: int) -> None:
    """Resolve an alert."""
    _move(ctx, alert_id, "resolved")
