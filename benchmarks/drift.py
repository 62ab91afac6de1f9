"""Drift benchmark: mloop against Evidently's DataDriftPreset on the same frames, in the same run.

Three cases, each printed as a table with mloop and Evidently side by side:

- speed: each tool's drift report on 100,000 and 1,000,000 rows x 12 columns (4 shifted), with
  the ratio, mloop's memory and the verdicts; a last mloop worker times drift over a window of the
  prediction log from stored chunk profiles against the same window from raw rows; the targets
  (mloop >= 20x faster than Evidently at 1,000,000 rows, ...) are checked.
- null (false positives): reference and current of 200, 2,000, 10,000 and 1,000,000 rows drawn
  from one distribution (normal, lognormal, Poisson counts, beta, a 4- and a 200-level category),
  50 seeds (mloop 5 and Evidently 1 at 1,000,000): the share of columns each tool flags.
- power: ``churn_customers(2000, economic_downturn=1.0)`` windows against a 4,000-row reference
  without the downturn, 50 seeds: how often each tool flags each shifted and unshifted column.

Run, in a venv that holds both mloop and Evidently (``make bench`` builds ``.venv-bench``)::

    python benchmarks/drift.py                          # every case, about 10 minutes
    python benchmarks/drift.py --cases null,power --seeds 20 --large-seeds 2
    python benchmarks/drift.py --quick                  # tiny sizes, a smoke run

Each tool runs in its own worker subprocess (``--tool mloop|evidently --case drift|window|null|
power [--rows N] [--seeds N] --json``), one at a time. The parent prints the tables, checks the
targets (exit code 1 on a miss) and writes benchmarks/results/drift.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TOOLS = ("mloop", "evidently")
RESULTS = Path(__file__).resolve().parent / "results" / "drift.json"
RERUN = "make bench   (or: .venv-bench/bin/python benchmarks/drift.py [--cases ...] [--quick])"
OFFLINE_ENV = {"DO_NOT_TRACK": "true"}  # Evidently's telemetry honours this
SEED = 7
WARMUP_ROWS = 5000
MODEL = "bench-drift"
NUMERIC = (
    "normal", "normal_scale", "normal_narrow", "lognormal", "lognormal_wide",
    "uniform", "uniform_wide", "exponential", "counts", "counts_wide",
)  # fmt: skip
CATEGORICAL = ("cat4", "cat10")
SHIFTS = {
    "normal": "mean +0.5 std",
    "lognormal": "mean +0.5 std",
    "normal_scale": "std x1.3",
    "cat10": "top categories swapped",
}
"""The ground truth: the columns whose current distribution differs, and how."""
NULL_ROWS = (200, 2_000, 10_000, 1_000_000)
NULL_COLUMNS = ("normal", "lognormal", "counts", "beta", "cat4", "cat200")
EVIDENTLY_LARGE_SEEDS = 1  # Evidently takes ~1 min a run at 1,000,000 rows
POWER_REFERENCE_ROWS = 4_000
POWER_WINDOW_ROWS = 2_000
DOWNTURN = {
    "annual_income": "x0.85",
    "avg_transaction_amount": "x0.9",
    "credit_score": "-20",
}
"""The scenario's downturn (economic_downturn=1.0): the shifted columns and how."""


@dataclass(frozen=True)
class Sizes:
    """How much work the run does."""

    rows: tuple[int, ...]
    window_rows: int
    window_chunks: int
    reference_rows: int
    repeats: int
    null_rows: tuple[int, ...]
    seeds: int
    large_rows: int
    large_seeds: int


FULL = Sizes((100_000, 1_000_000), 1_000_000, 100, 100_000, 3, NULL_ROWS, 50, 1_000_000, 5)
QUICK = Sizes((2_000, 20_000), 40_000, 20, 5_000, 2, (200, 2_000), 2, 2_000, 1)
TARGET_SPEEDUP = 20.0
TARGET_CPU_S = 2.0
TARGET_MEMORY = 1.5
TARGET_WINDOW = 10.0


