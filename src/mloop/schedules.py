"""The scheduled work of ``mloop server``: monitors, retraining policies, rollout evaluations.

Time is cut into intervals of each job's period, aligned to the epoch (interval ``k`` of a job
every ``s`` seconds is ``[k*s, (k+1)*s)``). A replica runs a job only while it holds the job's
lease in the store, and takes or renews that lease (for ``LEASE_INTERVALS`` periods) only when
the job is due, once per interval. So however many replicas share a store, each interval's job
runs at most once, on the replica that held it before; when that replica dies its lease runs
out 1.5 periods after its last run and the first replica to poll after that takes the job over.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from mloop.client import Client
from mloop.errors import MloopError
from mloop.monitoring.monitor import run_monitor
from mloop.monitoring.notifiers import LogNotifier
from mloop.prediction_log import Window
from mloop.retraining import retrain
from mloop.rollouts import evaluate_if_held

logger = logging.getLogger("mloop.schedules")
LEASE_INTERVALS = 1.5
MIN_POLL, MAX_POLL = 0.05, 5.0


@dataclass(frozen=True)
class Job:
    """One piece of scheduled work: its lease name, its period (seconds) and what it runs."""

    name: str
    every: float
    run: Callable[[], object]


JobSource = Callable[[], Sequence[Job]]
"""What a schedule runs: called at every poll, so jobs come and go with the store's rows."""


def holder_name() -> str:
    """This replica's name on the leases it holds: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def interval(now: float, every: float) -> int:
    """The number of the ``every``-second interval that holds ``now`` (epoch seconds)."""
    return math.floor(now / every)


class LeasedSchedule:
    """Runs the jobs of ``source`` once per interval each, in a thread, behind store leases.

    ``name`` names the thread and the log lines. ``run_due`` does one poll; ``start`` polls
    until ``stop``, as each job's interval begins and at least every quarter of its period.
    """

    def __init__(self, client: Client, name: str, source: JobSource) -> None:
        self._client = client
        self._name = name
        self._source = source
        self.holder = holder_name()
        self._done: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"mloop-{name}", daemon=True)

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (a job in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def run_due(self) -> tuple[list[str], float]:
        """Run every job that is due and whose lease this replica holds now.

        Returns the names of the jobs run and the seconds to wait before the next poll: a
        quarter of the shortest period (0.05 to 5 s), or less to wake as the next interval
        of a job begins.
        """
        jobs = self._source()
        ran = [job.name for job in jobs if self._run_if_due(job)]
        now = time.time()
        wait = MAX_POLL
        for job in jobs:
            boundary = (interval(now, job.every) + 1) * job.every - now
            wait = min(wait, max(job.every / 4, MIN_POLL), boundary + 0.01)
        return ran, max(wait, 0.0)

    def _run_if_due(self, job: Job) -> bool:
        due = interval(time.time(), job.every)
        if self._done.get(job.name) == due:
            return False
        lease = LEASE_INTERVALS * job.every
        if not self._client.monitoring.acquire_lease(job.name, self.holder, lease):
            return False
        self._done[job.name] = due
        try:
            job.run()
        except MloopError as exc:
            logger.warning("%s %s skipped: %s", self._name, job.name, exc)
        except Exception:
            logger.exception("%s %s failed", self._name, job.name)
        return True

    def _loop(self) -> None:
        wait = MIN_POLL
        while not self._stop.wait(wait):
            try:
                wait = self.run_due()[1]
            except MloopError as exc:
                logger.warning("%s: could not read its jobs: %s", self._name, exc)
            except Exception:
                logger.exception("%s: could not read its jobs", self._name)


def monitor_jobs(client: Client, targets: Sequence[str], window: Window, every: float) -> JobSource:
    """The monitors of ``targets`` (``churn@champion``), each every ``every`` seconds."""
    jobs = [
        Job(
            f"schedule:monitor:{target}",
            every,
            partial(run_monitor, client, target, window, notifiers=(LogNotifier(),)),
        )
        for target in targets
    ]
    return lambda: jobs


def retraining_jobs(client: Client, every: float) -> JobSource:
    """One job per model with a retraining policy, running it every ``every`` seconds."""

    def jobs() -> list[Job]:
        return [
            Job(
                f"schedule:retraining:{policy.model}", every, partial(retrain, client, policy.model)
            )
            for policy in client.retraining.policies()
        ]

    return jobs


def rollout_jobs(client: Client) -> JobSource:
    """One job per running rollout, evaluating it as often as its policy asks, while this
    process holds the model's rollout lease (``rollout_lease``: model servers evaluating the same
    rollout, or ``mloop demo``, keep the schedule from deciding at the same time)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:schedule"

    def jobs() -> list[Job]:
        found = []
        for model in client.registry.list_models():
            rollout = client.rollouts.running(model.name)
            if rollout is not None:
                every = rollout.policy.evaluate_every_seconds
                found.append(
                    Job(
                        f"schedule:rollout:{model.name}",
                        every,
                        partial(evaluate_if_held, client, model.name, holder, every * 0.9),
                    )
                )
        return found

    return jobs


def team_schedules(
    client: Client,
    monitors: Sequence[str],
    monitor_window: Window,
    monitor_every: float,
    retrain_every: float,
) -> list[LeasedSchedule]:
    """The schedules ``mloop server`` runs: its monitors, every model's retraining policy and
    every running rollout, each in its own thread."""
    return [
        LeasedSchedule(
            client, "monitor", monitor_jobs(client, monitors, monitor_window, monitor_every)
        ),
        LeasedSchedule(client, "retraining", retraining_jobs(client, retrain_every)),
        LeasedSchedule(client, "rollouts", rollout_jobs(client)),
    ]
