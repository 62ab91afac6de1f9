"""Rollouts in the store (SQLite and PostgreSQL): rows, decisions, analysis and the rules."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import mloop
from mloop.entities import RolloutState
from mloop.errors import Conflict, InvalidInput, NotFound
from mloop.prediction_log import shadow_id
from mloop.rollouts import evaluate
from mloop.services.rollouts import make_policy, policy_json
from mloop.stats import power_proportions


def _serve(client: mloop.Client, version: int, arm: str, hits: int, n: int, ms: float) -> None:
    """Log ``n`` answers of a version with feedback: ``hits`` of them correct."""
    prefix = f"{arm}-{version}-{time.monotonic_ns()}"
    ids = [f"{prefix}-{i}" for i in range(n)]
    frame = pd.DataFrame({"prediction_id": ids, "ts": time.time() + np.arange(n) * 1e-6,
                          "latency_ms": np.full(n, ms), "feature.x": np.zeros(n),
                          "prediction": np.ones(n, dtype=int)})  # fmt: skip
    client.prediction_log.write_chunk(model="churn", version=version, arm=arm, frame=frame)
    client.feedback({pid: int(i < hits) for i, pid in enumerate(ids)})


def test_a_rollout_is_one_running_row_with_audited_decisions(churn: mloop.Client) -> None:
    policy = make_policy("canary", steps=(0.1, 0.5, 1.0))
    rollout = churn.rollouts.start("churn", 2, policy, reason="retrained")
    assert (rollout.champion, rollout.challenger, rollout.state) == (1, 2, RolloutState.RUNNING)
    assert rollout.weights == {"champion": 0.9, "challenger": 0.1}
    with pytest.raises(Conflict):
        churn.rollouts.start("churn", 2, policy)
    advanced = churn.rollouts.decide(rollout, "advance", "held", step=1,
                                     weights={"champion": 0.5, "challenger": 0.5})  # fmt: skip
    assert (advanced.step, advanced.weights["challenger"]) == (1, 0.5)
    assert advanced.weights_at >= rollout.weights_at
    stopped = churn.rollouts.stop("churn", reason="enough")
    assert stopped.state == RolloutState.STOPPED and churn.rollouts.running("churn") is None
    with pytest.raises(Conflict):
        churn.rollouts.decide(stopped, "advance", "too late")
    status = churn.rollouts.status("churn")
    assert status["policy"] == policy_json(policy)
    assert status["policy"]["steps"] == [0.1, 0.5, 1.0] and status["policy"]["mode"] == "canary"
    decisions = status["decisions"]
    assert [d["kind"] for d in decisions] == ["start", "advance", "stop"]
    assert decisions[0]["reason"] == "retrained" and decisions[0]["user"] == "tester"
    assert decisions[0]["versions"] == {"champion": 1, "challenger": 2}
    assert churn.get_alias("churn", "champion") == 1


def test_a_decision_after_the_alias_moved_by_hand_stops_the_rollout(
    churn: mloop.Client,
) -> None:
    rollout = churn.rollouts.start("churn", 2, make_policy("canary", steps=(0.1, 1.0)))
    churn.set_alias("churn", "champion", 2, reason="promoted by hand")
    churn.set_alias("churn", "champion", 1, reason="and back")
    assert churn.rollouts.decide(rollout, "advance", "held", step=1).state is RolloutState.RUNNING
    rollout = churn.rollouts.running("churn")
    assert rollout is not None
    churn.delete_alias("churn", "champion")
    churn.set_alias("churn", "champion", 2, reason="promoted by hand")
    after = churn.rollouts.decide(rollout, "promote", "better", state=RolloutState.PROMOTED)
    assert after.state is RolloutState.STOPPED
    last = churn.rollouts.status("churn")["decisions"][-1]
    assert last["kind"] == "stop"
    assert last["reason"].startswith("the champion alias moved from v1 to v2")
    assert churn.get_alias("churn", "champion") == 2
    assert [e.reason for e in churn.registry.alias_history("churn", "champion")][-1] == (
        "promoted by hand"
    )


def test_evaluating_with_nothing_due_still_stops_a_rollout_whose_champion_moved(
    churn: mloop.Client,
) -> None:
    rollout = churn.rollouts.start("churn", 2, make_policy("canary", steps=(0.1, 1.0)))
    assert evaluate(churn, "churn") is None  # no traffic: nothing to decide
    churn.set_alias("churn", "champion", 2, reason="promoted by hand")
    stopped = evaluate(churn, "churn")
    assert stopped is not None and stopped.id == rollout.id
    assert stopped.state is RolloutState.STOPPED
    assert "moved from v1 to v2" in churn.rollouts.decisions("churn")[-1].reason
    assert churn.get_alias("churn", "champion") == 2


def test_bad_rollouts_are_refused_naming_the_field(churn: mloop.Client) -> None:
    cases = [
        (lambda: make_policy("sideways"), "mode"),
        (lambda: make_policy("canary", steps=(0.5, 0.2)), "steps"),
        (lambda: make_policy("shadow", steps=(0.5,)), "steps"),
        (lambda: make_policy("ab", alpha=2.0), "alpha"),
        (lambda: make_policy("ab", colour="red"), "colour"),
        (lambda: make_policy("ab", mode="canary"), "mode"),
        (lambda: churn.rollouts.start("churn", 1, make_policy("ab")), "challenger"),
    ]
    for call, field in cases:
        with pytest.raises(InvalidInput) as raised:
            call()
        assert raised.value.field == field
    with pytest.raises(NotFound):
        churn.rollouts.start("churn", 9, make_policy("ab"))
    with pytest.raises(NotFound):
        churn.rollouts.status("churn")


def test_tallies_add_up_over_servers(churn: mloop.Client) -> None:
    rollout = churn.rollouts.start("churn", 2, make_policy("ab"))
    churn.rollouts.record_tally(rollout.id, "challenger", "server-a", 10, 1)
    churn.rollouts.record_tally(rollout.id, "challenger", "server-a", 30, 2)
    churn.rollouts.record_tally(rollout.id, "challenger", "server-b", 5, 0)
    arms = {a["name"]: a for a in churn.rollouts.status("churn")["arms"]}
    assert (arms["challenger"]["requests"], arms["challenger"]["errors"]) == (35, 2)


def test_a_canary_advances_then_promotes_and_moves_the_alias(churn: mloop.Client) -> None:
    policy = make_policy("canary", steps=(0.5, 1.0), min_sample=50, promote_when="not_worse",
                         margin=0.2)  # fmt: skip
    churn.rollouts.start("churn", 2, policy)
    assert evaluate(churn, "churn") is None  # too few answers yet
    _serve(churn, 1, "", 400, 500, 2.0)
    _serve(churn, 2, "challenger", 420, 500, 2.0)
    rollout = evaluate(churn, "churn")
    assert rollout is not None and rollout.weights == {"champion": 0.0, "challenger": 1.0}
    _serve(churn, 2, "challenger", 45, 60, 2.0)
    promoted = evaluate(churn, "churn")
    assert promoted is not None and promoted.state == RolloutState.PROMOTED
    assert churn.get_alias("churn", "champion") == 2
    kinds = [d.kind for d in churn.rollouts.decisions("churn")]
    assert kinds == ["start", "advance", "promote"]
    statistics = churn.rollouts.decisions("churn")[-1].statistics
    assert statistics["sequential"]["ci_low"] > -0.2
    history = churn.alias_history("churn", "champion")
    assert history[-1].reason.startswith(f"rollout {promoted.id}:")


def test_a_canary_whose_challenger_is_worse_rolls_back_at_any_step(churn: mloop.Client) -> None:
    policy = make_policy("canary", steps=(0.5, 1.0), min_sample=5000)
    assert policy.promote_when == "guardrails"
    churn.rollouts.start("churn", 2, policy)
    _serve(churn, 1, "", 870, 1000, 2.0)
    _serve(churn, 2, "challenger", 700, 1000, 2.0)
    rolled = evaluate(churn, "churn")
    assert rolled is not None and rolled.state == RolloutState.ROLLED_BACK
    assert rolled.step == 0 and rolled.weights["challenger"] == 0.0
    assert churn.rollouts.decisions("churn")[-1].reason.startswith("challenger worse: p=")
    assert churn.get_alias("churn", "champion") == 1


def test_a_breached_guardrail_rolls_back_at_once(churn: mloop.Client) -> None:
    churn.rollouts.start("churn", 2, make_policy("canary", max_error_rate=0.05))
    rollout = churn.rollouts.running("churn")
    assert rollout is not None
    churn.rollouts.record_tally(rollout.id, "challenger", "s", 25, 3)
    rolled = evaluate(churn, "churn")
    assert rolled is not None and rolled.state == RolloutState.ROLLED_BACK
    assert rolled.weights["challenger"] == 0.0
    assert "error_rate" in churn.rollouts.decisions("churn")[-1].reason
    assert churn.get_alias("churn", "champion") == 1


def test_an_ab_test_stops_when_the_sequential_test_decides(churn: mloop.Client) -> None:
    churn.rollouts.start("churn", 2, make_policy("ab", max_p99_ratio=3.0))
    _serve(churn, 1, "", 300, 1000, 2.0)
    _serve(churn, 2, "challenger", 420, 1000, 2.5)
    status = churn.rollouts.status("churn")
    assert status["mode"] == "ab" and status["srm_p_value"] > 0.5
    arms = {a["name"]: a for a in status["arms"]}
    assert arms["challenger"]["metric"] == pytest.approx(0.42)
    assert arms["challenger"]["ci_low"] < 0.42 < arms["challenger"]["ci_high"]
    assert status["sequential"]["p_value"] < 0.05
    assert status["power"] == pytest.approx(power_proportions(0.3, 0.02, 1000))
    promoted = evaluate(churn, "churn")
    assert promoted is not None and promoted.state == RolloutState.PROMOTED


def test_a_split_that_is_off_blocks_every_decision_but_a_rollback(churn: mloop.Client) -> None:
    churn.rollouts.start("churn", 2, make_policy("ab"))
    _serve(churn, 1, "", 300, 1000, 2.0)
    _serve(churn, 2, "challenger", 560, 800, 2.0)
    analysis = churn.rollouts.analyze("churn")
    assert analysis.srm_blocked and analysis.sequential is not None
    assert analysis.sequential.decided
    assert evaluate(churn, "churn") is None


def test_a_bandit_moves_traffic_to_the_better_arm(churn: mloop.Client) -> None:
    churn.rollouts.start("churn", 2, make_policy("bandit", floor=0.1, alpha=0.001))
    _serve(churn, 1, "", 30, 100, 2.0)
    _serve(churn, 2, "challenger", 45, 100, 2.0)
    rollout = evaluate(churn, "churn")
    assert rollout is not None and rollout.state == RolloutState.RUNNING
    assert 0.8 < rollout.weights["challenger"] <= 0.9


def test_secondary_metrics_are_reported_holm_corrected_and_never_decide(
    churn: mloop.Client,
) -> None:
    policy = make_policy("ab", secondary=("reward", "latency_ms"), max_p99_ratio=3.0)
    churn.rollouts.start("churn", 2, policy)
    for ms in (2.0, 3.0):
        _serve(churn, 1, "", 150, 500, ms)
        _serve(churn, 2, "challenger", 160, 500, ms + 0.5)
    secondary = {m["name"]: m for m in churn.rollouts.status("churn")["secondary"]}
    assert set(secondary) == {"reward", "latency_ms"}
    latency, reward = secondary["latency_ms"], secondary["reward"]
    assert latency["difference"] == pytest.approx(0.5)
    assert latency["ci_low"] < 0.5 < latency["ci_high"]
    assert reward["difference"] == pytest.approx(0.02)
    raw = [reward["p_value"], latency["p_value"]]
    adjusted = [reward["p_adjusted"], latency["p_adjusted"]]
    assert all(a >= p for a, p in zip(adjusted, raw, strict=True))
    assert max(adjusted) == pytest.approx(max(raw)) and min(adjusted) == pytest.approx(2 * min(raw))
    assert evaluate(churn, "churn") is None
    with pytest.raises(InvalidInput, match="secondary"):
        make_policy("ab", secondary=("accuracy",))


def test_an_arm_with_every_answer_right_still_has_a_wide_interval(churn: mloop.Client) -> None:
    churn.rollouts.start("churn", 2, make_policy("ab"))
    _serve(churn, 2, "challenger", 7, 7, 2.0)
    arms = {a["name"]: a for a in churn.rollouts.status("churn")["arms"]}
    low, high = arms["challenger"]["ci_low"], arms["challenger"]["ci_high"]
    assert arms["challenger"]["metric"] == 1.0 and high == 1.0
    assert low == pytest.approx(0.6457, abs=1e-4)  # Wilson 95%, as scipy's binomtest gives


def test_shadow_rows_are_judged_on_the_labels_of_the_answers_they_shadowed(
    churn: mloop.Client,
) -> None:
    churn.rollouts.start("churn", 2, make_policy("shadow"))
    ids = [f"req-{i}" for i in range(10)]
    for version, arm, ids_logged, predicted in (
        (1, "", ids, 1),
        (2, "shadow", [shadow_id(pid) for pid in ids], 0),
    ):
        frame = pd.DataFrame({"prediction_id": ids_logged, "ts": time.time() + np.arange(10) * 1e-6,
                              "latency_ms": np.ones(10), "feature.x": np.zeros(10),
                              "prediction": np.full(10, predicted)})  # fmt: skip
        churn.prediction_log.write_chunk(model="churn", version=version, arm=arm, frame=frame)
    churn.feedback({pid: int(i < 6) for i, pid in enumerate(ids)})
    arms = {a["name"]: a for a in churn.rollouts.status("churn")["arms"]}
    assert (arms["champion"]["labelled"], arms["champion"]["metric"]) == (10, 0.6)
    assert (arms["challenger"]["labelled"], arms["challenger"]["metric"]) == (10, 0.4)


def test_analyses_of_a_running_rollout_read_each_chunk_once_and_agree_with_a_fresh_read(
    churn: mloop.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    churn.rollouts.start("churn", 2, make_policy("ab"))
    fresh = mloop.Client(settings=churn.settings)
    _serve(churn, 1, "champion", 30, 50, 2.0)
    _serve(churn, 2, "challenger", 40, 50, 3.0)
    ids = [f"unlabelled-{i}" for i in range(20)]
    frame = pd.DataFrame({"prediction_id": ids, "ts": time.time() + np.arange(20) * 1e-6,
                          "latency_ms": np.full(20, 9.0), "feature.x": np.zeros(20),
                          "prediction": np.ones(20, dtype=int)})  # fmt: skip
    churn.prediction_log.write_chunk(model="churn", version=2, arm="challenger", frame=frame)
    first = churn.rollouts.analyze("churn").to_dict()
    assert first == fresh.rollouts.analyze("churn").to_dict()
    artifacts = churn.prediction_log._artifacts
    read, reads = artifacts.get_bytes, []
    monkeypatch.setattr(artifacts, "get_bytes", lambda digest: reads.append(digest) or read(digest))
    churn.feedback({pid: int(i < 5) for i, pid in enumerate(ids)})
    _serve(churn, 1, "champion", 10, 10, 2.0)
    second = churn.rollouts.analyze("churn").to_dict()
    assert len(reads) == 1, "the chunks read by the first analysis are not read again"
    assert second == fresh.rollouts.analyze("churn").to_dict()
    arms = {arm["name"]: arm for arm in second["arms"]}
    assert (arms["challenger"]["labelled"], arms["challenger"]["successes"]) == (70, 45)
    assert (arms["champion"]["labelled"], arms["champion"]["successes"]) == (60, 40)
    assert arms["challenger"]["p99_ms"] > 3.0
    churn.rollouts.stop("churn", reason="done")
    assert churn.rollouts.analyze("churn").to_dict()["state"] == "stopped"
    assert churn.rollouts._caches == {}
