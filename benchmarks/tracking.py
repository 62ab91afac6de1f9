"""Tracking benchmark: mloop against MLflow, both on a SQLite file, measured in the same run.

Run ``python benchmarks/tracking.py`` (``--quick`` for a smoke run) in a venv that holds both
mloop and MLflow (``make bench`` builds ``.venv-bench``). Each tool runs in its own worker
subprocess (``--tool mloop|mlflow --json``) on a fresh temp dir, so neither tool's imports or
caches touch the other; the parent alternates the workers for a few rounds, takes the median per
case, prints one table and writes benchmarks/results/tracking.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

TOOLS = ("mloop", "mlflow")
CASES = ("a", "b", "c", "d", "e")
RESULTS = Path(__file__).resolve().parent / "results" / "tracking.json"
RERUN = "make bench   (or: .venv-bench/bin/python benchmarks/tracking.py [--quick] [--rounds N])"
# No telemetry, no outbound calls from MLflow or anything else that honours these.
OFFLINE_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
EXPERIMENT = "bench"
LOG_EXPERIMENT = "bench-log"
FILTER = "metrics.m0 > 0.5"
IMPORT_SAMPLES = 5


@dataclass(frozen=True)
class Sizes:
    """How much work each case does."""

    n_metrics: int
    n_runs: int
    n_keys: int
    repeats: int


FULL = Sizes(n_metrics=1000, n_runs=200, n_keys=10, repeats=5)
QUICK = Sizes(n_metrics=100, n_runs=20, n_keys=10, repeats=3)


@dataclass(frozen=True)
class Case:
    """One row of the table: what is timed and the speed-up mloop must reach."""

    name: str
    label: str
    target: float


def case_table(sizes: Sizes) -> list[Case]:
    """The benchmark cases with their labels for these sizes."""
    n, runs, keys = sizes.n_metrics, sizes.n_runs, sizes.n_keys
    return [
        Case("a", f"(a) {n:,} log_metric calls, one run", 10.0),
        Case("b", f"(b) log_batch of {n:,} metrics", 3.0),
        Case("c", f"(c) {runs} runs x {keys} params + {keys} metrics", 10.0),
        Case("d", f"(d) search {runs} runs '{FILTER}' -> DataFrame", 3.0),
        Case("e", "(e) import", 3.0),
    ]


def timed(action: Callable[[], object]) -> float:
    """Seconds one call of ``action`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_time(action: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``action``."""
    return statistics.median(timed(action) for _ in range(repeats))


def loss_curve(sizes: Sizes) -> list[float]:
    """The values case (a) logs one call at a time, the same for both tools."""
    rng = random.Random(0)
    return [rng.random() for _ in range(sizes.n_metrics)]


def batch_points(sizes: Sizes) -> list[tuple[str, float, int, int]]:
    """(key, value, step, timestamp in ms) for one batch: n_keys metrics over n/n_keys steps."""
    rng = random.Random(1)
    now_ms = int(time.time() * 1000)
    return [
        (f"m{i % sizes.n_keys}", rng.random(), i // sizes.n_keys, now_ms + i)
        for i in range(sizes.n_metrics)
    ]


def run_values(sizes: Sizes) -> list[tuple[dict[str, str], dict[str, float]]]:
    """Params and metrics of each run of case (c), the same for both tools."""
    rng = random.Random(2)
    return [
        (
            {f"p{k}": str(rng.randint(0, 100)) for k in range(sizes.n_keys)},
            {f"m{k}": rng.random() for k in range(sizes.n_keys)},
        )
        for _ in range(sizes.n_runs)
    ]


def import_seconds(module: str) -> float:
    """Median wall time of ``python -c 'import module'`` minus that of ``python -c 'pass'``."""

    def spawn(code: str) -> float:
        return timed(lambda: subprocess.run([sys.executable, "-c", code], check=True))

    spawn(f"import {module}")  # warm the OS file cache and bytecode
    imports, empties = [], []
    for _ in range(IMPORT_SAMPLES):
        imports.append(spawn(f"import {module}"))
        empties.append(spawn("pass"))
    return statistics.median(imports) - statistics.median(empties)


def bench_mloop(cases: set[str], sizes: Sizes, root: Path) -> dict[str, float]:
    """Seconds per case for mloop on a SQLite store under ``root``."""
    os.environ["MLOOP_HOME"] = str(root)
    os.environ.pop("MLOOP_STORE_URL", None)
    os.environ.pop("MLOOP_ARTIFACTS_URL", None)
    import mloop
    import mloop.entities

    client = mloop.Client()
    client.get_or_create_experiment(LOG_EXPERIMENT)  # opens and migrates the store, untimed
    client.get_or_create_experiment(EXPERIMENT)
    out: dict[str, float] = {}
    if "a" in cases:
        values = loss_curve(sizes)
        with mloop.start_run(experiment=LOG_EXPERIMENT, name="a") as run:
            out["a"] = timed(
                lambda: [run.log_metric("loss", v, step=i) for i, v in enumerate(values)]
            )
    if "b" in cases:
        points = [
            mloop.entities.Metric(k, v, step, ms / 1000) for k, v, step, ms in batch_points(sizes)
        ]

        def log_batch() -> float:
            run_id = client.create_run(LOG_EXPERIMENT, "b")
            seconds = timed(lambda: client.log_batch(run_id, metrics=points))
            client.end_run(run_id)
            return seconds

        out["b"] = statistics.median(log_batch() for _ in range(sizes.repeats))
    if cases & {"c", "d"}:

        def log_runs() -> None:
            for i, (params, metrics) in enumerate(run_values(sizes)):
                with mloop.start_run(experiment=EXPERIMENT, name=f"run-{i}") as run:
                    run.log_params(params)
                    run.log_metrics(metrics)

        out["c"] = timed(log_runs)
    if "d" in cases:
        out["d"] = median_time(
            lambda: mloop.search_runs(experiment=EXPERIMENT, filter=FILTER, max_results=1000),
            sizes.repeats,
        )
    if "e" in cases:
        out["e"] = import_seconds("mloop")
    return {k: v for k, v in out.items() if k in cases}


def bench_mlflow(cases: set[str], sizes: Sizes, root: Path) -> dict[str, float]:
    """Seconds per case for MLflow on a SQLite tracking store under ``root``."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    artifacts = (root / "mlartifacts").as_uri()
    # Creating the experiments creates and migrates the database, untimed.
    log_experiment = mlflow.create_experiment(LOG_EXPERIMENT, artifact_location=artifacts)
    mlflow.create_experiment(EXPERIMENT, artifact_location=artifacts)
    client = MlflowClient()
    out: dict[str, float] = {}
    if "a" in cases:
        values = loss_curve(sizes)
        with mlflow.start_run(experiment_id=log_experiment, run_name="a"):
            out["a"] = timed(
                lambda: [mlflow.log_metric("loss", v, step=i) for i, v in enumerate(values)]
            )
    if "b" in cases:
        points = [
            Metric(key=key, value=value, timestamp=ms, step=step)
            for key, value, step, ms in batch_points(sizes)
        ]

        def log_batch() -> float:
            run_id = client.create_run(log_experiment, run_name="b").info.run_id
            seconds = timed(lambda: client.log_batch(run_id, metrics=points))
            client.set_terminated(run_id)
            return seconds

        out["b"] = statistics.median(log_batch() for _ in range(sizes.repeats))
    if cases & {"c", "d"}:
        mlflow.set_experiment(EXPERIMENT)

        def log_runs() -> None:
            for i, (params, metrics) in enumerate(run_values(sizes)):
                with mlflow.start_run(run_name=f"run-{i}"):
                    mlflow.log_params(params)
                    mlflow.log_metrics(metrics)

        out["c"] = timed(log_runs)
    if "d" in cases:
        out["d"] = median_time(
            lambda: mlflow.search_runs(
                experiment_names=[EXPERIMENT], filter_string=FILTER, max_results=1000
            ),
            sizes.repeats,
        )
    if "e" in cases:
        out["e"] = import_seconds("mlflow")
    return {k: v for k, v in out.items() if k in cases}


def run_worker(tool: str, cases: set[str], sizes: Sizes) -> dict[str, float]:
    """Time the cases for one tool on a fresh temp dir, removed afterwards."""
    bench = bench_mloop if tool == "mloop" else bench_mlflow
    with tempfile.TemporaryDirectory(prefix=f"bench-{tool}-") as root:
        return bench(cases, sizes, Path(root))


def spawn_worker(tool: str, case: str, quick: bool) -> dict[str, float]:
    """Run one tool's worker in a fresh interpreter and return its timings."""
    command = [sys.executable, __file__, "--tool", tool, "--case", case, "--json"]
    if quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{tool} worker failed with exit code {done.returncode}")
    timings: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return timings


def version_of(package: str) -> str:
    """Installed version of a distribution, or 'missing'."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def result_rows(
    sizes: Sizes, timings: dict[str, dict[str, float]], cases: set[str]
) -> list[dict[str, Any]]:
    """One record per case: both times, the ratio mlflow/mloop, the target and pass/fail."""
    rows = []
    for case in case_table(sizes):
        if case.name not in cases:
            continue
        ours, theirs = timings["mloop"][case.name], timings["mlflow"][case.name]
        ratio = theirs / ours if ours > 0 else float("inf")
        rows.append(
            {
                "case": case.name,
                "label": case.label,
                "mloop_s": ours,
                "mlflow_s": theirs,
                "ratio": ratio,
                "target": case.target,
                "passed": ratio >= case.target,
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width text table, times in milliseconds."""
    width = max(len(row["label"]) for row in rows)
    header = f"{'case':<{width}}  {'mloop ms':>10}  {'mlflow ms':>10}  {'ratio':>7}  target  result"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['label']:<{width}}  {row['mloop_s'] * 1000:>10.1f}  "
            f"{row['mlflow_s'] * 1000:>10.1f}  {row['ratio']:>6.1f}x  "
            f">={row['target']:>3.0f}x   {'PASS' if row['passed'] else 'FAIL'}"
        )
    return "\n".join(lines)


def median_timings(case: str, quick: bool, rounds: int) -> dict[str, dict[str, float]]:
    """Per tool and case, the median over ``rounds`` worker runs in alternating tool order."""
    samples: dict[str, list[dict[str, float]]] = {tool: [] for tool in TOOLS}
    for turn in range(rounds):
        for tool in TOOLS if turn % 2 == 0 else TOOLS[::-1]:
            print(f"round {turn + 1}/{rounds}: {tool} ...", file=sys.stderr, flush=True)
            samples[tool].append(spawn_worker(tool, case, quick))
    return {
        tool: {name: statistics.median(run[name] for run in runs) for name in runs[0]}
        for tool, runs in samples.items()
    }


def run_parent(case: str, quick: bool, rounds: int) -> int:
    """Run both workers, print the table and write the results JSON; 1 when a target fails."""
    sizes = QUICK if quick else FULL
    cases = set(CASES) if case == "all" else {case}
    timings = median_timings(case, quick, rounds)
    rows = result_rows(sizes, timings, cases)
    report = {
        "quick": quick,
        "rounds": rounds,
        "sizes": sizes.__dict__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: version_of(name) for name in ("mloop", "mlflow", "sqlalchemy")},
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    mode = "quick" if quick else "full"
    print(f"mloop vs MLflow tracking on SQLite ({mode}, median of {rounds} rounds; {versions})")
    print("ratio = mlflow time / mloop time; higher is better for mloop\n")
    print(format_table(rows))
    print(f"\nresults: {RESULTS}\nrerun:   {RERUN}")
    return 0 if all(row["passed"] for row in rows) else 1


def main() -> int:
    """Parse the command line and run the parent or one worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=TOOLS, help="run one tool's worker only")
    parser.add_argument("--case", choices=(*CASES, "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--rounds", type=int, default=3, help="worker runs per tool (median)")
    parser.add_argument("--json", action="store_true", help="worker: print timings as JSON")
    args = parser.parse_args()
    os.environ.update(OFFLINE_ENV)
    if args.tool is None:
        return run_parent(args.case, args.quick, max(1, args.rounds))
    cases = set(CASES) if args.case == "all" else {args.case}
    timings = run_worker(args.tool, cases, QUICK if args.quick else FULL)
    if args.json:
        print(json.dumps(timings))
    else:
        for name, seconds in sorted(timings.items()):
            print(f"{args.tool} ({name}): {seconds * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
