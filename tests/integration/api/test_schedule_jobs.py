"""The jobs `mloop server` schedules: found in the store's rows, run once per interval."""

from __future__ import annotations

import mloop
from mloop.schedules import Job, LeasedSchedule, retraining_jobs, rollout_jobs
from mloop.services.rollouts import make_policy
from tests.integration.api.test_loop_routes import _two_versions
from tests.integration.retraining.conftest import policy


def test_policies_and_running_rollouts_become_jobs(sqlite_url: str) -> None:
    client = _two_versions(sqlite_url)
    assert retraining_jobs(client, 60.0)() == [] and rollout_jobs(client)() == []
    client.set_retraining_policy(policy())
    client.rollouts.start("churn", 2, make_policy("ab", evaluate_every_seconds=7.0))
    (retraining,) = retraining_jobs(client, 60.0)()
    (rollout,) = rollout_jobs(client)()
    assert (retraining.name, retraining.every) == ("schedule:retraining:churn", 60.0)
    assert (rollout.name, rollout.every) == ("schedule:rollout:churn", 7.0)
    client.rollouts.stop("churn")
    assert rollout_jobs(client)() == []


def test_of_two_replicas_one_runs_a_job_once_per_interval(sqlite_url: str) -> None:
    client = mloop.Client(sqlite_url)
    runs: list[str] = []
    job = Job("schedule:test", 3600.0, lambda: runs.append("ran"))
    first, second = (LeasedSchedule(client, "test", lambda: [job]) for _ in range(2))
    assert first.run_due()[0] == ["schedule:test"]
    assert second.run_due()[0] == []  # the lease is the first replica's
    assert first.run_due()[0] == []  # this interval's run is done
    assert runs == ["ran"]
    assert 0 < first.run_due()[1] <= 5.0
