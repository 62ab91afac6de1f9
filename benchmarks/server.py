"""Server benchmark: mloop's REST API against MLflow's tracking server, both on SQLite.

Run ``python benchmarks/server.py`` (``--quick`` for a smoke run). Two cases, each timed over
HTTP from the tool's own Python client on this machine:

  log_metric  per-call ``log_metric`` to a running server (target: >= 3x MLflow)
  search      runs filtered on a metric and sorted, first page of 100 (target: < 200 ms at
              100,000 runs, and >= 50x MLflow)
  runs_page   the dashboard's runs page, same filter and order, first page of 100, as HTML
              (target: < 300 ms at 100,000 runs; mloop only)
  curve_page  the dashboard's page of one run whose metric has a 100,000-step history, its
              curve down-sampled (target: < 300 ms; mloop only)

The mloop server runs under uvicorn in a thread on 127.0.0.1; MLflow's, when the ``mlflow``
package is installed (the ``compat`` extra), as ``mlflow server`` in a subprocess. Without it
the MLflow column says "not run". The runs searched are written straight into each store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

FILTER = "metrics.auc > 0.5"
ORDER = "metrics.auc DESC"
PAGE = 100


@dataclass(frozen=True)
class Sizes:
    """How much work each case does."""

    calls: int
    runs: int
    repeats: int


FULL = Sizes(calls=2000, runs=100_000, repeats=5)
QUICK = Sizes(calls=100, runs=1000, repeats=3)
HISTORY = 100_000
PAGE_TARGET_SECONDS = 0.3


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float = 60) -> None:
    """Return once ``url`` answers; RuntimeError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url}")


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``action``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fill_mloop(database: str, runs: int) -> int:
    """Write ``runs`` finished runs with params and an ``auc`` metric; return the experiment id."""
    from mloop.entities import Metric, NewRun, RunBatch, RunStatus
    from mloop.store import open_store

    store = open_store(database).runs
    experiment = store.get_or_create_experiment("bench").id
    rng = random.Random(0)
    for number in range(runs):
        run_id = store.create_run(NewRun(experiment, f"r{number}", "bench"))
        metrics = [Metric("auc", rng.random(), 0, time.time())]
        store.log_batch(run_id, RunBatch({"lr": str(rng.random())}, metrics, {}))
        store.end_run(run_id, RunStatus.FINISHED)
    return experiment


def long_history(client: Any) -> str:
    """A run whose ``loss`` has ``HISTORY`` steps, in another experiment; returns its id."""
    from mloop.entities import Metric

    run_id = client.create_run("curves", "long")
    points = [Metric("loss", 1.0 / (1 + step), step, 0.0) for step in range(HISTORY)]
    client.log_batch(run_id, metrics=points)
    return str(run_id)


def bench_mloop(root: Path, sizes: Sizes) -> dict[str, float]:
    """Seconds per log_metric call, per first search page and per dashboard page, against a
    local mloop server."""
    import uvicorn

    import mloop
    from mloop.api import create_api
    from mloop.config import load_settings
    from mloop.dashboard import dashboard_router

    os.environ["MLOOP_HOME"] = str(root / "mloop")
    database = f"sqlite:///{root / 'mloop.db'}"
    experiment = fill_mloop(database, sizes.runs)
    curve_run = long_history(mloop.Client(database))
    port = free_port()
    settings = replace(load_settings(), store_url=database)
    app = create_api(settings, pages=[dashboard_router(mloop.Client(database))])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/api/v1/")
    try:
        client = mloop.Client(url)
        run_id = client.create_run("log", "calls")
        log = median_seconds(lambda: _calls(client, run_id, sizes.calls), 1) / sizes.calls
        body = {"experiment_ids": [experiment], "filter": FILTER, "order_by": [ORDER]}
        with httpx.Client(base_url=f"{url}/api/v1", timeout=600) as http:
            search = median_seconds(
                lambda: http.post("/runs/search", json={**body, "max_results": PAGE}), sizes.repeats
            )
        with httpx.Client(base_url=url, timeout=600) as http:
            pages = {
                "runs_page": (
                    "/runs",
                    {"experiment": "bench", "filter": FILTER, "order": ORDER, "size": PAGE},
                ),
                "curve_page": ("/runs/compare", {"ids": curve_run}),
            }
            timed = {
                name: median_seconds(lambda p=path, q=query: _page(http, p, q), sizes.repeats)
                for name, (path, query) in pages.items()
            }
        return {"log_metric": log, "search": search, **timed}
    finally:
        server.should_exit = True


