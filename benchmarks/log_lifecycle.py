"""The prediction log's life cycle at scale: 1,000,000 rows in 100 chunks over 50 days.

On one SQLite store and a local artifact folder it times and checks, in one run:

- writing the log (2 chunks a day, each inside one hour; 5,000 units);
- roll-ups of every settled hour and day, then a 30-day drift window read from them, against the
  same window merged from the stored chunk profiles alone and profiled from the raw rows;
- retention of 30 days: afterwards no row older than the cutoff can be read and no label of one
  is left;
- erasure of one unit: afterwards none of its rows or labels can be read, and the audit says how
  many went;
- no orphan blob: the blobs on disk are exactly those a row of the store names.

There is no peer to compare with (MLflow and Evidently keep no prediction log); the table shows
mloop's seconds per step. A failed check exits 1.

    python benchmarks/log_lifecycle.py            # 1,000,000 rows, 100 chunks (a few minutes)
    python benchmarks/log_lifecycle.py --quick    # 20,000 rows, 20 chunks, a smoke run
    python benchmarks/log_lifecycle.py --rows 200000 --chunks 40 --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import mloop
from mloop.config import load_settings
from mloop.demo import churn_pipeline
from mloop.modelio.outputs import predict_outputs
from mloop.monitoring.windows import window_sources
from mloop.prediction_log import Window, model_columns, output_columns
from mloop.profiles import merge_all, window_profile
from mloop.scenario import TARGET, churn_customers
from mloop.services.rollups import stored_profile
from mloop.store import open_store

DAY = 86_400.0
DAYS = 50
UNITS = 5_000


def _timed(step: str, table: list[dict[str, Any]], work: Callable[[], Any], detail: str) -> Any:
    began = time.perf_counter()
    result = work()
    table.append({"step": step, "seconds": round(time.perf_counter() - began, 3), "detail": detail})
    return result


def _client(folder: Path) -> tuple[mloop.Client, Any]:
    data = churn_customers(8000, seed=11)
    train, holdout = data.iloc[:6000], data.iloc[6000:]
    model = churn_pipeline(LogisticRegression(max_iter=1000)).fit(
        train.drop(columns=[TARGET]), train[TARGET]
    )
    settings = replace(
        load_settings(),
        store_url=f"sqlite:///{folder / 'mloop.db'}",
        artifacts_url=str(folder / "artifacts"),
    )
    client = mloop.Client(settings=settings)
    run_id = client.create_run("churn", "lr")
    client.log_model(run_id, model, input_example=train.drop(columns=[TARGET]))
    client.register_model(
        run_id, "churn", reference=holdout.drop(columns=[TARGET]), reference_labels=holdout[TARGET]
    )
    return client, model


def _write_log(client: mloop.Client, model: Any, rows: int, chunks: int, base: float) -> None:
    """``chunks`` chunks of ``rows / chunks`` rows, spread over DAYS days, each in one hour."""
    size = rows // chunks
    sample = churn_customers(size, seed=5)
    features = sample.drop(columns=[TARGET]).add_prefix("feature.")
    outputs = pd.DataFrame(output_columns(predict_outputs(model, sample.drop(columns=[TARGET]))))
    spacing = 3000.0 / size
    for number in range(chunks):
        start = base + number * (DAYS * DAY / chunks) + 600
        first = number * size
        frame = pd.DataFrame(
            {
                "prediction_id": [f"p{first + row}" for row in range(size)],
                "ts": start + np.arange(size) * spacing,
                "unit_id": [f"u{(first + row) % UNITS}" for row in range(size)],
                "latency_ms": 1.0,
            }
        )
        frame = pd.concat([frame, features, outputs], axis=1)
        client.prediction_log.write_chunk(model="churn", version=1, arm="", frame=frame)
    truth = sample[TARGET].to_numpy()
    client.feedback({f"p{i}": int(truth[i % size]) for i in range(0, rows, 4)})


def run(rows: int, chunks: int) -> dict[str, Any]:
    """Build the log, time each step, check what must hold; returns the table and checks."""
    table: list[dict[str, Any]] = []
    checks: dict[str, bool] = {}
    base = math.floor(time.time() / DAY) * DAY - DAYS * DAY
    with tempfile.TemporaryDirectory() as folder:
        client, model = _client(Path(folder))
        _timed(
            "write the log",
            table,
            lambda: _write_log(client, model, rows, chunks, base),
            f"{rows:,} rows in {chunks} chunks",
        )
        written = _timed("roll up hours and days", table, client.rollups.roll_up, "")
        table[-1]["detail"] = f"{written} roll-ups"
        reference = client.monitoring.reference("churn", 1).profile
        now = time.time()
        window = Window(start=now - 30 * DAY, end=now)
        rolled = _timed(
            "30-day profile from roll-ups",
            table,
            lambda: window_sources(client, reference, "churn", 1, None, window),
            "",
        )
        table[-1]["detail"] = f"{rolled.rollups} roll-ups, {rolled.stored} chunk profiles"
        checks["30-day window reads roll-ups, no chunk rows"] = (
            rolled.rollups > 0 and rolled.read == 0
        )
        lifecycle = open_store(client.store_url).lifecycle  # type: ignore[attr-defined]
        inside = client.prediction_log.chunks("churn", window=window)
        _timed(
            "30-day profile from chunk profiles",
            table,
            lambda: merge_all(
                stored_profile(data, reference)
                for data in client.monitoring.stored_chunk_profiles([c.id for c in inside]).values()
            ),
            f"{len(inside)} chunk profiles",
        )
        frame = _timed(
            "30-day profile from raw rows",
            table,
            lambda: window_profile(
                reference,
                model_columns(client.read_predictions("churn", start=window.start, end=now)),
            ),
            "",
        )
        checks["roll-ups count the same rows as the raw rows"] = (
            frame.n_rows == rolled.profile.n_rows
        )
        report = _timed(
            "retain 30 days", table, lambda: client.log_lifecycle.retain(30, now=now), ""
        )
        table[-1]["detail"] = (
            f"{report.pruned.rows:,} rows, {report.pruned.labels:,} labels, "
            f"{report.pruned.dropped} chunks dropped, {report.pruned.rewritten} rewritten"
        )
        left = client.read_predictions("churn", with_feedback=True)
        checks["no expired row can be read"] = bool(left["ts"].min() >= report.cutoff)
        gone = [f"p{i}" for i in range(0, rows, 4)]
        kept_ids = set(left["prediction_id"])
        expired = [pid for pid in gone if pid not in kept_ids]
        checks["no label of an expired row is left"] = (
            client.prediction_log.feedback_for(expired) == {}
        )
        erasure = _timed("erase one unit", table, lambda: client.log_lifecycle.erase("u42"), "")
        table[-1]["detail"] = (
            f"{erasure.rows} rows, {erasure.labels} labels, {erasure.chunks} chunks"
        )
        after = client.read_predictions("churn")
        checks["no erased row can be read"] = "u42" not in set(after["unit_id"])
        blobs = set(client.artifacts.blobs_older_than(math.inf))
        checks["no orphan blob, nothing dangling"] = blobs == lifecycle.referenced_digests()
    return {"rows": rows, "chunks": chunks, "table": table, "checks": checks}


def _print(result: dict[str, Any]) -> None:
    print(f"prediction log life cycle: {result['rows']:,} rows in {result['chunks']} chunks")
    print(f"{'step':38} {'seconds':>9}  detail")
    for row in result["table"]:
        print(f"{row['step']:38} {row['seconds']:9.3f}  {row['detail']}")
    for name, held in result["checks"].items():
        print(f"{'ok  ' if held else 'FAIL'} {name}")
    print("rerun: python benchmarks/log_lifecycle.py [--quick] [--rows N --chunks N]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20,000 rows in 20 chunks")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    options = parser.parse_args()
    rows, chunks = (20_000, 20) if options.quick else (options.rows, options.chunks)
    result = run(rows, chunks)
    if options.json:
        print(json.dumps(result))
    else:
        _print(result)
    sys.exit(0 if all(result["checks"].values()) else 1)


if __name__ == "__main__":
    main()
