"""Retraining benchmark: a sweep on the local executor and on Dask, training-set assembly from
a large prediction log against reading its chunks with pyarrow alone, and the gate's bootstrap.

Run ``python benchmarks/retraining.py`` (``--quick`` for a smoke run, ``--json`` to print the
measurements as one JSON line, ``--only assembly`` to run one of the three measurements).
Targets: Dask with 2 workers >= 1.6x faster than local on an 8-candidate sweep; assembly within
3x of the pyarrow read (best of 3 rounds of each, the first round reported too); bootstrap of
10,000 rows x 2,000 resamples under 1 s. A missed target exits 1; Dask not installed is
reported, not failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import mloop
from mloop.entities import RetrainingPolicy
from mloop.retraining import DaskExecutor, LocalExecutor, assemble
from mloop.retraining.recipe import CandidateJob, fit_candidate
from mloop.scenario import TARGET, churn_customers
from mloop.stats import Scored, paired_bootstrap

FULL = {"sweep_rows": 50_000, "candidates": 8, "log_rows": 1_000_000, "labels": 200_000,
        "gate_rows": 10_000, "resamples": 2_000}  # fmt: skip
QUICK = {"sweep_rows": 1_000, "candidates": 2, "log_rows": 20_000, "labels": 4_000,
         "gate_rows": 2_000, "resamples": 200}  # fmt: skip
RECIPE = "mloop.demo:train_churn"
PARTS = ("sweep", "assembly", "gate")
REPEATS = 3


def _sweep(size: dict[str, int]) -> dict[str, Any]:
    data = churn_customers(size["sweep_rows"], seed=1)
    jobs = [
        CandidateJob(RECIPE, data, TARGET, {"model": "gradient_boosting", "n_estimators": 60 + i})
        for i in range(size["candidates"])
    ]
    started = time.perf_counter()
    LocalExecutor().map(fit_candidate, jobs)
    local = time.perf_counter() - started
    if importlib.util.find_spec("distributed") is None:
        return {"local_s": local, "dask_s": None, "speedup": None}
    executor = DaskExecutor(workers=2)
    started = time.perf_counter()
    executor.map(fit_candidate, jobs)
    dask = time.perf_counter() - started
    return {"local_s": local, "dask_s": dask, "speedup": local / dask}


def _log(client: mloop.Client, size: dict[str, int]) -> list[str]:
    base = churn_customers(10_000, seed=2, economic_downturn=1.0)
    rng, digests, labels = np.random.default_rng(0), [], {}
    for start in range(0, size["log_rows"], 50_000):
        rows = min(50_000, size["log_rows"] - start)
        part = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
        ids = [uuid.uuid4().hex for _ in range(rows)]
        frame = pd.DataFrame({"prediction_id": ids, "ts": start + np.arange(rows, dtype=float)})
        frame = pd.concat([frame, part.drop(columns=[TARGET]).add_prefix("feature.")], axis=1)
        frame["prediction"], frame["proba.1"] = part[TARGET], rng.random(rows)
        chunk = client.prediction_log.write_chunk(model="churn", version=1, arm="", frame=frame)
        digests.append(chunk.digest)
        share = size["labels"] / size["log_rows"]
        labels.update(
            {pid: int(y) for pid, y in zip(ids, part[TARGET], strict=True) if rng.random() < share}
        )
    client.feedback(labels)
    return digests


def _assembly(folder: Path, size: dict[str, int]) -> dict[str, Any]:
    """Best of ``REPEATS`` rounds of each side, taken in turn; the first round is kept too."""
    client = mloop.Client(f"sqlite:///{folder}/store.db", artifacts_url=str(folder / "artifacts"))
    digests = _log(client, size)
    policy = RetrainingPolicy("churn", RECIPE, TARGET, window=str(size["log_rows"]))
    _register(client)
    arrow, seconds = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for digest in digests:
            pq.read_table(client.artifacts.root / "blobs" / digest[:2] / digest)
        arrow.append(time.perf_counter() - started)
        started = time.perf_counter()
        found = assemble(client, policy, 1, time.time())
        seconds.append(time.perf_counter() - started)
    return {
        "pyarrow_s": min(arrow),
        "assemble_s": min(seconds),
        "ratio": min(seconds) / min(arrow),
        "first_round": {"pyarrow_s": arrow[0], "assemble_s": seconds[0]},
        "labelled": len(found.train) + len(found.holdout),
    }


def _register(client: mloop.Client) -> None:
    from mloop.demo import train_churn

    data = churn_customers(500, seed=3)
    run_id = client.create_run("churn")
    client.log_model(run_id, train_churn(data, TARGET, {"model": "logistic_regression"}))
    client.register_model(run_id, "churn")


def _gate(size: dict[str, int]) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = size["gate_rows"]
    truth = rng.random(n) < 0.3
    champion = Scored(np.where(rng.random(n) < 0.8, truth, ~truth))
    challenger = Scored(np.where(rng.random(n) < 0.82, truth, ~truth))
    started = time.perf_counter()
    paired_bootstrap("f1", truth, champion, challenger, resamples=size["resamples"])
    return {"bootstrap_s": time.perf_counter() - started}


def main() -> int:
    """Run the three measurements; print a table (or JSON) and return 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=PARTS, help="run this measurement alone")
    options = parser.parse_args()
    size = QUICK if options.quick else FULL
    parts = [options.only] if options.only else list(PARTS)
    measured: dict[str, Any] = {"size": size}
    with tempfile.TemporaryDirectory() as folder:
        if "sweep" in parts:
            measured["sweep"] = _sweep(size)
        if "assembly" in parts:
            measured["assembly"] = _assembly(Path(folder), size)
        if "gate" in parts:
            measured["gate"] = _gate(size)
    measured["load_average"] = [round(load, 2) for load in os.getloadavg()]
    measured["checks"] = checks = _checks(measured)
    if options.json:
        print(json.dumps(measured))
    else:
        _table(measured)
    return 1 if not options.quick and any(v is False for v in checks.values()) else 0