def _page(http: httpx.Client, path: str, query: dict[str, Any]) -> None:
    answer = http.get(path, params=query)
    if answer.status_code != 200:
        raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:200]}")


def _calls(client: Any, run_id: str, count: int) -> None:
    for step in range(count):
        client.log_metric(run_id, "loss", 0.5, step=step)


def write_mlflow_runs(path: Path, artifacts: Path, runs: int) -> str:
    """Create MLflow's schema and one experiment with ``runs`` finished runs, each with an
    ``auc`` metric, written straight into its SQLite tables (as mloop's runs are written into
    its store); returns the experiment id."""
    import sqlite3
    import uuid

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{path}", str(artifacts))
    experiment = str(store.create_experiment("bench"))
    store.engine.dispose()
    rng = random.Random(0)
    rows = [(uuid.uuid4().hex, rng.random()) for _ in range(runs)]
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO runs VALUES (?, ?, 'UNKNOWN', '', '', 'bench', 'FINISHED', ?, ?, '',"
            " 'active', ?, ?, NULL)",
            [(run, f"r{i}", i, i, f"{artifacts}/{run}", int(experiment))
             for i, (run, _) in enumerate(rows)],
        )  # fmt: skip
        for table in ("metrics", "latest_metrics"):
            columns = "(key, value, timestamp, run_uuid, step, is_nan)"
            db.executemany(
                f"INSERT INTO {table} {columns} VALUES ('auc', ?, 0, ?, 0, 0)",
                [(auc, run) for run, auc in rows],
            )
    return experiment


def bench_mlflow(root: Path, sizes: Sizes) -> dict[str, float] | None:
    """The same cases against ``mlflow server`` on SQLite; None when MLflow is not installed."""
    program = Path(sys.executable).with_name("mlflow")
    found = str(program) if program.exists() else shutil.which("mlflow")
    if found is None:
        return None
    import mlflow
    from mlflow.tracking import MlflowClient

    port = free_port()
    database = f"sqlite:///{root / 'mlflow.db'}"
    experiment = write_mlflow_runs(root / "mlflow.db", root / "mlflow-artifacts", sizes.runs)
    command = [found, "server", "--backend-store-uri", database, "--port", str(port)]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    process = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/health", 120)
        mlflow.set_tracking_uri(url)
        client = MlflowClient(url)
        run_id = client.create_run(experiment).info.run_id
        started = time.perf_counter()
        for step in range(sizes.calls):
            client.log_metric(run_id, "loss", 0.5, step=step)
        log = (time.perf_counter() - started) / sizes.calls
        search = median_seconds(
            lambda: client.search_runs([experiment], FILTER, order_by=[ORDER], max_results=PAGE),
            sizes.repeats,
        )
        return {"log_metric": log, "search": search}
    finally:
        process.terminate()
        process.wait(timeout=30)


def report(sizes: Sizes, ours: dict[str, float], theirs: dict[str, float] | None) -> None:
    """Print one table: seconds per case for each tool and the ratio measured."""
    print(f"runs searched: {sizes.runs:,}; log_metric calls: {sizes.calls:,}")
    print(f"{'case':<12}{'mloop':>12}{'mlflow':>12}{'ratio':>10}")
    for case, seconds in ours.items():
        if case in ("runs_page", "curve_page"):
            verdict = "PASS" if seconds < PAGE_TARGET_SECONDS else "FAIL"
            print(f"{case:<12}{seconds * 1000:>10.2f}ms{'no peer':>12}{verdict:>10}")
            continue
        if theirs is None:
            print(f"{case:<12}{seconds * 1000:>10.2f}ms{'not run':>12}{'-':>10}")
            continue
        ratio = theirs[case] / seconds
        print(f"{case:<12}{seconds * 1000:>10.2f}ms{theirs[case] * 1000:>10.2f}ms{ratio:>9.1f}x")


def main() -> None:
    """Run both tools on fresh temp folders; print the table (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="also print the timings as JSON")
    parser.add_argument("--only-mloop", action="store_true", help="skip MLflow")
    parser.add_argument("--runs", type=int, help="runs searched (default 100,000; --quick 1,000)")
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    if options.runs:
        sizes = replace(sizes, runs=options.runs)
    with tempfile.TemporaryDirectory() as folder:
        ours = bench_mloop(Path(folder), sizes)
        theirs = None if options.only_mloop else bench_mlflow(Path(folder), sizes)
    report(sizes, ours, theirs)
    if options.json:
        print(json.dumps({"mloop": ours, "mlflow": theirs}))


if __name__ == "__main__":
    sys.exit(main())
