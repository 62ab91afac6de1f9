"""``mloop demo --fast --json``: the whole loop in one command, its end state, the report."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mloop.scenario import NUMERIC_FEATURES, TARGET, churn_customers, downturn_traffic

from .conftest import MLOOP, DemoRun

SHIFTED = {"annual_income", "credit_score", "avg_transaction_amount"}


def test_scenario_data_has_the_features_and_a_quarter_churn() -> None:
    frame = churn_customers(4000, seed=3)
    assert set(NUMERIC_FEATURES) < set(frame.columns)
    assert abs(frame[TARGET].mean() - 0.25) < 0.01
    shifted = churn_customers(4000, seed=3, economic_downturn=1.0)
    assert shifted["annual_income"].median() < frame["annual_income"].median()


def test_downturn_traffic_shifts_as_the_scenario_says() -> None:
    before, after = churn_customers(20_000, seed=4), downturn_traffic(20_000, seed=4)
    ratio = after["annual_income"].median() / before["annual_income"].median()
    assert ratio == pytest.approx(0.85, rel=1e-9)
    spending = after["avg_transaction_amount"].median() / before["avg_transaction_amount"].median()
    assert spending == pytest.approx(0.9, rel=1e-9)
    drop = (after["credit_score"] - before["credit_score"]).describe()
    assert drop["mean"] == pytest.approx(-20, abs=0.5)
    assert 8 < drop["std"] < 12  # -20 +/- 10, less where the 300..850 clip holds
    assert abs(after[TARGET].mean() - 0.25) < 0.01
    poorer = after["annual_income"] < after["annual_income"].median()
    assert after.loc[poorer, TARGET].mean() > after.loc[~poorer, TARGET].mean() + 0.1


class _Page(HTMLParser):
    """Collects the attributes that would make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.links.append(value)
        self.images += tag == "img"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_demo_fast_json_ends_with_the_whole_loop_recorded(
    demo_run: DemoRun,
) -> None:
    state = demo_run.state
    assert sorted(run["name"] for run in state["runs"]) == [
        "gradient_boosting", "logistic_regression", "random_forest"
    ]  # fmt: skip
    assert all(0 < run["metrics"]["f1"] < 1 for run in state["runs"])
    assert state["champion_before"] == 1
    drifted = {alert["subject"] for alert in state["alerts"] if alert["rule"] == "feature-drift"}
    assert drifted and drifted <= SHIFTED
    assert set(state["drifted_features"]) <= SHIFTED
    kinds = [d["kind"] for d in state["retraining"]]
    assert kinds[:2] == ["triggered", "trained"] and "drift" in state["retraining"][0]["trigger"]
    gate = state["retraining_decision"]["gate"]
    assert gate["metric"] == "roc_auc" and gate["n"] > 0
    assert gate["ci_low"] <= gate["difference"] <= gate["ci_high"]
    assert state["retraining_decision"]["kind"] in ("canary", "rejected")
    if state["retraining_decision"]["kind"] == "canary":
        rollout = state["rollout"]
        assert rollout["mode"] == "canary" and rollout["challenger"] == 2
        assert rollout["state"] in ("promoted", "rolled_back", "stopped")
        last = rollout["decisions"][-1]
        assert last["kind"] in ("promote", "rollback", "stop") and last["reason"]
        assert last["sequential"] is not None
        expected = 2 if rollout["state"] == "promoted" else 1
        assert state["champion_after"] == expected
        assert state["traffic"]["canary"] > 0 and state["traffic"]["failed"] == 0
    assert state["dashboard_url"].startswith("http://127.0.0.1:")


def test_demo_report_opens_with_no_network(
    demo_run: DemoRun,
) -> None:
    state = demo_run.state
    page = _parse(Path(state["report"]))
    assert page.images >= 3
    assert all(link.startswith(("data:", "#")) for link in page.links), page.links
    text = " ".join(page.text)
    for heading in ("Versions and aliases", "Drift", "Alerts", "Retraining decisions", "Rollouts"):
        assert heading in text
    assert "annual_income" in text


def test_mloop_report_writes_html_and_the_overview_png(demo_run: DemoRun, tmp_path: Path) -> None:
    env = demo_run.env
    out, png = tmp_path / "report.html", tmp_path / "overview.png"
    done = subprocess.run(
        [*MLOOP, "report", "--model", "churn", "--out", str(out), "--png", str(png)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _parse(out).images >= 3
    missing = subprocess.run(
        [*MLOOP, "report", "--model", "nope", "--out", str(tmp_path / "x.html")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2 and "nope" in missing.stderr
    assert not (tmp_path / "x.html").exists()
    for where in (
        ["--out", str(tmp_path)],
        ["--out", str(out), "--png", str(tmp_path / "no" / "o.png")],
    ):
        refused = subprocess.run(
            [*MLOOP, "report", "--model", "churn", *where],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert not (tmp_path / "no").exists()
