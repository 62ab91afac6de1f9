"""The ``mloop`` command line: experiments, runs, models, serving, monitoring, the demo."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from mloop.cli.common import client, out, state
from mloop.cli.models import models_app, store_app
from mloop.cli.monitoring import alerts_app, monitor_app
from mloop.cli.serving import predict, serve
from mloop.cli.tracking import experiments_app, runs_app
from mloop.errors import MloopError

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
app.add_typer(experiments_app, name="experiments")
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(store_app, name="store")
app.add_typer(monitor_app, name="monitor")
app.add_typer(alerts_app, name="alerts")
app.command()(serve)
app.command()(predict)


@app.callback()
def _root(
    store: Annotated[str | None, typer.Option(help="Store URL (default: MLOOP_STORE_URL).")] = None,
    artifacts: Annotated[str | None, typer.Option(help="Artifact root URL.")] = None,
) -> None:
    """mloop: track, register, serve and monitor tabular models."""
    state["store"] = store
    state["artifacts"] = artifacts


@app.command()
def demo(
    rows: Annotated[int, typer.Option(min=500, help="Customers in the scenario's dataset.")] = 5000,
) -> None:
    """Train the churn scenario's three models, track them and register the best."""
    from mloop.demo import run_demo

    run_demo(client(), rows=rows, console=out)


def main() -> None:
    """Run the CLI, turning mloop errors into one line on stderr and an exit code."""
    try:
        app()
    except MloopError as exc:
        line = Text.assemble(("error:", "red"), " ", " ".join(str(exc).split()))
        Console(stderr=True).print(line, highlight=False, soft_wrap=True)
        sys.exit(EXIT_CODES.get(exc.code, 1))
