"""``mloop server``: one server for a team, the REST API that remote clients use."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from mloop.cli.common import cli_state, say
from mloop.errors import InvalidInput
from mloop.store import is_server_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def server(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 5000,
    serve: Annotated[
        str | None, typer.Option(help="Also serve this model (NAME, NAME@ALIAS or models:/ URI).")
    ] = None,
    monitor: Annotated[
        list[str] | None, typer.Option(help="Schedule a monitor of NAME@ALIAS (repeatable).")
    ] = None,
    monitor_every: Annotated[float, typer.Option(min=0.1, help="Seconds between runs.")] = 60.0,
    monitor_window: Annotated[
        str, typer.Option(help="Monitor window: rows or a period.")
    ] = "10000",
    retrain_every: Annotated[
        float, typer.Option(min=0.1, help="Seconds between runs of each retraining policy.")
    ] = 60.0,
    schedules: Annotated[
        bool, typer.Option(help="Run monitors, retraining policies and rollout evaluations.")
    ] = True,
) -> None:
    """Run the mloop server: the dashboard at /, the REST API under /api/v1 for remote clients,
    and the schedulers."""
    from mloop.runtime import TeamServer, run_team_server

    settings = cli_state(ctx).settings
    if is_server_url(settings.store_url):
        raise InvalidInput(
            "mloop server needs a database store (sqlite:/// or postgresql://), not a server URL",
            field="store_url",
        )
    if host not in settings.allowed_hosts and host not in ("0.0.0.0", "::"):
        settings = replace(settings, allowed_hosts=(*settings.allowed_hosts, host))
    if host not in LOOPBACK and not settings.token:
        say("warning: listening beyond this machine without MLOOP_TOKEN: anyone can write")
    config = TeamServer(
        host,
        port,
        serve,
        tuple(monitor or ()),
        monitor_every,
        monitor_window,
        retrain_every,
        schedules,
    )
    where = f"mloop server on http://{host}:{port} (dashboard; API at /api/v1, docs: /api/v1/docs)"
    run_team_server(config, settings, announce=lambda: say(where))
