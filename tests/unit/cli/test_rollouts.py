"""``mloop rollout``: start, status, analyze and stop, as tables and as JSON."""

from __future__ import annotations

import re

import pytest

from mloop.entities import RolloutPolicy
from tests.unit.cli.home import MODEL, Home, cli, cli_json, mloop_main

pytestmark = pytest.mark.timeout(120)


def test_start_status_analyze_stop(home: Home) -> None:
    options = ["--mode", "canary", "--steps", "10,50,100", "--min-sample", "50",
               "--evaluate-every", "15", "--max-p99-ms", "250"]  # fmt: skip
    started = cli_json(
        home, "rollout", "start", MODEL, "--challenger", "2", *options, "--reason", "retrained"
    )
    assert started["weights"] == {"champion": 0.9, "challenger": 0.1}
    status = cli_json(home, "rollout", "status", MODEL)
    assert (status["mode"], status["state"], status["steps"]) == (
        "canary",
        "running",
        [0.1, 0.5, 1.0],
    )
    assert {a["name"]: a["version"] for a in status["arms"]} == {"champion": 1, "challenger": 2}
    assert {"srm_p_value", "sequential", "decisions"} <= set(status)
    assert status["decisions"][0]["reason"] == "retrained"
    policy = status["policy"]
    assert set(policy) == set(RolloutPolicy.__dataclass_fields__)
    assert (policy["mode"], policy["steps"], policy["min_sample"]) == ("canary", [0.1, 0.5, 1], 50)
    assert (policy["evaluate_every_seconds"], policy["promote_when"]) == (15, "guardrails")
    assert (policy["max_p99_ms"], policy["margin"], policy["alias"]) == (250, 0, "champion")
    assert "canary rollout" in cli(home, "rollout", "analyze", MODEL, "--decide").stdout
    shown = cli(home, "rollout", "status", MODEL).stdout
    assert "SRM p=n/a" in shown and "None" not in shown
    assert (
        "policy: steps 10,50,100%; 50 answers per arm a step; evaluated every 15 s; promote "
        "when guardrails (margin 0), moving champion; guardrails: error rate at most 0.01, "
        "p99 at most 250 ms"
    ) in " ".join(shown.split())
    assert re.search(r"sequential p=n/a interval of challenger - champion \[n/a, n/a\]", shown)
    assert cli_json(home, "rollout", "stop", MODEL)["state"] == "stopped"
    kinds = [d["kind"] for d in cli_json(home, "rollout", "status", MODEL)["decisions"]]
    assert kinds == ["start", "stop"]


def test_user_mistakes_exit_2_naming_the_field(home: Home) -> None:
    bad_steps = mloop_main(home.path, "--store", home.store_url, "rollout", "start", MODEL,
                           "--challenger", "2", "--steps", "ten")  # fmt: skip
    assert bad_steps.returncode == 2 and "steps" in bad_steps.stderr
    same = mloop_main(home.path, "--store", home.store_url, "rollout", "start", MODEL,
                      "--challenger", "1")  # fmt: skip
    assert same.returncode == 2 and "champion" in same.stderr
    missing = mloop_main(home.path, "--store", home.store_url, "rollout", "stop", MODEL)
    assert missing.returncode == 2 and "no running rollout" in missing.stderr
    unknown = mloop_main(home.path, "--store", home.store_url, "rollout", "status", "nope")
    assert unknown.returncode == 2 and "'nope' does not exist" in unknown.stderr
    for args, said in (
        (["--steps", "10,150"], "150% is not between 0 and 100"),
        (["--mode", "ab", "--steps", "10,20"], "ab rollouts take one challenger share"),
        (["--max-p99-ms", "-5"], "max_p99_ms must be positive, got -5"),
    ):
        refused = mloop_main(home.path, "--store", home.store_url, "rollout", "start", MODEL,
                             "--challenger", "2", *args)  # fmt: skip
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    decide = mloop_main(home.path, "--store", home.store_url, "rollout", "analyze", "nope",
                        "--decide")  # fmt: skip
    assert decide.returncode == 2 and "nothing to decide" not in decide.stdout
