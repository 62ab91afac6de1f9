"""Serving benchmark: mloop's model server against MLflow's scoring server, in the same run.

Run ``python benchmarks/serving.py`` (``--quick`` for a smoke run) in a venv that holds both
mloop and MLflow (``make bench`` builds ``.venv-bench``). Both tools serve the same two fitted
models (a random forest and a scaled logistic regression on the churn scenario's 9 numeric
features) from their own stores in a temp dir. Every server runs in its own process group on
127.0.0.1, is checked with a short pre-flight (status 200 and one prediction per answer), warmed
up, then loaded by the same generator (wrk: 2 threads, 8 connections, one JSON row per request)
and killed. ``predict_proba`` called in-process on one row gives the per-row cost without any
server. A last run sends 100,000 logged requests to mloop and samples the server's resident
memory before and after. The parent prints two tables (measurements, targets) and writes
benchmarks/results/serving.json. Linux only (process groups and /proc).

mloop's rows: the prediction log on (with its local spool, the default), off, and on without
the spool (``mloop serve`` has no switch for it: the benchmark starts that server itself with
``ServeConfig(log_spool=False)``); and two rollouts, each on its own registered model whose
versions 1 (champion) and 2 (challenger) are the same fitted model: A/B 50/50 and shadow. The
targets compare them with the single-model server (log on): A/B keeps >= 90% of its req/s,
shadow adds <= 1 ms to its p50, and the log with its spool costs <= 10% of req/s. After the
load, a rollout server's /metrics must show the challenger with about half of all predicted
rows and the store the rollout still running, or the run fails.

Rerun mloop's side alone (no MLflow; wrk from ``apt-get install -y wrk``), from the repository:
    PYTHONPATH=src .venv/bin/python benchmarks/serving.py --only mloop --models lr --rounds 3
(add ``--workers 1`` or ``--skip-memory`` to shorten it, ``--quick`` for a smoke run).

``--same-time`` starts the single-model (log on), A/B and shadow servers together and loads each
with its own generator for the same seconds, so other work on the machine slows all three alike;
the table adds each server's req/s over the single model's in the same run (median over
``--rounds``) and its rows per model call. The rollout targets are then checked on these rows:
    PYTHONPATH=src .venv/bin/python benchmarks/serving.py --only mloop --models lr --workers 1 \
        --skip-memory --same-time --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import logging
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

HOST = "127.0.0.1"
RESULTS = Path(__file__).resolve().parent / "results" / "serving.json"
RERUN = (
    "make bench   (or: .venv-bench/bin/python benchmarks/serving.py [--quick] [--rounds N]; "
    "mloop only: PYTHONPATH=src .venv/bin/python benchmarks/serving.py --only mloop "
    "--models lr --rounds 3)"
)
# No telemetry, no outbound calls from MLflow or anything else that honours these.
OFFLINE_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
BIN = Path(sys.executable).parent
MODELS = ("rf", "lr")
CONCURRENCY = 8
WRK_THREADS = 2
PREFLIGHT_REQUESTS = 10
# Each worker of a server loads the model on its own; /ping must stay 200 this long.
READY_SECONDS = 1.5
START_TIMEOUT = 180.0
STOP_TIMEOUT = 40.0
# mloop's log writer flushes every 2 s; wait this long before reading memory or the log count.
LOG_SETTLE_SECONDS = 3.0
THROUGHPUT_TARGET = 3.0
LOG_COST_TARGET = 0.10
ROLLOUT_TARGET = 0.90  # A/B req/s as a share of the single-model server's
SHADOW_P50_TARGET_MS = 1.0
# The challenger's share of predicted rows that shows a rollout held (A/B 50/50, or shadow).
ROLLOUT_SHARE = (0.45, 0.55)
# The hidden command line the benchmark starts a server without the log's spool with.
SERVE_WITHOUT_SPOOL = "--serve-without-spool"
STALL_TARGET_MS = 20.0
MEMORY_TARGET_MB = 50.0
# A 1-minute load average above this before the run means other work competes for the CPU.
BUSY_LOAD = 1.0
# wrk's done() hook prints the exact counts and percentiles (microseconds) on one line.
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class BenchError(Exception):
    """The benchmark could not measure something (a server failed, a tool is missing)."""


class ExitOnSignal:
    """SIGINT and SIGTERM end the run through SystemExit, except while servers start or stop.

    Held back there, a signal cannot land between fork and the bookkeeping that kills the server
    later; it ends the run as soon as the server is registered for cleanup or gone.
    """

    def __init__(self) -> None:
        self.holding = False
        self.pending: int | None = None

    def install(self) -> None:
        """Handle SIGINT and SIGTERM from now on."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if self.holding:
            self.pending = signum
        else:
            sys.exit(128 + signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Defer the signals for the duration of the block."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False

    def exit_if_pending(self) -> None:
        """End the run now if a signal arrived while held."""
        if self.pending is not None:
            sys.exit(128 + self.pending)


SIGNALS = ExitOnSignal()


@dataclasses.dataclass(frozen=True)
class Settings:
    """How long each configuration is loaded, and how many requests the memory run sends."""

    duration: int
    warmup: int
    memory_requests: int


FULL = Settings(duration=10, warmup=3, memory_requests=100_000)
QUICK = Settings(duration=2, warmup=1, memory_requests=2_000)


@dataclasses.dataclass(frozen=True)
class Server:
    """One server configuration of the table: mloop's log and spool, and its model's rollout."""

    key: str
    label: str
    path: str
    log: bool = True
    spool: bool = True
    rollout: str = ""  # the mode of the rollout running on the served model ("" for none)


RAW = Server("raw", "in-process predict_proba", "")
MLFLOW = Server("mlflow", "MLflow /invocations", "/invocations")
MLOOP = Server("mloop", "mloop /predict, log on", "/predict")
MLOOP_NOLOG = Server("mloop-nolog", "mloop /predict, log off", "/predict", log=False)
MLOOP_NOSPOOL = Server("mloop-nospool", "mloop /predict, no spool", "/predict", spool=False)
MLOOP_AB = Server("mloop-ab", "mloop /predict, A/B 50/50", "/predict", rollout="ab")
MLOOP_SHADOW = Server("mloop-shadow", "mloop /predict, shadow", "/predict", rollout="shadow")
MLOOP_SERVERS = [MLOOP, MLOOP_NOLOG, MLOOP_NOSPOOL, MLOOP_AB, MLOOP_SHADOW]
# --same-time: these start together and are loaded at once, each by its own generator.
SAME_TIME_SERVERS = [MLOOP, MLOOP_AB, MLOOP_SHADOW]


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Requests answered in a timed window: latency percentiles, failures, server CPU time."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float = 0.0  # CPU time per request of the server (all its processes) or the loop
    rows_per_call: float = 0.0  # mloop: rows per model call (micro-batch size) in the window

    @property
    def rps(self) -> float:
        """Requests (or calls) per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The temp dir with both stores, the model URIs per tool and the one-row request bodies."""

    root: Path
    uris: dict[tuple[str, str], str]
    bodies: dict[str, bytes]


Load = Callable[[int, str, bytes, float], Measurement]


def percentile_ms(seconds: list[float], q: int) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    if len(seconds) < 2:
        return seconds[0] * 1000 if seconds else 0.0
    return statistics.quantiles(seconds, n=100, method="inclusive")[q - 1] * 1000


def train_models(names: list[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """The benchmark's fitted models on churn_customers(5000) and their 9 numeric features."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mloop.scenario import NUMERIC_FEATURES, TARGET, churn_customers

    data = churn_customers(5000)
    features = data[list(NUMERIC_FEATURES)]
    makers = {
        "rf": lambda: RandomForestClassifier(n_estimators=100, random_state=0),
        "lr": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }
    return {name: makers[name]().fit(features, data[TARGET]) for name in names}, features


def register_mloop(models: dict[str, Any], features: pd.DataFrame) -> dict[str, str]:
    """Log and register each model in the mloop store of MLOOP_HOME; return models:/ URIs."""
    import mloop

    client = mloop.Client()
    uris = {}
    for name, model in models.items():
        version = register_version(client, name, model, features)
        uris[name] = f"models:/{name}/{version}"
    return uris


def register_version(client: Any, name: str, model: Any, features: pd.DataFrame) -> int:
    """Log ``model`` in a run of the bench experiment and register it as the next version."""
    run_id = client.create_run("bench", name)
    client.log_model(run_id, model, input_example=features)
    version: int = client.register_model(run_id, name).version
    return version


def register_rollouts(models: dict[str, Any], features: pd.DataFrame) -> dict[tuple[str, str], str]:
    """A running rollout per model and rollout server; URIs keyed by (server key, model).

    Each gets its own registered model NAME-MODE (one running rollout per model): the fitted
    model as version 1 (the champion alias) and again as version 2, the challenger, so both
    arms cost the same per row. The rollout uses the mode's default policy (A/B: 50/50).
    """
    import mloop
    from mloop.services.rollouts import make_policy

    client = mloop.Client()
    uris = {}
    for server in (s for s in MLOOP_SERVERS if s.rollout):
        for name, model in models.items():
            served = f"{name}-{server.rollout}"
            champion = register_version(client, served, model, features)
            challenger = register_version(client, served, model, features)
            client.registry.set_alias(served, "champion", champion)
            policy = make_policy(server.rollout)
            client.rollouts.start(served, challenger, policy, reason="serving benchmark")
            uris[(server.key, name)] = f"models:/{served}/{champion}"
    return uris


def rollout_running(uri: str) -> bool:
    """Whether the model of a models:/NAME/VERSION URI still has a running rollout."""
    import mloop

    return mloop.Client().rollouts.running(uri.split("/")[1]) is not None


def register_mlflow(root: Path, models: dict[str, Any], features: pd.DataFrame) -> dict[str, str]:
    """Log each model with mlflow.sklearn as users do, into SQLite + a file artifact root."""
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
    mlflow.set_tracking_uri(mlflow_tracking_uri(root))
    experiment = mlflow.create_experiment("bench", artifact_location=(root / "mlruns").as_uri())
    uris = {}
    for name, model in models.items():
        with mlflow.start_run(experiment_id=experiment, run_name=name):
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                input_example=features.head(),
                # MLflow 3 saves with skops and refuses tree models unless their type is trusted.
                skops_trusted_types=["sklearn.tree._tree.Tree"],
            )
        uris[name] = info.model_uri
    return uris


def mlflow_tracking_uri(root: Path) -> str:
    """The SQLite tracking store of the MLflow side."""
    return f"sqlite:///{root / 'mlflow.db'}"


def request_bodies(row: dict[str, Any]) -> dict[str, bytes]:
    """The same row as mloop's plain JSON record and as MLflow's dataframe_split."""
    split = {"dataframe_split": {"columns": list(row), "data": [list(row.values())]}}
    return {"mloop": json.dumps(row).encode(), "mlflow": json.dumps(split).encode()}


def in_process(model: Any, row: pd.DataFrame, seconds: float) -> Measurement:
    """Call predict_proba on one row in a loop for ``seconds``: the per-row cost, no server."""
    for _ in range(20):
        model.predict_proba(row)
    durations: list[float] = []
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        began = time.perf_counter()
        model.predict_proba(row)
        durations.append(time.perf_counter() - began)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    p50, p99 = percentile_ms(durations, 50), percentile_ms(durations, 99)
    return Measurement(len(durations), elapsed, p50, p99, 0, cpu * 1000 / len(durations))


def wrk_load(port: int, path: str, body: bytes, seconds: float) -> Measurement:
    """Load ``path`` with wrk (2 threads, 8 kept-alive connections) for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (apt-get install -y wrk), or use --load python")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=body.decode()))
    try:
        command = [wrk, "-t", str(WRK_THREADS), "-c", str(CONCURRENCY)]
        command += ["-d", f"{max(1, round(seconds))}s", "--latency", "-s", script.name]
        done = subprocess.run(
            [*command, f"http://{HOST}:{port}{path}"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(script.name)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            result = json.loads(line.removeprefix("WRK_RESULT "))
            return Measurement(
                result["requests"],
                result["duration_us"] / 1e6,
                result["p50_us"] / 1000,
                result["p99_us"] / 1000,
                result["errors"],
            )
    raise BenchError(f"no result from wrk (exit {done.returncode}): {done.stdout}{done.stderr}")


def python_load(port: int, path: str, body: bytes, seconds: float) -> Measurement:
    """Load ``path`` from 8 threads with kept-alive connections: a stand-in where wrk is absent."""
    deadline = time.perf_counter() + seconds
    durations: list[list[float]] = [[] for _ in range(CONCURRENCY)]
    errors = [0] * CONCURRENCY
    headers = {"Content-Type": "application/json"}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                continue
            durations[index].append(time.perf_counter() - began)
            errors[index] += response.status != 200
        connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [d for per_thread in durations for d in per_thread]
    return Measurement(
        len(flat),
        time.perf_counter() - start,
        percentile_ms(flat, 50),
        percentile_ms(flat, 99),
        sum(errors),
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def group_pids(group: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(group) and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def group_rss_mb(group: int) -> float:
    """Resident memory (VmRSS) summed over the processes of a process group, in MB."""
    total_kb = 0
    for pid in group_pids(group):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def group_cpu_seconds(group: int) -> float:
    """User + system CPU time of the live processes of a process group, in seconds."""
    ticks = 0
    for pid in group_pids(group):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def http_call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def log_tail(log: Path, lines: int = 25) -> str:
    """The last lines of a server's log, for error messages."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Wait until GET /ping answers 200 on every fresh connection for a while (all workers up)."""
    deadline = time.monotonic() + START_TIMEOUT
    ready_since: float | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server exited with {process.returncode}:\n{log_tail(log)}")
        answered = False
        with contextlib.suppress(OSError, http.client.HTTPException):
            answered = http_call(port, "GET", "/ping")[0] == 200
        if not answered:
            ready_since = None
            time.sleep(0.1)
        elif ready_since is None:
            ready_since = time.monotonic()
        elif time.monotonic() - ready_since >= READY_SECONDS:
            return
    raise BenchError(f"server not ready after {START_TIMEOUT:.0f} s:\n{log_tail(log)}")


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL whatever is left after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT)
    while group_pids(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def running_server(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server in its own process group, wait until ready, always kill it afterwards."""
    with SIGNALS.held(), log.open("ab") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        SIGNALS.exit_if_pending()
        wait_ready(process, port, log)
        yield process
    finally:
        with SIGNALS.held():
            stop_group(process)
        SIGNALS.exit_if_pending()


def server_command(
    workspace: Workspace, server: Server, model: str, port: int, workers: int
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start ``server`` for ``model``."""
    env = {**os.environ, **OFFLINE_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if server is MLFLOW:
        env["MLFLOW_TRACKING_URI"] = mlflow_tracking_uri(workspace.root)
        uri = workspace.uris[("mlflow", model)]
        command = [str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local"]
        return [*command, "-h", HOST, "-p", str(port), "-w", str(workers)], env
    uri = mloop_uri(workspace, server, model)
    if not server.spool:
        script = str(Path(__file__).resolve())
        return [sys.executable, script, SERVE_WITHOUT_SPOOL, uri, str(port), str(workers)], env
    command = [str(BIN / "mloop"), "serve", uri, "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers)]
    if not server.log:
        command.append("--no-log-predictions")
    return command, env


def mloop_uri(workspace: Workspace, server: Server, model: str) -> str:
    """The URI an mloop server configuration serves: its own rollout's model, or the plain one."""
    return workspace.uris[(server.key if server.rollout else "mloop", model)]


def serve_without_spool(uri: str, port: int, workers: int) -> None:
    """Serve ``uri`` as ``mloop serve`` does, with the prediction log on but its spool off.

    ``mloop serve`` has no switch for ``ServeConfig.log_spool``; the benchmark runs this in a
    fresh interpreter (``serving.py --serve-without-spool URI PORT WORKERS``).
    """
    import mloop
    from mloop.serving import ServeConfig, run_server

    client = mloop.Client()
    settings = dataclasses.replace(
        client.settings, store_url=client.store_url, artifacts_url=client.artifacts_url
    )
    config = ServeConfig(model_uri=uri, host=HOST, port=port, workers=workers, log_spool=False)
    run_server(config, settings, factory="mloop.runtime:serve_app")


def preflight(port: int, server: Server, body: bytes) -> None:
    """Every answer must be a 200 with one prediction (and, from mloop, its probabilities)."""
    for _ in range(PREFLIGHT_REQUESTS):
        status, raw = http_call(port, "POST", server.path, body)
        answer = json.loads(raw) if status == 200 else {}
        wanted = ["predictions"] + (["probabilities"] if server is not MLFLOW else [])
        if any(not isinstance(answer.get(k), list) or len(answer[k]) != 1 for k in wanted):
            raise BenchError(f"{server.label} answered {status}: {raw[:300]!r}")


def predicted_rows(port: int) -> dict[str, float]:
    """Rows predicted per model version (shadow scoring included), from the server's /metrics."""
    _, raw = http_call(port, "GET", "/metrics")
    rows: dict[str, float] = {}
    for line in raw.decode().splitlines():
        if line.startswith("mloop_predicted_rows_total{"):
            labels, value = line.rsplit(" ", 1)
            version = labels.split('version="', 1)[1].split('"', 1)[0]
            rows[version] = rows.get(version, 0.0) + float(value)
    return rows


def check_rollout(port: int, server: Server, uri: str) -> None:
    """The rollout held through the load: still running, the challenger scored its share.

    A/B sends each request to one arm (about half each); shadow scores every request with both
    arms. Either way the challenger (version 2) predicted about half of all rows.
    """
    rows = predicted_rows(port)
    total = sum(rows.values())
    share = rows.get("2", 0.0) / total if total else 0.0
    if not ROLLOUT_SHARE[0] <= share <= ROLLOUT_SHARE[1] or not rollout_running(uri):
        raise BenchError(
            f"{server.label}: the rollout did not hold (rows per version {rows}, "
            f"running: {rollout_running(uri)})"
        )


def measure_server(
    workspace: Workspace,
    server: Server,
    model: str,
    workers: int,
    settings: Settings,
    load: Load,
) -> tuple[Measurement, float]:
    """Start, check, warm up and load one server configuration; (measurement, RSS in MB)."""
    port = free_port()
    command, env = server_command(workspace, server, model, port, workers)
    body = workspace.bodies["mlflow" if server is MLFLOW else "mloop"]
    log = workspace.root / f"{server.key}-{model}-{workers}.log"
    with running_server(command, env, port, log) as process:
        preflight(port, server, body)
        load(port, server.path, body, settings.warmup)
        cpu = group_cpu_seconds(process.pid)
        measured = load(port, server.path, body, settings.duration)
        cpu = group_cpu_seconds(process.pid) - cpu
        cpu_ms = cpu * 1000 / max(measured.requests, 1)
        if server.rollout:
            check_rollout(port, server, mloop_uri(workspace, server, model))
        return dataclasses.replace(measured, cpu_ms=cpu_ms), group_rss_mb(process.pid)


def measure_same_time(
    workspace: Workspace, model: str, workers: int, settings: Settings, load: Load
) -> dict[str, tuple[Measurement, float]]:
    """The single-model, A/B and shadow servers started together and loaded at the same time.

    Each server gets its own generator for the same seconds, so background work on the machine
    slows all three alike and the ratios between them hold. Returns (measurement, RSS in MB)
    per server key.
    """
    body = workspace.bodies["mloop"]
    with contextlib.ExitStack() as stack:
        started: dict[str, tuple[Server, int, subprocess.Popen[bytes]]] = {}
        for server in SAME_TIME_SERVERS:
            port = free_port()
            command, env = server_command(workspace, server, model, port, workers)
            log = workspace.root / f"same-time-{server.key}-{model}-{workers}.log"
            process = stack.enter_context(running_server(command, env, port, log))
            preflight(port, server, body)
            started[server.key] = (server, port, process)
        load_together(load, started, body, settings.warmup)
        cpu = {key: group_cpu_seconds(p.pid) for key, (_, _, p) in started.items()}
        calls = {key: model_calls(port) for key, (_, port, _) in started.items()}
        measured = load_together(load, started, body, settings.duration)
        out = {}
        for key, (server, port, process) in started.items():
            spent = (group_cpu_seconds(process.pid) - cpu[key]) * 1000
            rows, count = (b - a for a, b in zip(calls[key], model_calls(port), strict=True))
            if server.rollout:
                check_rollout(port, server, mloop_uri(workspace, server, model))
            figures = {"cpu_ms": spent / max(measured[key].requests, 1)}
            figures["rows_per_call"] = rows / count if count else 0.0
            out[key] = (dataclasses.replace(measured[key], **figures), group_rss_mb(process.pid))
        return out


def model_calls(port: int) -> tuple[float, float]:
    """(rows predicted, model calls) so far, from the server's micro-batch histogram."""
    _, raw = http_call(port, "GET", "/metrics")
    found = {"mloop_batch_rows_sum": 0.0, "mloop_batch_rows_count": 0.0}
    for line in raw.decode().splitlines():
        name, _, value = line.partition(" ")
        if name in found:
            found[name] = float(value)
    return found["mloop_batch_rows_sum"], found["mloop_batch_rows_count"]


def load_together(
    load: Load,
    started: dict[str, tuple[Server, int, subprocess.Popen[bytes]]],
    body: bytes,
    seconds: float,
) -> dict[str, Measurement]:
    """Load every started server with its own generator for the same ``seconds``, at once."""
    results: dict[str, Measurement] = {}
    failures: list[BaseException] = []

    def one(key: str, server: Server, port: int) -> None:
        try:
            results[key] = load(port, server.path, body, seconds)
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=one, args=(key, server, port))
        for key, (server, port, _) in started.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def measure_all_same_time(
    workspace: Workspace,
    models: dict[str, Any],
    workers: list[int],
    settings: Settings,
    load: Load,
    rounds: int,
) -> list[dict[str, Any]]:
    """``--same-time``: per model and worker count, median over rounds of same-time runs.

    Each row also has ``vs_single``: its req/s over the single-model server's in the same run
    (the median of the rounds' ratios).
    """
    samples: dict[tuple[str, str, int], list[tuple[Measurement, float, float]]] = {}
    for turn in range(rounds):
        for name in models:
            for count in workers:
                progress(f"round {turn + 1}/{rounds}: {name}, same time, {count} worker(s)")
                measured = measure_same_time(workspace, name, count, settings, load)
                single = measured[MLOOP.key][0].rps
                for key, (m, rss) in measured.items():
                    ratio = m.rps / single if single else 0.0
                    samples.setdefault((name, key, count), []).append((m, rss, ratio))
    return [
        {
            **median_row(name, key, count, [m for m, _, _ in runs], [r for _, r, _ in runs]),
            "vs_single": statistics.median(ratio for _, _, ratio in runs),
            "vs_single_runs": [round(ratio, 3) for _, _, ratio in runs],
            "rows_per_call": statistics.median(m.rows_per_call for m, _, _ in runs),
        }
        for (name, key, count), runs in samples.items()
    ]


def logged_rows(port: int) -> float:
    """Rows the server has written to the prediction log, from its /metrics."""
    _, raw = http_call(port, "GET", "/metrics")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in raw.decode().splitlines()
        if line.startswith("mloop_logged_rows_total")
    )


def memory_run(workspace: Workspace, model: str, settings: Settings, load: Load) -> dict[str, Any]:
    """RSS of an mloop server (log on, 1 worker) before and after ``memory_requests`` requests."""
    port = free_port()
    command, env = server_command(workspace, MLOOP, model, port, 1)
    body = workspace.bodies["mloop"]
    log = workspace.root / f"memory-{model}.log"
    with running_server(command, env, port, log) as process:
        preflight(port, MLOOP, body)
        warm = load(port, MLOOP.path, body, settings.warmup)
        time.sleep(LOG_SETTLE_SECONDS)
        before = group_rss_mb(process.pid)
        sent, samples, chunk = 0, [before], float(settings.duration)
        while sent < settings.memory_requests:
            measured = load(port, MLOOP.path, body, chunk)
            if measured.errors:
                raise BenchError(f"memory run: {measured.errors} failed requests")
            sent += measured.requests
            samples.append(group_rss_mb(process.pid))
            remaining = (settings.memory_requests - sent) / max(measured.rps, 1.0)
            chunk = min(30.0, max(1.0, math.ceil(remaining)))
        time.sleep(LOG_SETTLE_SECONDS)
        after = group_rss_mb(process.pid)
        samples.append(after)
        logged = logged_rows(port)
    return {
        "model": model,
        "requests": sent,
        "logged_rows": logged,
        "expected_rows": sent + warm.requests + PREFLIGHT_REQUESTS,
        "rss_before_mb": before,
        "rss_after_mb": after,
        "rss_peak_mb": max(samples),
        "growth_mb": after - before,
        "rss_samples_mb": samples,
    }


def measure_all(
    workspace: Workspace,
    models: dict[str, Any],
    row: pd.DataFrame,
    servers: list[Server],
    workers: list[int],
    settings: Settings,
    load: Load,
    rounds: int,
) -> list[dict[str, Any]]:
    """Every (model, server, workers) configuration, median over rounds in alternating order."""
    samples: dict[tuple[str, str, int], list[Measurement]] = {}
    resident: dict[tuple[str, str, int], list[float]] = {}
    for turn in range(rounds):
        for name, model in models.items():
            progress(f"round {turn + 1}/{rounds}: {name} in-process")
            samples.setdefault((name, RAW.key, 0), []).append(
                in_process(model, row, settings.duration)
            )
            for count in workers:
                for server in servers if turn % 2 == 0 else servers[::-1]:
                    progress(f"round {turn + 1}/{rounds}: {name} {server.label}, {count} worker(s)")
                    measured, rss = measure_server(workspace, server, name, count, settings, load)
                    samples.setdefault((name, server.key, count), []).append(measured)
                    resident.setdefault((name, server.key, count), []).append(rss)
    return [
        median_row(name, key, count, runs, resident.get((name, key, count)))
        for (name, key, count), runs in samples.items()
    ]


def median_row(
    name: str, key: str, count: int, runs: list[Measurement], rss_runs: list[float] | None
) -> dict[str, Any]:
    """One row of the table: the median of each figure over the rounds, errors summed."""
    return {
        "model": name,
        "server": key,
        "workers": count,
        "rps": statistics.median(m.rps for m in runs),
        "p50_ms": statistics.median(m.p50_ms for m in runs),
        "p99_ms": statistics.median(m.p99_ms for m in runs),
        "errors": sum(m.errors for m in runs),
        "cpu_ms": statistics.median(m.cpu_ms for m in runs),
        "rss_mb": statistics.median(rss_runs) if rss_runs else None,
    }


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def verdict(target: str, measured: str, passed: bool) -> dict[str, Any]:
    """One row of the targets table."""
    return {"target": target, "measured": measured, "passed": passed}


def verdicts(rows: list[dict[str, Any]], memory: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each target checked against the measured rows: throughput, log cost, stall, memory."""
    found = {(r["model"], r["server"], r["workers"]): r for r in rows}
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        for count in sorted({r["workers"] for r in rows if r["workers"]}):
            on, off = (
                found.get((model, MLOOP.key, count)),
                found.get((model, MLOOP_NOLOG.key, count)),
            )
            peer = found.get((model, MLFLOW.key, count))
            where = f"{model}, {count} worker{'s' if count > 1 else ''}"
            if on and peer:
                ratio = on["rps"] / peer["rps"] if peer["rps"] else math.inf
                out.append(
                    verdict(
                        f"{where}: mloop (log on) >= {THROUGHPUT_TARGET:.0f}x MLflow req/s",
                        f"{ratio:.2f}x ({on['rps']:,.0f} vs {peer['rps']:,.0f} req/s)",
                        ratio >= THROUGHPUT_TARGET and not on["errors"] and not peer["errors"],
                    )
                )
            if on and off:
                out.append(
                    log_cost_verdict(where, on, off, found.get((model, MLOOP_NOSPOOL.key, count)))
                )
            if on:
                out += rollout_verdicts(where, on, model, count, found)
        one, two = found.get((model, MLOOP.key, 1)), found.get((model, MLOOP.key, 2))
        if one and two:
            delta = two["p50_ms"] - one["p50_ms"]
            out.append(
                verdict(
                    f"{model}: mloop 2 workers: no 40 ms ACK stall "
                    f"(p50 +< {STALL_TARGET_MS:.0f} ms vs 1)",
                    f"p50 {one['p50_ms']:.1f} ms at 1 worker, {two['p50_ms']:.1f} at 2 "
                    f"({delta:+.1f} ms)",
                    delta < STALL_TARGET_MS,
                )
            )
    if memory is not None:
        complete = memory["logged_rows"] >= memory["expected_rows"]
        out.append(
            verdict(
                f"memory flat: RSS growth over {memory['requests']:,} logged requests "
                f"< {MEMORY_TARGET_MB:.0f} MB",
                f"{memory['rss_before_mb']:.0f} -> {memory['rss_after_mb']:.0f} MB "
                f"({memory['growth_mb']:+.1f}, peak {memory['rss_peak_mb']:.0f}); "
                f"{memory['logged_rows']:,.0f} rows logged",
                memory["growth_mb"] < MEMORY_TARGET_MB and complete,
            )
        )
    return out


def log_cost_verdict(
    where: str, on: dict[str, Any], off: dict[str, Any], unspooled: dict[str, Any] | None
) -> dict[str, Any]:
    """The prediction log's cost (on with its spool, the default, vs off); the spool's share."""
    cost = 1 - on["rps"] / off["rps"] if off["rps"] else math.inf
    measured = f"{cost:+.1%} ({on['rps']:,.0f} on vs {off['rps']:,.0f} off"
    if unspooled is not None and off["rps"]:
        measured += f"; without the spool {1 - unspooled['rps'] / off['rps']:+.1%}"
    return verdict(
        f"{where}: prediction log (with spool) costs <= {LOG_COST_TARGET:.0%} req/s",
        measured + ")",
        cost <= LOG_COST_TARGET and not on["errors"] and not off["errors"],
    )


def rollout_verdicts(
    where: str,
    single: dict[str, Any],
    model: str,
    count: int,
    found: dict[tuple[str, str, int], dict[str, Any]],
) -> list[dict[str, Any]]:
    """A/B throughput against the single-model server, shadow's p50 against it (both log on)."""
    out = []
    ab = found.get((model, MLOOP_AB.key, count))
    if ab:
        # --same-time rows carry the median of each run's own ratio: steadier than the medians'.
        ratio = ab.get("vs_single", ab["rps"] / single["rps"] if single["rps"] else 0.0)
        out.append(
            verdict(
                f"{where}: A/B rollout 50/50 >= {ROLLOUT_TARGET:.0%} of single-model req/s",
                f"{ratio:.1%} ({ab['rps']:,.0f} vs {single['rps']:,.0f} req/s)",
                ratio >= ROLLOUT_TARGET and not ab["errors"] and not single["errors"],
            )
        )
    shadow = found.get((model, MLOOP_SHADOW.key, count))
    if shadow:
        delta = shadow["p50_ms"] - single["p50_ms"]
        out.append(
            verdict(
                f"{where}: shadow rollout adds <= {SHADOW_P50_TARGET_MS:.0f} ms to p50",
                f"{delta:+.2f} ms (p50 {shadow['p50_ms']:.2f} vs {single['p50_ms']:.2f} ms)",
                delta <= SHADOW_P50_TARGET_MS and not shadow["errors"] and not single["errors"],
            )
        )
    return out


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The measurements as a fixed-width table."""
    labels = {s.key: s.label for s in (RAW, MLFLOW, *MLOOP_SERVERS)}
    same_time = any("vs_single" in r for r in rows)
    header = (
        f"{'model':<5}  {'server':<25}  {'workers':>7}  {'req/s':>8}  {'p50 ms':>7}  "
        f"{'p99 ms':>7}  {'errors':>6}  {'CPU ms/req':>10}  {'RSS MB':>6}"
    ) + ("  rows/call  vs single" if same_time else "")
    lines = [header, "-" * len(header)]
    for r in rows:
        rss = f"{r['rss_mb']:.0f}" if r["rss_mb"] is not None else "-"
        ratio = f"  {r['rows_per_call']:>9.1f}  {r['vs_single']:>9.2f}" if same_time else ""
        lines.append(
            f"{r['model']:<5}  {labels[r['server']]:<25}  {r['workers'] or '-':>7}  "
            f"{r['rps']:>8,.1f}  {r['p50_ms']:>7.2f}  {r['p99_ms']:>7.2f}  {r['errors']:>6}  "
            f"{r['cpu_ms']:>10.2f}  {rss:>6}{ratio}"
        )
    return "\n".join(lines)


def format_verdicts(rows: list[dict[str, Any]]) -> str:
    """The targets as a fixed-width table with PASS/FAIL."""
    width = max(len(r["target"]) for r in rows)
    measured = max(len(r["measured"]) for r in rows)
    header = f"{'target':<{width}}  {'measured':<{measured}}  result"
    lines = [header, "-" * len(header)]
    for r in rows:
        result = "PASS" if r["passed"] else "FAIL"
        lines.append(f"{r['target']:<{width}}  {r['measured']:<{measured}}  {result}")
    return "\n".join(lines)


def head_commit() -> str | None:
    """The commit checked out in this repository, or None outside git."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def version_of(package: str) -> str:
    """Installed version of a distribution, or 'missing'."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def prepare(
    root: Path, names: list[str], with_mlflow: bool
) -> tuple[Workspace, dict[str, Any], pd.DataFrame]:
    """Train and register the models with each tool under ``root``; the models and one row."""
    os.environ["MLOOP_HOME"] = str(root / "mloop")
    os.environ.pop("MLOOP_STORE_URL", None)
    os.environ.pop("MLOOP_ARTIFACTS_URL", None)
    progress("training and registering the models ...")
    models, features = train_models(names)
    uris = {("mloop", k): v for k, v in register_mloop(models, features).items()}
    uris |= register_rollouts(models, features)
    if with_mlflow:
        uris |= {("mlflow", k): v for k, v in register_mlflow(root, models, features).items()}
    row = features.head(1)
    bodies = request_bodies({str(k): v for k, v in row.to_dict(orient="records")[0].items()})
    return Workspace(root, uris, bodies), models, row


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every configuration and the memory run; return the report."""
    settings = QUICK if args.quick else FULL
    load: Load = wrk_load if args.load == "wrk" else python_load
    if args.load == "wrk" and shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (apt-get install -y wrk), or use --load python")
    load_before = os.getloadavg()[0]
    commit_before = head_commit()
    with_mlflow = args.only != "mloop" and not args.same_time
    servers = [MLFLOW, *MLOOP_SERVERS] if with_mlflow else list(MLOOP_SERVERS)
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        workspace, models, row = prepare(Path(tmp), args.models, with_mlflow)
        if args.same_time:
            rows = measure_all_same_time(
                workspace, models, args.workers, settings, load, args.rounds
            )
        else:
            rows = measure_all(
                workspace, models, row, servers, args.workers, settings, load, args.rounds
            )
        memory = None
        if not args.skip_memory:
            model = "lr" if "lr" in models else args.models[0]
            progress(f"memory: {settings.memory_requests:,} logged requests to mloop ({model})")
            memory = memory_run(workspace, model, settings, load)
    return {
        "quick": args.quick,
        "same_time": args.same_time,
        "rounds": args.rounds,
        "load_generator": args.load,
        "settings": dataclasses.asdict(settings),
        "concurrency": CONCURRENCY,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        # Servers import the working tree: a commit landing mid-run mixes two code versions.
        "commit": {"start": commit_before, "end": head_commit()},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            name: version_of(name)
            for name in ("mloop", "mlflow", "scikit-learn", "fastapi", "uvicorn")
        },
        "rows": rows,
        "memory": memory,
        "targets": verdicts(rows, memory),
    }


def print_report(report: dict[str, Any]) -> None:
    """The two tables with a header and how to rerun."""
    settings = report["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    mode = "quick" if report["quick"] else "full"
    if report["same_time"]:
        mode += ", same time: single-model, A/B and shadow servers loaded at once"
    print(
        f"mloop vs MLflow model serving ({mode}; {report['load_generator']}, "
        f"{CONCURRENCY} connections, {settings['duration']} s per configuration, "
        f"median of {report['rounds']} round(s); {report['cpus']} CPUs; {versions})"
    )
    print("one JSON row per request; in-process = predict_proba on one row in a Python loop")
    load = report["load_average_before"]
    after = report["load_average_after"]
    print(f"1-minute load average before the run: {load:.2f}, after it: {after:.2f}")
    if load > BUSY_LOAD:
        print("WARNING: other processes were using the CPU; rerun on a quiet machine")
    commit = report["commit"]
    print(f"commit: {(commit['end'] or 'unknown')[:12]}")
    if commit["start"] != commit["end"]:
        print(f"WARNING: the code changed during the run (from {commit['start']}); rerun")
    print()
    print(format_rows(report["rows"]))
    if report["targets"]:
        print()
        print(format_verdicts(report["targets"]))
    print(f"\nresults: {RESULTS}\nrerun:   {RERUN}")


def main() -> int:
    """Parse the command line, run the benchmark; 1 when a target fails, 2 on an error."""
    if sys.argv[1:2] == [SERVE_WITHOUT_SPOOL]:
        uri, port, workers = sys.argv[2:5]
        serve_without_spool(uri, int(port), int(workers))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 s per configuration, 2,000 requests"
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs per configuration (median)")
    parser.add_argument("--only", choices=("mloop",), help="mloop's side only; MLflow not needed")
    parser.add_argument(
        "--models", type=lambda s: s.split(","), default=list(MODELS), help="rf,lr (default)"
    )
    parser.add_argument(
        "--workers", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2], help="1,2"
    )
    parser.add_argument(
        "--load", choices=("wrk", "python"), default="wrk", help="load generator (python: no wrk)"
    )
    parser.add_argument("--skip-memory", action="store_true", help="no memory run")
    parser.add_argument(
        "--same-time",
        action="store_true",
        help="start the single-model, A/B and shadow servers together and load them at once",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON only; write no file"
    )
    args = parser.parse_args()
    if not set(args.models) <= set(MODELS):
        parser.error(f"--models takes a comma-separated subset of {','.join(MODELS)}")
    args.rounds = max(1, args.rounds)
    os.environ.update(OFFLINE_ENV)
    SIGNALS.install()
    try:
        report = run(args)
    except BenchError as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report))
    else:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print_report(report)
    return 0 if all(t["passed"] for t in report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