def make_frame(rows: int, shifted: bool, seed: int) -> pd.DataFrame:
    """Ten numeric columns of varied shapes and two categorical ones; ``shifted`` moves four."""
    rng = np.random.default_rng(seed)
    lognormal_std = float(np.sqrt((np.e**0.25 - 1) * np.e**0.25))
    frame = pd.DataFrame(
        {
            "normal": rng.normal(0.0, 1.0, rows) + (0.5 if shifted else 0.0),
            "normal_scale": 50.0 + rng.normal(0.0, 10.0, rows) * (1.3 if shifted else 1.0),
            "normal_narrow": rng.normal(-3.0, 0.5, rows),
            "lognormal": rng.lognormal(0.0, 0.5, rows) + (0.5 * lognormal_std if shifted else 0.0),
            "lognormal_wide": rng.lognormal(2.0, 1.0, rows),
            "uniform": rng.uniform(0.0, 1.0, rows),
            "uniform_wide": rng.uniform(-1000.0, 1000.0, rows),
            "exponential": rng.exponential(2.0, rows),
            "counts": rng.poisson(20, rows),
            "counts_wide": rng.poisson(1000, rows),
        }
    )
    weights = 0.75 ** np.arange(10)
    if shifted:
        weights[[0, 3]] = weights[[3, 0]]
    frame["cat4"] = categories("a", rng.choice(4, rows, p=[0.4, 0.3, 0.2, 0.1]), 4)
    frame["cat10"] = categories("k", rng.choice(10, rows, p=weights / weights.sum()), 10)
    return frame


def categories(prefix: str, codes: np.ndarray, n: int) -> np.ndarray:
    """Codes as object strings ``prefix0`` ... (what a log read back into pandas 2 holds)."""
    names = np.array([f"{prefix}{i}" for i in range(n)], dtype=object)
    return names[codes]


def null_frame(rows: int, seed: int) -> pd.DataFrame:
    """The scenario's column kinds, from one fixed distribution: any flag is a false positive."""
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, 201)  # 200 categories, the rarest 200x rarer than the first
    return pd.DataFrame(
        {
            "normal": rng.normal(35.0, 12.0, rows),
            "lognormal": rng.lognormal(10.5, 0.6, rows),
            "counts": rng.poisson(25, rows).astype("int64"),
            "beta": rng.beta(3.0, 2.0, rows),
            "cat4": categories("r", rng.choice(4, rows, p=[0.3, 0.25, 0.25, 0.2]), 4),
            "cat200": categories("c", rng.choice(200, rows, p=zipf / zipf.sum()), 200),
        }
    )


