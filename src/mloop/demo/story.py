"""``mloop demo``: the bank-churn scenario told end to end on one store.

Track three experiments, register the best as champion, serve it, send production traffic
and late labels, shift the traffic as an economic downturn does, detect the drift and alert,
retrain on the assembled training set, gate the challenger, roll it out as a canary and let
the rollout promote it or roll it back, then write the report.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from sklearn.model_selection import train_test_split

from mloop.client import Client
from mloop.demo.canary import hold_rollout_lease, release_rollout_lease, run_canary
from mloop.demo.endstate import EndState, alert_json, print_summary, rollout_json
from mloop.demo.models import candidates, train_candidate
from mloop.demo.servers import ServerProcess, free_port, start_server
from mloop.demo.stages import Stages
from mloop.demo.traffic import Sent, deliver_labels, send_batches
from mloop.entities import GateConfig, RetrainingPolicy, Triggers
from mloop.monitoring import DriftOptions, MonitorRun, parse_window, run_monitor
from mloop.retraining import retrain
from mloop.scenario import TARGET, churn_customers, downturn_traffic
from mloop.services.model_report import write_model_report
from mloop.serving_client import ServingClient
from mloop.uris import ModelUri

MODEL_NAME = "churn"
RECIPE = "mloop.demo:train_churn"
STAGES = 9
# The demo's monitor calls the dataset drifted when a fifth of the features drift: the
# downturn moves 3 of the 10.
DRIFT = DriftOptions(dataset_share=0.2)


@dataclass(frozen=True)
class DemoOptions:
    """Sizes and switches of one demo run; ``fast`` uses less traffic and fewer trees."""

    rows: int = 5000
    seed: int = 42
    fast: bool = False
    keep_serving: bool = False
    report: Path | None = None

    @property
    def baseline(self) -> int:
        """Customers scored before the downturn."""
        return max(200, self.rows // (5 if self.fast else 4))

    @property
    def downturn(self) -> int:
        """Customers scored after it (and labelled): the retraining window."""
        return max(600, self.rows // 2 if self.fast else (self.rows * 3) // 5)

    @property
    def canary_budget(self) -> int:
        """At most this many canary requests before the demo stops the rollout."""
        return 4000 if self.fast else 8000

    @property
    def trees(self) -> int:
        """Trees of the forest and the boosted model."""
        return 50 if self.fast else 100


def run_demo(
    client: Client, options: DemoOptions | None = None, *, console: Console | None = None
) -> EndState:
    """Run the scenario on ``client``'s store; returns its end state (see ``EndState``).

    Progress and the summary go to ``console``. Raises StoreUnavailable when a server does not
    start, and what the store raises.
    """
    chosen = options or DemoOptions()
    stages = Stages(console or Console(stderr=True), STAGES)
    with ExitStack() as stack:
        _interrupt_on_sigterm(stack)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mloop-demo-")))
        state = _story(client, chosen, stages, stack, folder)
        print_summary(stages, state)
        if chosen.keep_serving:
            _hold(stages)
    return state


def _interrupt_on_sigterm(stack: ExitStack) -> None:
    """SIGTERM stops the demo as Ctrl-C does, so its servers are stopped too (main thread only:
    Python installs signal handlers there)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    stack.callback(signal.signal, signal.SIGTERM, previous)


def _stop_leftover_rollout(client: Client, stages: Stages) -> None:
    """A rollout an interrupted demo run left running on this store is stopped, and said so."""
    leftover = client.rollouts.running(MODEL_NAME)
    if leftover is not None:
        client.rollouts.stop(MODEL_NAME, reason="an earlier demo run on this store stopped midway")
        stages.say(f"stopped rollout {leftover.id} of {MODEL_NAME}, left by an interrupted demo")


