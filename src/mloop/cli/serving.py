"""Commands that serve a model over HTTP and score files offline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mloop.cli.common import client, out, say
from mloop.errors import InvalidInput

if TYPE_CHECKING:
    from mloop.modelio.loaded import LoadedModel
    from mloop.serving.batch_scoring import FileJob, MapTasks


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
    max_rows: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Most rows one request may send.")
    ] = 10_000,
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
    say(
        f"serving {model_uri} on http://{host}:{port} with {workers} worker(s) once each has "
        "loaded its model (GET /v2/health/ready answers 200 then)"
    )
    settings = replace(
        active.settings, store_url=active.store_url, artifacts_url=active.artifacts_url
    )
    run_server(config, settings, factory="mloop.runtime:serve_app")


def predict(
    ctx: typer.Context,
    input: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help="A .csv or .parquet file, a folder of them, or a glob ('scores/*.parquet').",
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="models:/NAME@ALIAS or models:/NAME/VERSION")
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="A file (default INPUT.predictions.EXT), or an existing folder (one for many).",
        ),
    ] = None,
    batch_rows: Annotated[int, typer.Option(min=1)] = 10_000,
    executor: Annotated[
        str, typer.Option(help="local, or dask: one task per file on Dask workers.")
    ] = "local",
    dask_address: Annotated[
        str | None, typer.Option(help="A Dask scheduler (tcp://host:8786); default a local one.")
    ] = None,
) -> None:
    """Score files offline with a registered model; each comes out in its own format."""
    from mloop.retraining.executors import executor_for

    if dask_address is not None and executor != "dask":
        raise InvalidInput("--dask-address needs --executor dask", field="dask_address")
    runner = executor_for(executor, dask_address)
    if executor == "local" and _one_file(input):
        _predict_file(ctx, Path(input), model, output, batch_rows)
        return
    jobs = _file_jobs(input, output)
    loaded = client(ctx).registry.load_model(model)
    _score_jobs(loaded, jobs, runner.map, executor, batch_rows)
    folder = jobs[0].target.parent
    say(f"scored {len(jobs)} file(s) with {loaded.name} v{loaded.version} into {folder}")


def _one_file(input: str) -> bool:
    """Whether ``--input`` names one file rather than a folder or a glob pattern."""
    return not any(mark in input for mark in "*?[") and not Path(input).is_dir()


def _file_jobs(input: str, output: str | None) -> list[FileJob]:
    from mloop.cli.files import check_input, input_files, output_folder, single_target
    from mloop.serving.batch_scoring import FileJob, file_format

    if _one_file(input):
        source = check_input(Path(input), "input")
        target = single_target(source, output)
        file_format(target)
        return [FileJob(source, target)]
    sources = input_files(input)
    folder = output_folder(None if output is None else Path(output), sources)
    return [FileJob(source, folder / source.name) for source in sources]


def _score_jobs(
    loaded: LoadedModel, jobs: list[FileJob], map_tasks: MapTasks, executor: str, batch_rows: int
) -> None:
    from rich.progress import Progress

    from mloop.serving.batch_scoring import score_files

    with Progress(console=out, transient=True, disable=not out.is_terminal) as bar:
        task = bar.add_task(f"scoring {len(jobs)} file(s) on {executor}", total=len(jobs))
        rows = score_files(
            loaded,
            jobs,
            map_tasks,
            batch_rows=batch_rows,
            progress=lambda done: bar.update(task, completed=done),
        )
    for job, count in zip(jobs, rows, strict=True):
        say(f"{job.source} -> {job.target}: {count} rows")


def _predict_file(
    ctx: typer.Context, input: Path, model: str, output: str | None, batch_rows: int
) -> None:
    """One file in this process, with a progress bar by rows."""
    from rich.progress import Progress

    from mloop.cli.files import check_input, reading, single_target
    from mloop.serving.batch_scoring import count_rows, file_format, score_file

    check_input(input, "input")
    target = single_target(input, output)
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