def power_frames(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scenario reference and a window of the downturn, features only."""
    from mloop.scenario import TARGET, churn_customers

    reference = churn_customers(POWER_REFERENCE_ROWS, seed=2 * seed)
    current = churn_customers(POWER_WINDOW_ROWS, seed=2 * seed + 1, economic_downturn=1.0)
    return reference.drop(columns=TARGET), current.drop(columns=TARGET)


def verdict_runs(
    tool: str, seeds: int, pair: Callable[[int], tuple[pd.DataFrame, pd.DataFrame]]
) -> dict[str, Any]:
    """How many of ``seeds`` frame pairs each column is flagged in, with each tool's methods."""
    report = mloop_verdicts if tool == "mloop" else evidently_verdicts
    flagged: dict[str, int] = {}
    methods: dict[str, list[str]] = {}
    wall = 0.0
    for seed in range(seeds):
        reference, current = pair(seed)
        start = time.perf_counter()
        verdicts = report(reference, current)
        wall += time.perf_counter() - start
        for column, verdict in verdicts.items():
            flagged[column] = flagged.get(column, 0) + int(verdict["drifted"])
            if verdict["method"] not in methods.setdefault(column, []):
                methods[column].append(verdict["method"])
    return {"seeds": seeds, "flagged": flagged, "methods": methods, "report_s": wall / seeds}


def bench_null(tool: str, rows: int, seeds: int) -> dict[str, Any]:
    """False positives: reference and current of ``rows`` rows each from one distribution."""
    out = verdict_runs(
        tool, seeds, lambda s: (null_frame(rows, 2 * s), null_frame(rows, 2 * s + 1))
    )
    return {"rows": rows, **out}


def bench_power(tool: str, seeds: int) -> dict[str, Any]:
    """Power: the scenario's downturn in windows against a non-downturn reference."""
    return verdict_runs(tool, seeds, power_frames)


def frames(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference and the current frame of ``rows`` rows each, the same in every worker."""
    return make_frame(rows, False, SEED), make_frame(rows, True, SEED + 1)


def frame_bytes(*parts: pd.DataFrame) -> int:
    """Deep memory of the frames, strings included."""
    return int(sum(part.memory_usage(deep=True).sum() for part in parts))


def clocked(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call of ``action``."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def max_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mloop_verdicts(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """mloop's drift report as method, statistic and verdict per column."""
    from mloop.monitoring.drift import detect_drift

    table = detect_drift(reference, current).table
    return {
        str(row["column"]): {
            "method": row["method"],
            "statistic": float(row["statistic"]),
            "drifted": bool(row["drifted"]),
        }
        for row in table.to_dict(orient="records")
    }


def evidently_verdicts(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Evidently's DataDriftPreset as method, score and verdict (its per-column test) per column.

    Numeric dtypes are declared numerical and the rest categorical, as mloop infers them.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [str(c) for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    other = [str(c) for c in reference.columns if str(c) not in numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=other)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    result = snapshot.dict()
    scores = {
        metric["config"]["column"]: metric
        for metric in result["metrics"]
        if metric["config"]["type"].endswith("ValueDrift")
    }
    verdicts = {}
    for test in result["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith("ValueDrift"):
            verdicts[params["column"]] = {
                "method": params["method"],
                "statistic": float(scores[params["column"]]["value"]),
                "drifted": test["status"] == "FAIL",
            }
    return verdicts


def bench_drift(tool: str, rows: int, repeats: int) -> dict[str, Any]:
    """Time one tool's drift report on ``rows`` x 12 frames; mloop also gets its memory peak."""
    reference, current = frames(rows)
    report = mloop_verdicts if tool == "mloop" else evidently_verdicts
    report(reference.head(WARMUP_ROWS), current.head(WARMUP_ROWS))  # imports and caches
    verdicts: dict[str, dict[str, Any]] = {}

    def run() -> None:
        verdicts.update(report(reference, current))

    samples = [clocked(run) for _ in range(repeats)]
    out: dict[str, Any] = {
        "rows": rows,
        "wall_s": statistics.median(wall for wall, _ in samples),
        "cpu_s": statistics.median(cpu for _, cpu in samples),
        "input_mb": frame_bytes(reference, current) / 1e6,
        "max_rss_mb": max_rss_mb(),
        "verdicts": verdicts,
    }
    if tool == "mloop":  # a separate call: tracing allocations slows the timed ones
        tracemalloc.start()
        run()
        out["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return out


def log_frame(current: pd.DataFrame, start: float) -> pd.DataFrame:
    """``current`` as served predictions: ids, one row per millisecond, features, an output."""
    frame = pd.DataFrame(
        {
            "prediction_id": [f"{i:032x}" for i in range(len(current))],
            "ts": start + np.arange(len(current)) * 0.001,
            "unit_id": None,
            "latency_ms": 1.0,
        }
    )
    features = current.add_prefix("feature.").reset_index(drop=True)
    frame[[*features.columns]] = features
    frame["prediction"] = 0.0
    return frame


def fill_log(client: Any, reference: Any, current: pd.DataFrame, chunks: int) -> float:
    """Write ``current`` as ``chunks`` log chunks with their stored profiles; return the end ts."""
    from mloop.prediction_log import model_columns
    from mloop.profiles import window_profile

    log = log_frame(current, start=time.time() - 7 * 86400)
    step = -(-len(log) // chunks)
    for begin in range(0, len(log), step):
        part = log.iloc[begin : begin + step]
        chunk = client.prediction_log.write_chunk(model=MODEL, version=1, arm="", frame=part)
        profile = window_profile(reference, model_columns(part))
        client.monitoring.save_chunk_profile(chunk.id, profile, reference)
    return float(log["ts"].iloc[-1])


def bench_window(sizes: Sizes, root: Path) -> dict[str, Any]:
    """Drift over a log window: merged stored chunk profiles against profiling the raw rows."""
    from sklearn.dummy import DummyRegressor

    import mloop
    from mloop.monitoring.drift import detect_drift
    from mloop.monitoring.windows import profile_window, read_window
    from mloop.prediction_log import Window
    from mloop.profiles import window_profile

    client = mloop.Client(f"sqlite:///{root}/m.db", artifacts_url=f"{root}/artifacts")
    reference_rows = make_frame(sizes.reference_rows, False, SEED)
    current = make_frame(sizes.window_rows, True, SEED + 1)
    run_id = client.create_run("drift", "dummy")
    model = DummyRegressor().fit(reference_rows, np.zeros(len(reference_rows)))
    client.log_model(run_id, model, input_example=reference_rows.head(100))
    client.register_model(run_id, MODEL, reference=reference_rows)
    stored = client.monitoring.reference(MODEL, 1)
    reference, features = stored.profile, stored.features
    window = Window(start=0.0, end=fill_log(client, reference, current, sizes.window_chunks) + 1)
    found: dict[str, list[str]] = {}

    def from_profiles() -> None:
        profile = profile_window(client, reference, MODEL, 1, None, window)
        found["profiles"] = detect_drift(reference, profile, columns=features).drifted_columns

    def from_rows() -> None:
        profile = window_profile(reference, read_window(client, MODEL, 1, None, window))
        found["rows"] = detect_drift(reference, profile, columns=features).drifted_columns

    profiles = [clocked(from_profiles) for _ in range(sizes.repeats)]
    rows = [clocked(from_rows) for _ in range(sizes.repeats)]
    return {
        "rows": sizes.window_rows,
        "chunks": sizes.window_chunks,
        "profiles_s": statistics.median(wall for wall, _ in profiles),
        "rows_s": statistics.median(wall for wall, _ in rows),
        "drifted_from_profiles": found["profiles"],
        "drifted_from_rows": found["rows"],
    }


def null_seeds(tool: str, rows: int, sizes: Sizes) -> int:
    """Seeds of the false-positive case at ``rows``: fewer at the large size, one for Evidently."""
    if rows < sizes.large_rows:
        return sizes.seeds
    return sizes.large_seeds if tool == "mloop" else min(sizes.large_seeds, EVIDENTLY_LARGE_SEEDS)


def run_worker(
    tool: str, case: str, rows: int | None, seeds: int | None, sizes: Sizes
) -> dict[str, Any]:
    """One tool's measurements: drift at each size (or ``rows``), mloop's window case, false
    positives at each size (or ``rows``) and the downturn's power, over ``seeds`` when given."""
    out: dict[str, Any] = {}
    if case in {"drift", "all"}:
        repeats = sizes.repeats if tool == "mloop" else 1
        out["drift"] = [bench_drift(tool, n, repeats) for n in ([rows] if rows else sizes.rows)]
    if case in {"window", "all"} and tool == "mloop":
        with tempfile.TemporaryDirectory(prefix="bench-drift-") as root:
            out["window"] = bench_window(sizes, Path(root))
    if case in {"null", "all"}:
        out["null"] = [
            bench_null(tool, n, seeds or null_seeds(tool, n, sizes))
            for n in ([rows] if rows else sizes.null_rows)
        ]
    if case in {"power", "all"}:
        out["power"] = bench_power(tool, seeds or sizes.seeds)
    return out


def spawn_worker(
    tool: str,
    case: str,
    rows: int | None,
    quick: bool,
    timeout: float,
    seeds: int | None = None,
) -> Any:
    """Run one worker in a fresh interpreter; None when it runs past ``timeout`` seconds."""
    command = [sys.executable, __file__, "--tool", tool, "--case", case, "--json"]
    command += [*(["--rows", str(rows)] if rows else []), *(["--quick"] if quick else [])]
    command += ["--seeds", str(seeds)] if seeds else []
    label = f"{tool} {case}" + (f" {rows:,} rows" if rows else "")
    label += f" {seeds} seeds" if seeds else ""
    print(f"{label} ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"{label}: timed out after {timeout:.0f} s", file=sys.stderr, flush=True)
        return None
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{label} worker failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def version_of(package: str) -> str:
    """Installed version of a distribution, or 'missing'."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def agreement(ours: dict[str, Any], theirs: dict[str, Any] | None) -> dict[str, Any]:
    """How the two tools' verdicts match each other and the ground truth."""
    columns = [*NUMERIC, *CATEGORICAL]
    truth = {column: column in SHIFTS for column in columns}
    mine = {column: ours["verdicts"][column]["drifted"] for column in columns}
    result = {"mloop_truth": sum(mine[c] == truth[c] for c in columns), "columns": len(columns)}
    if theirs is None:
        return {**result, "evidently_truth": None, "tools": None, "same_on_shifted": False}
    peer = {column: theirs["verdicts"][column]["drifted"] for column in columns}
    return {
        **result,
        "evidently_truth": sum(peer[c] == truth[c] for c in columns),
        "tools": sum(mine[c] == peer[c] for c in columns),
        "same_on_shifted": all(mine[c] == peer[c] for c in SHIFTS),
    }


def size_rows(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any] | None], timeout: float
) -> list[dict[str, Any]]:
    """One record per size: both tools' times, the ratio, memory and verdict agreement."""
    records = []
    for mine, peer in zip(ours, theirs, strict=True):
        peer_s = peer["wall_s"] if peer else timeout
        records.append(
            {
                "rows": mine["rows"],
                "mloop_s": mine["wall_s"],
                "mloop_cpu_s": mine["cpu_s"],
                "evidently_s": peer_s,
                "evidently_cpu_s": peer["cpu_s"] if peer else None,
                "evidently_timed_out": peer is None,
                "ratio": peer_s / mine["wall_s"],
                "input_mb": mine["input_mb"],
                "mloop_peak_mb": mine["peak_mb"],
                "memory_ratio": mine["peak_mb"] / mine["input_mb"],
                "mloop_max_rss_mb": mine["max_rss_mb"],
                "evidently_max_rss_mb": peer["max_rss_mb"] if peer else None,
                **agreement(mine, peer),
            }
        )
    return records


def format_sizes(records: list[dict[str, Any]]) -> str:
    """Per size: both tools' wall and CPU times, the ratio, mloop's memory, verdict agreement."""
    header = (
        f"{'rows x 12':>11}  {'mloop s':>8}  {'cpu s':>6}  {'evidently s':>11}  {'cpu s':>7}  "
        f"{'ratio':>7}  {'input MB':>8}  {'peak MB':>7}  {'peak/in':>7}  {'right m/e':>9}  "
        f"{'m = e':>5}"
    )
    lines = [header, "-" * len(header)]
    for r in records:
        if r["evidently_timed_out"]:
            peer, peer_cpu, right, same = f">{r['evidently_s']:.0f} t/o", "-", "-", "-"
        else:
            peer, peer_cpu = f"{r['evidently_s']:.2f}", f"{r['evidently_cpu_s']:.2f}"
            right, same = str(r["evidently_truth"]), str(r["tools"])
        lines.append(
            f"{r['rows']:>11,}  {r['mloop_s']:>8.3f}  {r['mloop_cpu_s']:>6.3f}  {peer:>11}  "
            f"{peer_cpu:>7}  {r['ratio']:>6.1f}x  {r['input_mb']:>8.1f}  "
            f"{r['mloop_peak_mb']:>7.1f}  {r['memory_ratio']:>6.2f}x  "
            f"{str(r['mloop_truth']) + '/' + right:>9}  {same:>5}"
        )
    return "\n".join(lines)


def format_verdicts(ours: dict[str, Any], theirs: dict[str, Any] | None) -> str:
    """Column by column at one size: shift, mloop and Evidently method, statistic and verdict."""
    header = f"{'column':<15} {'shift':<22} {'mloop':<28} evidently"
    lines = [header, "-" * (len(header) + 30)]
    for column in [*NUMERIC, *CATEGORICAL]:
        cells = []
        for result in (ours, theirs):
            if result is None:
                cells.append("timed out")
                continue
            v = result["verdicts"][column]
            verdict = "DRIFT" if v["drifted"] else "ok"
            cells.append(f"{verdict:<5} {v['statistic']:.4f} {v['method']}")
        line = f"{column:<15} {SHIFTS.get(column, '-'):<22} {cells[0]:<28} {cells[1]}"
        lines.append(line)
    return "\n".join(lines)


def targets(records: list[dict[str, Any]], window: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets, each with its measured value and pass/fail."""
    largest = max(records, key=lambda r: r["rows"])
    size = f"{largest['rows']:,} x 12"
    worst_memory = max(r["memory_ratio"] for r in records)
    window_ratio = window["rows_s"] / window["profiles_s"]
    same_window = window["drifted_from_profiles"] == window["drifted_from_rows"]
    verdicts = "same verdicts" if same_window else "verdicts DIFFER"
    return [
        {
            "target": f"speed-up vs Evidently at {size} (>= {TARGET_SPEEDUP:.0f}x), "
            "same verdicts on shifted columns",
            "measured": f"{largest['ratio']:.1f}x, "
            + ("same" if largest["same_on_shifted"] else "different or missing"),
            "passed": largest["ratio"] >= TARGET_SPEEDUP and largest["same_on_shifted"],
        },
        {
            "target": f"mloop CPU time at {size} (< {TARGET_CPU_S:.0f} s)",
            "measured": f"{largest['mloop_cpu_s']:.2f} s",
            "passed": largest["mloop_cpu_s"] < TARGET_CPU_S,
        },
        {
            "target": f"mloop peak memory / input frames, every size (<= {TARGET_MEMORY}x)",
            "measured": f"{worst_memory:.2f}x",
            "passed": worst_memory <= TARGET_MEMORY,
        },
        {
            "target": f"window drift, stored profiles vs raw rows (>= {TARGET_WINDOW:.0f}x)",
            "measured": f"{window_ratio:.1f}x, {verdicts}",
            "passed": window_ratio >= TARGET_WINDOW and same_window,
        },
    ]


def format_targets(checks: list[dict[str, Any]]) -> str:
    """The targets as a text table with PASS/FAIL."""
    width = max(len(c["target"]) for c in checks)
    measured = max(len(c["measured"]) for c in checks)
    header = f"{'target':<{width}}  {'measured':<{measured}}  result"
    lines = [header, "-" * len(header)]
    for c in checks:
        result = "PASS" if c["passed"] else "FAIL"
        lines.append(f"{c['target']:<{width}}  {c['measured']:<{measured}}  {result}")
    return "\n".join(lines)


def percent(count: int, total: int) -> str:
    """``count`` of ``total`` as a whole percentage."""
    return f"{100 * count / total:.0f}%"


def format_null(ours: list[dict[str, Any]], theirs: list[dict[str, Any] | None]) -> str:
    """Per size: the share of seeds each column is flagged in, mloop beside Evidently."""
    columns = [*NULL_COLUMNS, "all"]
    header = f"{'rows/side':>9}  {'seeds m/e':>9}  " + "  ".join(f"{c:>11}" for c in columns)
    lines = [header, f"{'':>9}  {'':>9}  " + "  ".join(f"{'m':>5} {'e':>5}" for _ in columns)]
    lines.insert(1, "-" * len(header))
    for mine, peer in zip(ours, theirs, strict=True):
        cells = []
        for column in columns:
            names = NULL_COLUMNS if column == "all" else (column,)
            counts = []
            for result in (mine, peer):
                if result is None:
                    counts.append("t/o")
                    continue
                flagged = sum(result["flagged"][c] for c in names)
                counts.append(percent(flagged, result["seeds"] * len(names)))
            cells.append(f"{counts[0]:>5} {counts[1]:>5}")
        seeds = f"{mine['seeds']}/{peer['seeds'] if peer else '-'}"
        lines.append(f"{mine['rows']:>9,}  {seeds:>9}  " + "  ".join(cells))
    lines.append("\nmethods (mloop | Evidently):")
    for mine, peer in zip(ours, theirs, strict=True):
        described = []
        for kind, names in (("numbers", NULL_COLUMNS[:4]), ("categories", NULL_COLUMNS[4:])):
            cells = []
            for result in (mine, peer):
                found = {m for c in names for m in result["methods"][c]} if result else {"-"}
                cells.append("/".join(sorted(found)))
            described.append(f"{kind} {cells[0]} | {cells[1]}")
        lines.append(f"{mine['rows']:>9,}  " + "; ".join(described))
    return "\n".join(lines)


def format_power(ours: dict[str, Any], theirs: dict[str, Any] | None) -> str:
    """Per scenario column: its downturn shift and how often each tool flags it."""
    header = (
        f"{'column':<24} {'shift':<6} {'mloop':>6} {'evidently':>9}  "
        f"{'mloop method':<24} evidently method"
    )
    lines = [header, "-" * (len(header) + 8)]
    columns = sorted(ours["flagged"], key=lambda c: (c not in DOWNTURN, c))
    for column in columns:
        mine = percent(ours["flagged"][column], ours["seeds"])
        peer = percent(theirs["flagged"][column], theirs["seeds"]) if theirs else "t/o"
        peer_method = "/".join(theirs["methods"][column]) if theirs else "-"
        lines.append(
            f"{column:<24} {DOWNTURN.get(column, '-'):<6} {mine:>6} {peer:>9}  "
            f"{'/'.join(ours['methods'][column]):<24} {peer_method}"
        )
    return "\n".join(lines)


def run_speed(sizes: Sizes, quick: bool, timeout: float) -> dict[str, Any]:
    """The speed case: both tools at each size, mloop's window case, the targets; printed."""
    ours, theirs = [], []
    for rows in sizes.rows:
        ours.append(spawn_worker("mloop", "drift", rows, quick, timeout)["drift"][0])
        peer = spawn_worker("evidently", "drift", rows, quick, timeout)
        theirs.append(peer["drift"][0] if peer else None)
    window = spawn_worker("mloop", "window", None, quick, timeout)["window"]
    records = size_rows(ours, theirs, timeout)
    checks = targets(records, window)
    print(
        f"speed: 12 columns (10 numeric, 2 categorical), reference vs current of equal size, "
        f"{len(SHIFTS)} shifted; ratio = evidently wall / mloop wall (mloop: median of "
        f"{sizes.repeats}, Evidently: 1 run)\n"
    )
    print(format_sizes(records))
    print(f"\nverdicts at {max(sizes.rows):,} rows (statistic, method):")
    print(format_verdicts(ours[-1], theirs[-1]))
    print(
        f"\nwindow of {window['rows']:,} logged rows in {window['chunks']} chunks: "
        f"stored chunk profiles {window['profiles_s']:.3f} s, raw rows {window['rows_s']:.3f} s"
    )
    print(f"\n{format_targets(checks)}\n", flush=True)
    return {
        "sizes_table": records,
        "verdicts": {"mloop": ours, "evidently": theirs},
        "window": window,
        "targets": checks,
    }


def run_null(sizes: Sizes, quick: bool, timeout: float) -> dict[str, Any]:
    """The false-positive case: both tools at each size over the seeds; printed."""
    results: dict[str, list[Any]] = {tool: [] for tool in TOOLS}
    for rows in sizes.null_rows:
        for tool in TOOLS:
            seeds = null_seeds(tool, rows, sizes)
            done = spawn_worker(tool, "null", rows, quick, timeout, seeds)
            results[tool].append(done["null"][0] if done else None)
    print(
        "false positives: reference and current of equal size drawn from one distribution "
        "(normal, lognormal, Poisson counts, beta, 4 and 200 Zipf-weighted categories); "
        "share of (column, seed) pairs flagged, m = mloop, e = Evidently\n"
    )
    print(format_null(results["mloop"], results["evidently"]) + "\n", flush=True)
    return results


def run_power(sizes: Sizes, quick: bool, timeout: float) -> dict[str, Any]:
    """The power case: the scenario's downturn for both tools over the seeds; printed."""
    done = {tool: spawn_worker(tool, "power", None, quick, timeout, sizes.seeds) for tool in TOOLS}
    results = {tool: (found["power"] if found else None) for tool, found in done.items()}
    print(
        f"power: churn_customers windows of {POWER_WINDOW_ROWS:,} rows with "
        f"economic_downturn=1.0 against a {POWER_REFERENCE_ROWS:,}-row reference without it, "
        f"{sizes.seeds} seeds; share of windows in which each column is flagged\n"
    )
    print(format_power(results["mloop"], results["evidently"]) + "\n", flush=True)
    return results


CASES = ("speed", "null", "power")


def run_parent(quick: bool, timeout: float, cases: list[str], sizes: Sizes) -> int:
    """Run the cases' workers one after another, print the tables, write the JSON; 1 on a
    missed speed target."""
    if importlib.util.find_spec("evidently") is None:
        raise SystemExit("evidently is not installed here; run `make bench` (.venv-bench)")
    versions = {name: version_of(name) for name in ("mloop", "evidently", "pandas", "numpy")}
    mode = "quick" if quick else "full"
    print(
        f"mloop vs Evidently DataDriftPreset ({mode}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + ")\n",
        flush=True,
    )
    report: dict[str, Any] = {
        "quick": quick,
        "sizes": sizes.__dict__,
        "shifted": SHIFTS,
        "downturn": DOWNTURN,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }
    runners = {"speed": run_speed, "null": run_null, "power": run_power}
    for case in cases:
        report[case] = runners[case](sizes, quick, timeout)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS}\nrerun:   {RERUN}", flush=True)
    checks = report.get("speed", {}).get("targets", [])
    return 0 if all(c["passed"] for c in checks) else 1


def main() -> int:
    """Parse the command line and run the parent or one worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=TOOLS, help="run one tool's worker only")
    parser.add_argument(
        "--case", choices=("drift", "window", "null", "power", "all"), default="all"
    )
    parser.add_argument("--rows", type=int, help="worker: this size only (rows per frame)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per worker")
    parser.add_argument("--json", action="store_true", help="worker: print results as JSON")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"parent: comma-separated of {', '.join(CASES)}"
    )
    parser.add_argument("--seeds", type=int, help="seeds of the false-positive and power cases")
    parser.add_argument(
        "--large-seeds", type=int, help="mloop's seeds of the false-positive case at 1,000,000 rows"
    )
    args = parser.parse_args()
    os.environ.update(OFFLINE_ENV)
    sizes = QUICK if args.quick else FULL
    if args.tool is None:
        cases = [case for case in args.cases.split(",") if case]
        if unknown := sorted(set(cases) - set(CASES)):
            parser.error(f"unknown cases {', '.join(unknown)}")
        if args.seeds:
            sizes = replace(sizes, seeds=args.seeds)
        if args.large_seeds:
            sizes = replace(sizes, large_seeds=args.large_seeds)
        return run_parent(args.quick, args.timeout, cases, sizes)
    result = run_worker(args.tool, args.case, args.rows, args.seeds, sizes)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