def _story(
    client: Client, options: DemoOptions, stages: Stages, stack: ExitStack, folder: Path
) -> EndState:
    started = time.perf_counter()
    holder = hold_rollout_lease(client, MODEL_NAME)
    stack.callback(release_rollout_lease, client, MODEL_NAME, holder)
    _stop_leftover_rollout(client, stages)
    api = _start(client, stack, "team server", ["server"])
    split = _split(options, stages)
    runs = _track(client, split, options, stages, folder)
    champion = _register(client, runs, split, stages)
    _set_policy(client, champion["name"], runs[champion["name"]]["params"], options)
    serve = ["serve", str(ModelUri(MODEL_NAME, alias="champion")), "--poll-seconds", "0.5"]
    model = _start(client, stack, "model server", serve)
    _wait(stages, api, model, champion["version"])
    serving = ServingClient(model.url)
    stack.callback(serving.close)
    _baseline(client, serving, options, stages)
    drift = _downturn(client, serving, options, stages)
    decision = _retrain(client, stages)
    rollout, canary = _canary(client, serving, options, stages, holder)
    report = _report(client, options, stages)
    return EndState(
        runs=[{k: v for k, v in r.items() if k != "params"} for r in runs.values()],
        champion_before=champion["version"],
        champion_after=client.registry.get_alias(MODEL_NAME, "champion"),
        drifted_features=drift.drift.drifted_columns,
        alerts=[alert_json(a) for a in drift.alerts],
        retraining=[_decision_json(d) for d in client.retraining.decisions(MODEL_NAME)][-4:],
        retraining_decision=_decision_json(decision),
        rollout=rollout,
        traffic={
            "baseline": options.baseline,
            "downturn": options.downturn,
            "canary": sum(canary.answers.values()),
            "failed": canary.failed,
        },
        dashboard_url=f"{api.url}/",
        model_server_url=model.url,
        report=str(report),
        seconds=round(time.perf_counter() - started, 1),
    )


def _split(options: DemoOptions, stages: Stages) -> tuple[Any, ...]:
    with stages.stage("generating the bank's customers") as advance:
        data = churn_customers(options.rows, seed=options.seed)
        advance(1)
    stages.say(f"{len(data)} customers, {data[TARGET].mean():.0%} of them churn")
    features = data.drop(columns=[TARGET])
    return tuple(
        train_test_split(
            features, data[TARGET], test_size=0.2, random_state=options.seed, stratify=data[TARGET]
        )
    )


def _track(
    client: Client, split: tuple[Any, ...], options: DemoOptions, stages: Stages, folder: Path
) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    models = candidates(options.seed, options.trees)
    with stages.stage("tracking three experiments", total=len(models)) as advance:
        for candidate in models:
            run_id, metrics = train_candidate(client, candidate, split, folder)
            params = candidate.estimator.get_params()
            runs[candidate.name] = {"name": candidate.name, "run_id": run_id, "metrics": metrics,
                                    "params": params}  # fmt: skip
            advance(1)
    for name, run in runs.items():
        m = run["metrics"]
        stages.say(
            f"{name:<20} run {run['run_id'][:8]}  f1 {m['f1']:.3f}  roc_auc {m['roc_auc']:.3f}  "
            f"accuracy {m['accuracy']:.3f}"
        )
    return runs


def _register(
    client: Client, runs: dict[str, dict[str, Any]], split: tuple[Any, ...], stages: Stages
) -> dict[str, Any]:
    best = max(runs.values(), key=lambda run: run["metrics"]["f1"])
    with stages.stage("registering the champion") as advance:
        version = client.register_model(
            best["run_id"],
            MODEL_NAME,
            description=f"{best['name']} trained by mloop demo",
            reference=split[1],
            reference_labels=split[3],
        )
        reason = f"best test F1 ({best['metrics']['f1']:.3f}) of the demo's 3 models"
        client.registry.set_alias(MODEL_NAME, "champion", version.version, reason=reason)
        advance(1)
    stages.say(
        f"{best['name']} is {MODEL_NAME} v{version.version}, the champion; its reference is the "
        f"{len(split[1])}-customer test set"
    )
    return {"name": best["name"], "version": version.version}


_RECIPE_PARAMS = {
    "random_forest": ("n_estimators", "random_state", "n_jobs"),
    "gradient_boosting": ("n_estimators", "random_state"),
    "logistic_regression": ("max_iter", "random_state"),
}


def _set_policy(client: Client, family: str, fitted: dict[str, Any], options: DemoOptions) -> None:
    params = {key: fitted[key] for key in _RECIPE_PARAMS[family]}
    policy = RetrainingPolicy(
        model=MODEL_NAME,
        recipe=RECIPE,
        target=TARGET,
        params={"model": family, **params},
        triggers=Triggers(drift=True),
        gate=GateConfig(metric="roc_auc", resamples=1000, guardrails={"accuracy": 0.02}),
        window=str(options.baseline + options.downturn),
        holdout=0.3,
        cooldown_seconds=0.0,
        max_per_day=1000,
        on_pass="canary",
        canary={
            "steps": (0.1, 0.5, 1.0),
            "min_sample": 50 if options.fast else 100,
            "evaluate_every_seconds": 5.0,
        },
    )
    client.retraining.set_policy(policy)


def _start(client: Client, stack: ExitStack, name: str, arguments: list[str]) -> ServerProcess:
    """Start a server now (it loads while the demo goes on); it stops when the demo ends."""
    env = {"MLOOP_STORE_URL": client.store_url, "MLOOP_ARTIFACTS_URL": client.artifacts_url}
    server = start_server(name, arguments, free_port(), env, client.settings.home / "demo-logs")
    stack.callback(_stop, server)
    return server


