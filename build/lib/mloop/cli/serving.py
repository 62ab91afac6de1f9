"""Commands that serve a model over HTTP and score files offline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from mloop.cli.common import client, out, say
from mloop.errors import InvalidInput


def serve(
    ctx: typer.Context,
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
    monitor_every: Annotated[
        float, typer.Option(min=0, help="Run the drift monitor every N seconds; 0 never.")
    ] = 0.0,
    monitor_window: Annotated[
        str, typer.Option(help="Monitor window: rows or a period.")
    ] = "10000",
) -> None:
    """Serve a registered model over HTTP (OIP v2, MLflow scoring, plain JSON)."""
    from mloop.serving import ServeConfig, run_server
    from mloop.serving.server import check_port_free

    active = client(ctx)
    active.registry.load_model(model_uri)
    check_port_free(host, port)
    config = ServeConfig(
        model_uri=model_uri,
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
        monitor_every_seconds=monitor_every,
        monitor_window=monitor_window,
    )
    say(f"serving {model_uri} on http://{host}:{port} with {workers} worker(s)")
    settings = replace(
        active.settings, store_url=active.store_url, artifacts_url=active.artifacts_url
    )
    run_server(config, settings, factory="mloop.runtime:serve_app")


def predict(
    ctx: typer.Context,
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

    from mloop.cli.files import check_input, check_output, reading
    from mloop.serving.batch_scoring import count_rows, file_format, score_file

    check_input(input, "input")
    target = check_output(
        input, output or input.with_name(f"{input.stem}.predictions{input.suffix}")
    )
    file_format(target)
    loaded = client(ctx).registry.load_model(model)
    with reading(input):
        total = count_rows(input)
        if total == 0:
            raise InvalidInput(f"{input} has no rows", field="input")
        with Progress(console=out, transient=True, disable=not out.is_terminal) as bar:
            task = bar.add_task(f"scoring {input.name}", total=total)
            rows = score_file(
                loaded,
                input,
                target,
                batch_rows=batch_rows,
                progress=lambda n: bar.advance(task, n),
            )
    say(f"scored {rows} rows with {loaded.name} v{loaded.version} into {target}")
