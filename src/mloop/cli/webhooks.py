"""Commands for the webhooks of the loop's events: their deliveries, and a delivery pass."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from mloop.cli.common import JsonOption, cli_state, client, emit, say, when
from mloop.entities import DeliveryStatus, WebhookDelivery
from mloop.store import open_store

webhooks_app = typer.Typer(no_args_is_help=True, help="Webhooks on the loop's events.")


def _row(delivery: WebhookDelivery, as_json: bool) -> dict[str, Any]:
    row = asdict(delivery)
    row["event"], row["status"] = delivery.event.value, delivery.status.value
    if not as_json:
        row["updated_at"] = when(delivery.updated_at)
        for name in ("next_attempt_at", "created_at", "event_id"):
            row.pop(name)
    return row


@webhooks_app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    status: Annotated[
        DeliveryStatus | None, typer.Option(help="Only deliveries in this status.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List webhook deliveries, newest first: event, URL, status, attempts, last error."""
    found = client(ctx).events.list_deliveries(status, limit)
    emit([_row(d, as_json) for d in found], as_json, "webhook deliveries")


@webhooks_app.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """Make one delivery pass now (what `mloop server` does every second) on a database store."""
    from mloop.webhooks import webhook_deliverer

    settings = cli_state(ctx).settings
    deliverer = webhook_deliverer(open_store(settings.store_url), settings)
    if deliverer is None:
        say("no webhooks are configured (see [[webhooks]] in mloop.toml)")
        return
    done = deliverer.run_once()
    say(f"{len(done)} attempts: " + ", ".join(f"{d.url} {d.status.value}" for d in done))
