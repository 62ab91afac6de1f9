"""The canary of the demo: live traffic through the model server until the rollout decides.

The demo holds the store's rollout lease, so it (not the model server's own evaluator) decides
after each stretch of traffic, once that traffic's labels are in: runs are repeatable and no
decision waits for a timer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from mloop.client import Client
from mloop.demo.traffic import Sent, deliver_labels, send_one_by_one
from mloop.entities import Rollout
from mloop.errors import Conflict
from mloop.rollouts import evaluate, rollout_lease
from mloop.scenario import downturn_traffic
from mloop.serving_client import ServingClient

LEASE_SECONDS = 300.0
FOLLOW_SECONDS = 1.5  # the model server reads the rollout every 0.5 s
HEADROOM = 1.25


def hold_rollout_lease(client: Client, model: str) -> str:
    """Take (before the rollout starts) the lease the model servers' evaluators need, so only
    the demo decides; returns the holder name, the same for every demo run, so a run takes
    over what an interrupted one held. Raises Conflict when another process holds it."""
    holder = "mloop-demo"
    if not client.monitoring.acquire_lease(rollout_lease(model), holder, LEASE_SECONDS):
        raise Conflict(
            f"another process evaluates the rollouts of {model} on this store (a model server or "
            "mloop server still running on it?); stop it or try again later"
        )
    return holder


def release_rollout_lease(client: Client, model: str, holder: str) -> None:
    """Let the lease lapse now, so the model servers (or a next demo) may evaluate again."""
    client.monitoring.acquire_lease(rollout_lease(model), holder, 1e-3)


def stretch_size(rollout: Rollout) -> int:
    """Requests that give every arm with traffic ``min_sample`` answers at the current split."""
    shares = [share for share in rollout.weights.values() if share > 0]
    return math.ceil(HEADROOM * rollout.policy.min_sample / min(shares))


def run_canary(
    client: Client,
    serving: ServingClient,
    model: str,
    *,
    budget: int,
    seed: int,
    holder: str,
    on_stretch: Callable[[Rollout, int], None],
) -> tuple[Rollout, Sent]:
    """Send downturn customers one request each until the running rollout of ``model`` is
    promoted or rolled back, or ``budget`` requests are spent (then it is stopped).

    ``on_stretch(rollout, requests)`` is called after each stretch. Returns the rollout after
    its last decision and the traffic sent. ``holder`` holds the rollout lease (see
    ``hold_rollout_lease``).
    """
    sent, spent, stretch = Sent(), 0, 0
    rollout = client.rollouts.running(model)
    while rollout is not None and spent < budget:
        size = min(stretch_size(rollout), budget - spent)
        customers = downturn_traffic(size, seed=seed + 1000 + stretch)
        part = send_one_by_one(serving, customers, first_id=10_000_000 + spent)
        deliver_labels(client, serving, part.labels)
        time.sleep(FOLLOW_SECONDS)  # the servers write their request tallies each poll
        client.monitoring.acquire_lease(rollout_lease(model), holder, LEASE_SECONDS)
        sent.add(part)
        spent, stretch = spent + size, stretch + 1
        decided = evaluate(client, model)
        on_stretch(decided or rollout, size)
        if decided is not None:
            time.sleep(FOLLOW_SECONDS)  # every server routes by the new weights
        rollout = client.rollouts.running(model)
    if rollout is not None:
        client.rollouts.stop(model, reason=f"the demo's budget of {budget} requests ran out")
    return client.rollouts.latest(model), sent