def _checks(measured: dict[str, Any]) -> dict[str, bool | None]:
    """Each target of the measurements that ran: True met, False missed, None not measurable."""
    checks: dict[str, bool | None] = {}
    if "sweep" in measured:
        speedup = measured["sweep"]["speedup"]
        checks["dask >= 1.6x"] = None if speedup is None else speedup >= 1.6
    if "assembly" in measured:
        checks["assembly <= 3x pyarrow"] = measured["assembly"]["ratio"] <= 3
    if "gate" in measured:
        checks["bootstrap < 1 s"] = measured["gate"]["bootstrap_s"] < 1
    return checks


def _table(measured: dict[str, Any]) -> None:
    if "sweep" in measured:
        sweep = measured["sweep"]
        dask = "not installed" if sweep["dask_s"] is None else f"{sweep['dask_s']:.2f} s"
        print(f"sweep of {measured['size']['candidates']}: local {sweep['local_s']:.2f} s, "
              f"dask {dask}")  # fmt: skip
    if "assembly" in measured:
        assembly = measured["assembly"]
        first = assembly["first_round"]
        print(f"assembly (best of {REPEATS}): {assembly['assemble_s']:.2f} s vs pyarrow "
              f"{assembly['pyarrow_s']:.2f} s ({assembly['ratio']:.2f}x), first round "
              f"{first['assemble_s']:.2f} s vs {first['pyarrow_s']:.2f} s, "
              f"{assembly['labelled']} labelled rows")  # fmt: skip
    if "gate" in measured:
        print(f"bootstrap: {measured['gate']['bootstrap_s']:.3f} s")
    print(f"load average (1, 5, 15 min): {measured['load_average']}")
    for name, passed in measured["checks"].items():
        print(f"{name}: {'n/a' if passed is None else 'PASS' if passed else 'FAIL'}")


if __name__ == "__main__":
    sys.exit(main())
