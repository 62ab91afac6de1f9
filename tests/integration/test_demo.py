"""The interim main job: the churn scenario's three models, tracked and the best registered."""

from __future__ import annotations

from rich.console import Console

import mloop
from mloop.demo import run_demo
from mloop.scenario import NUMERIC_FEATURES, TARGET, churn_customers


def test_scenario_data_has_the_features_and_a_quarter_churn() -> None:
    frame = churn_customers(4000, seed=3)
    assert set(NUMERIC_FEATURES) < set(frame.columns)
    assert abs(frame[TARGET].mean() - 0.25) < 0.01
    shifted = churn_customers(4000, seed=3, economic_downturn=1.0)
    assert shifted["annual_income"].median() < frame["annual_income"].median()


def test_demo_tracks_three_runs_and_makes_the_best_champion() -> None:
    client = mloop.Client()
    version = run_demo(client, rows=800, console=Console(quiet=True))
    runs = client.search_runs("churn", order_by=["metrics.f1 DESC"])
    assert len(runs) == 3
    assert {r.status.value for r in runs} == {"FINISHED"}
    champion = client.resolve("models:/churn@champion")
    assert champion.version == version
    assert champion.run_id == runs[0].id
    assert {a.path for a in client.list_artifacts(runs[0].id)} >= {"model/model.skops"}
    loaded = client.load_model("models:/churn@champion")
    sample = churn_customers(50, seed=9).drop(columns=[TARGET])
    assert loaded.predict_proba(sample).shape == (50, 2)
