"""``mloop demo`` (the whole loop on the scenario) and ``mloop report`` (one model's report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mloop.cli.common import cli_state, client, out, print_json, say
from mloop.errors import InvalidInput
from mloop.store import is_server_url


def demo(
    ctx: typer.Context,
    rows: Annotated[
        int | None,
        typer.Option(min=500, help="Customers in the training data (5000; 2000 with --fast)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the data and the models.")] = 42,
    fast: Annotated[bool, typer.Option("--fast", help="Smaller traffic and models.")] = False,
    keep_serving: Annotated[
        bool, typer.Option("--keep-serving", help="Leave the servers up until Ctrl-C.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write the report here (default: MLOOP_HOME/reports).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the end state as JSON on stdout.")
    ] = False,
) -> None:
    """Run the whole loop on the bank-churn scenario, on the default store.

    Tracks three experiments, registers the best as champion, starts the team server and a
    model server on 127.0.0.1, sends production traffic and late labels, shifts it as an
    economic downturn does, detects the drift and alerts, retrains, gates, rolls the
    challenger out as a canary until it is promoted or rolled back, and writes the report.
    """
    from mloop.demo import DemoOptions, run_demo

    options = DemoOptions(
        rows=rows or (2000 if fast else 5000),
        seed=seed,
        fast=fast,
        keep_serving=keep_serving,
        report=report,
    )
    console = Console(stderr=True) if as_json else out
    if is_server_url(cli_state(ctx).settings.store_url):
        raise InvalidInput(
            "mloop demo starts its own servers on a database store (sqlite:/// or "
            "postgresql://), not on a server URL",
            field="store_url",
        )
    state = run_demo(client(ctx, create=True), options, console=console)
    if as_json:
        print_json(state.to_dict())


def report(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", "-m", help="The registered model's name.")],
    output: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    png: Annotated[
        Path | None, typer.Option(help="Also write the overview figure as a PNG here.")
    ] = None,
) -> None:
    """Write one self-contained HTML report of a model: versions, aliases, drift, performance,
    alerts, retraining and rollout decisions (opens with no network)."""
    from mloop.cli.files import check_new_file
    from mloop.cli.progress import working
    from mloop.services.model_report import write_model_report

    check_new_file(output, "out")
    if png is not None:
        check_new_file(png, "png")
    active = client(ctx)
    with working(f"writing the report of {model}"):
        path = write_model_report(active, model, output, png=png)
    say(f"wrote {path}" + (f" and {png}" if png else ""))
