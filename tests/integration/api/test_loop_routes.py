"""Rollouts and retraining through the API as a person or a script calls them (curl, CI)."""

from __future__ import annotations

import httpx
import pandas as pd
from sklearn.dummy import DummyClassifier

import mloop
from tests.integration.api.conftest import Mounted


def _two_versions(url: str) -> mloop.Client:
    """churn v1 (champion) and v2 registered through the server at ``url``."""
    client = mloop.Client(url)
    features = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    for label in (0, 1):
        model = DummyClassifier(strategy="constant", constant=label).fit(features, [0, 1, 0, 1])
        run_id = client.create_run("churn", f"constant-{label}")
        client.log_model(run_id, model, input_example=features)
        client.register_model(run_id, "churn")
    client.set_alias("churn", "champion", 1)
    return client


def test_a_rollout_starts_reports_and_stops_over_http(mount: Mounted) -> None:
    url = mount()
    _two_versions(url)
    with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as api:
        start = {"challenger": 2, "mode": "canary", "options": {"steps": [0.1, 1.0]}}
        started = api.post("/models/churn/rollouts", json={**start, "reason": "retrained"})
        assert started.status_code == 200, started.text
        assert started.json()["weights"] == {"champion": 0.9, "challenger": 0.1}
        assert api.post("/models/churn/rollouts", json=start).status_code == 409
        rollout_id = started.json()["id"]
        tally = {"arm": "challenger", "holder": "s1", "requests": 7, "errors": 1}
        assert api.put(f"/rollouts/{rollout_id}/tallies", json=tally).status_code == 200
        assert api.get(f"/rollouts/{rollout_id}/tallies").json()["challenger"] == {
            "requests": 7,
            "errors": 1,
        }
        status = api.get("/models/churn/rollouts/status").json()
        assert status["state"] == "running" and status["decisions"][0]["reason"] == "retrained"
        assert api.post("/models/churn/rollouts/evaluate").json() is None  # nothing to decide
        stopped = api.post("/models/churn/rollouts/stop", json={"reason": "enough"}).json()
        assert stopped["state"] == "stopped"
        kinds = [d["kind"] for d in api.get("/models/churn/rollout-decisions").json()]
        assert kinds == ["start", "stop"]
        assert api.get("/models/churn/rollouts", params={"state": "running"}).json() == []


def test_bad_rollout_requests_get_422_naming_the_field(mount: Mounted) -> None:
    url = mount()
    _two_versions(url)
    cases = [
        ({"challenger": 2, "mode": "sideways"}, "mode"),
        ({"challenger": 2, "options": {"steps": [0.5, 0.2]}}, "options.steps"),
        ({"challenger": 2, "options": {"colour": "red"}}, "options.colour"),
        ({"challenger": 2, "mode": "ab", "options": {"mode": "canary"}}, "options.mode"),
        ({"challenger": 1}, "challenger"),
        ({"challenger": 0}, "challenger"),
        ({"challenger": 2, "extra": 1}, "extra"),
        ({"challenger": 2, "options": {"steps": 5}}, "options.steps"),
    ]
    with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as api:
        for body, field in cases:
            answer = api.post("/models/churn/rollouts", json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["field"] == field, (body, answer.json())
        assert api.post("/models/churn/rollouts", json={"challenger": 9}).status_code == 404
        assert api.get("/models/churn/rollouts/status").status_code == 404
        tally = {"arm": "third", "holder": "s", "requests": 1, "errors": 0}
        assert api.put("/rollouts/1/tallies", json=tally).json()["field"] == "arm"


def test_a_retraining_policy_is_set_read_planned_and_locked_over_http(mount: Mounted) -> None:
    url = mount()
    _two_versions(url)
    policy = {"recipe": "mloop.demo:train_churn", "target": "churned", "cooldown_seconds": 0}
    with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as api:
        stored = api.put("/models/churn/retraining-policy", json={"policy": policy, "user": "ci"})
        assert stored.status_code == 200, stored.text
        assert stored.json()["model"] == "churn" and stored.json()["holdout"] == 0.3
        assert api.get("/models/churn/retraining-policy").json() == stored.json()
        assert [p["model"] for p in api.get("/retraining-policies").json()] == ["churn"]
        bad = api.put("/models/churn/retraining-policy", json={"policy": {**policy, "holdout": 2}})
        assert bad.status_code == 422 and bad.json()["field"] == "holdout"
        other = api.put(
            "/models/churn/retraining-policy", json={"policy": {"model": "x", **policy}}
        )
        assert other.status_code == 422 and other.json()["field"] == "model"
        for field, value in [("triggers", 5), ("params", 3), ("candidates", 5)]:
            body = {"policy": {**policy, field: value}}
            hostile = api.put("/models/churn/retraining-policy", json=body)
            assert hostile.status_code == 422 and hostile.json()["field"] == field
        plan = api.post("/models/churn/retrain", json={"dry_run": True}).json()
        assert (plan["action"], plan["reason"]) == ("skip", "no trigger fired")
        forced = api.post("/models/churn/retrain", json={"dry_run": True, "force": True}).json()
        assert forced["fired"][0]["name"] == "manual"  # forced, but no labelled rows to hold out
        assert forced["action"] == "skip" and "for the holdout" in forced["reason"]
        assert api.get("/models/churn/retraining-decisions").json() == []  # a plan writes nothing
        lock = {"name": "retraining:churn", "holder": "a", "seconds": 60}
        assert api.post("/retraining-locks", json=lock).json()["held"] is True
        assert api.post("/retraining-locks", json={**lock, "holder": "b"}).json()["held"] is False
        release = {"name": "retraining:churn", "holder": "a"}
        assert api.post("/retraining-locks/release", json=release).status_code == 200
        assert api.post("/retraining-locks", json={**lock, "holder": "b"}).json()["held"] is True
        assert api.post("/retraining-locks", json={**lock, "seconds": -1}).status_code == 422