def _stop(server: ServerProcess) -> None:
    code = server.stop()
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):  # uvicorn ends on the signal it got
        print(f"the {server.name} exited with {code}; its log: {server.log}", file=sys.stderr)


def _wait(stages: Stages, api: ServerProcess, model: ServerProcess, champion: int) -> None:
    with stages.stage("starting the team server and the model server", total=2) as advance:
        api.wait_ready("/api/v1/models")
        advance(1)
        model.wait_ready("/v2/health/ready")
        advance(1)
    stages.say(f"dashboard and API on {api.url}/, {MODEL_NAME}@champion v{champion} on {model.url}")


def _traffic(
    client: Client,
    serving: ServingClient,
    stages: Stages,
    title: str,
    customers: pd.DataFrame,
    first_id: int,
) -> Sent:
    with stages.stage(title, total=len(customers)) as advance:
        sent = send_batches(serving, customers, first_id, advance)
        deliver_labels(client, serving, sent.labels)
    return sent


def _monitor(client: Client, rows: int) -> MonitorRun:
    return run_monitor(client, f"{MODEL_NAME}@champion", parse_window(str(rows)), options=DRIFT)


def _baseline(client: Client, serving: ServingClient, options: DemoOptions, stages: Stages) -> None:
    customers = churn_customers(options.baseline, seed=options.seed + 1)
    title = "production traffic before the downturn, then its labels"
    _traffic(client, serving, stages, title, customers, first_id=0)
    found = _monitor(client, options.baseline)
    drifted = ", ".join(found.drift.drifted_columns) or "no feature"
    stages.say(f"{options.baseline} customers scored and labelled; the monitor: {drifted} drifted")


def _downturn(
    client: Client, serving: ServingClient, options: DemoOptions, stages: Stages
) -> MonitorRun:
    customers = downturn_traffic(options.downturn, seed=options.seed + 2)
    title = "the downturn: incomes x0.85, spending x0.9, credit scores -20 ± 10"
    _traffic(client, serving, stages, title, customers, first_id=1_000_000)
    found = _monitor(client, options.downturn)
    stages.say(
        f"drift in {', '.join(found.drift.drifted_columns) or 'no feature'} "
        f"({found.drift.share_drifted:.0%} of the features; the dataset drifts from "
        f"{DRIFT.dataset_share:.0%})"
    )
    for alert in found.alerts:
        stages.say(f"alert {alert.id}: {alert.rule} on {alert.subject} ({alert.severity})")
    if found.performance:
        f1 = found.performance.get("metrics", {}).get("f1")
        reference = found.performance.get("reference", {}).get("f1")
        if f1 is not None and reference is not None:
            stages.say(f"realized F1 {f1:.3f} against {reference:.3f} on the reference")
    return found


def _retrain(client: Client, stages: Stages) -> Any:
    with stages.stage("retraining on the assembled training set, then the gate") as advance:
        decision = retrain(client, MODEL_NAME)
        advance(1)
    stages.say(f"{decision.kind}: {decision.reason}")
    return decision


def _canary(
    client: Client, serving: ServingClient, options: DemoOptions, stages: Stages, holder: str
) -> tuple[dict[str, Any], Sent]:
    if client.rollouts.running(MODEL_NAME) is None:
        stages.say("no challenger passed the gate: no rollout")
        return {}, Sent()

    def report(rollout: Any, requests: int) -> None:
        advance(requests)

    with stages.stage("canary rollout with sequential analysis", options.canary_budget) as advance:
        rollout, sent = run_canary(client, serving, MODEL_NAME, budget=options.canary_budget,
                                   seed=options.seed, holder=holder, on_stretch=report)  # fmt: skip
    summary = rollout_json(client, rollout)
    for decision in summary["decisions"]:
        stages.say(f"{decision['kind']}: {decision['reason']}")
    return summary, sent


def _report(client: Client, options: DemoOptions, stages: Stages) -> Path:
    path = options.report or client.settings.home / "reports" / f"{MODEL_NAME}-demo.html"
    with stages.stage("writing the report") as advance:
        write_model_report(client, MODEL_NAME, path)
        advance(1)
    return path


def _decision_json(decision: Any) -> dict[str, Any]:
    return {
        "kind": str(decision.kind),
        "reason": decision.reason,
        "trigger": decision.trigger,
        "champion_version": decision.champion_version,
        "challenger_version": decision.challenger_version,
        "gate": {k: v for k, v in decision.gate.items() if k != "shadow"},
    }


def _hold(stages: Stages) -> None:
    stages.console.print("servers are up; press Ctrl-C to stop them")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stages.console.print("stopping the servers")
