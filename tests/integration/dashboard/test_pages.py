"""The dashboard's pages rendered by the mloop server's app on SQLite stores: an empty one
(every chart says what it would show) and one the loop has filled."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import mloop
from mloop.api import create_api
from mloop.config import load_settings
from mloop.dashboard import dashboard_router
from mloop.entities import Metric
from tests.e2e.fill import Filled, fill

PAGES = ("/", "/runs", "/registry", "/rollouts", "/monitoring", "/retraining", "/service")


def _app(root: Path) -> tuple[TestClient, mloop.Client]:
    client = mloop.Client(f"sqlite:///{root / 'mloop.db'}", artifacts_url=str(root / "blobs"))
    settings = dataclasses.replace(
        load_settings(), store_url=client.store_url, artifacts_url=client.artifacts_url
    )
    app = create_api(settings, pages=[dashboard_router(client)])
    return TestClient(app, base_url="http://127.0.0.1:5000"), client


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Filled]]:
    """The app on a store filled by ``tests.e2e.fill``."""
    http, client = _app(tmp_path_factory.mktemp("filled"))
    found = fill(client)
    with http:
        yield http, found


def test_an_empty_store_shows_every_page_with_what_would_be_there(tmp_path: Path) -> None:
    http, _ = _app(tmp_path)
    with http:
        for path in PAGES:
            answer = http.get(path)
            assert answer.status_code == 200, path
            assert "script-src 'self';" in answer.headers["content-security-policy"]
            assert "<script>" not in answer.text  # no inline script: figures are JSON blocks
        assert "Nothing registered yet" in http.get("/").text
        assert "No events yet" in http.get("/").text
        assert "No run matches" in http.get("/runs").text
        assert "No registered model yet" in http.get("/monitoring").text
        assert "No traffic yet" in http.get("/service").text


def test_runs_are_filtered_sorted_and_paged_on_the_server(
    filled: tuple[TestClient, Filled],
) -> None:
    http, found = filled
    page = http.get("/runs", params={"filter": "params.model = 'logistic_regression'"}).text
    assert found.runs["logistic_regression"] in page and found.runs["random_forest"] not in page
    ascending = http.get("/runs", params={"experiment": "churn", "order": "metrics.f1 ASC"}).text
    shown = re.findall(r'<tr data-run="([0-9a-f]+)"', ascending)
    f1 = {run_id: mloop.Client(_store_of(http)).get_run(run_id).metrics["f1"] for run_id in shown}
    assert len(shown) == 3 and [f1[r] for r in shown] == sorted(f1.values())
    beyond = http.get("/runs", params={"page": 1, "size": 25}).text
    assert 'rel="prev"' in beyond and 'rel="next"' not in beyond and "No run matches" in beyond
    bad = http.get("/runs", params={"filter": "metrics.f1 >> 1"})
    assert (
        bad.status_code == 422
        and "This filter cannot run" in bad.text
        and "filter-input" in bad.text
    )
    assert http.get("/runs", params={"size": 7}).status_code == 422


def test_compare_shows_params_side_by_side_and_down_samples_long_curves(
    filled: tuple[TestClient, Filled],
) -> None:
    http, found = filled
    forest, boosting = found.runs["random_forest"], found.runs["gradient_boosting"]
    page = http.get("/runs/compare", params={"ids": f"{forest},{boosting}"}).text
    assert 'class="differs"' in page and "Metrics logged once, side by side" in page
    client = mloop.Client(_store_of(http))
    long = [Metric("throughput", float(i % 97), i, 0.0) for i in range(5000)]
    client.log_batch(forest, metrics=long)
    page = http.get("/runs/compare", params={"ids": forest}).text
    assert "5,000 points down-sampled to" in page
    assert http.get("/runs/compare").status_code == 422


def _store_of(http: TestClient) -> str:
    return str(http.app.state.backend.settings.store_url)  # type: ignore[attr-defined]


def test_the_registry_offers_a_rollback_to_the_previous_champion(
    filled: tuple[TestClient, Filled],
) -> None:
    http, _ = filled
    page = http.get("/registry", params={"model": "churn"}).text
    assert 'data-action="rollback"' in page and "Roll back to v1" in page
    assert "Feature importance of v2" in page and "coef_" in page
    assert http.get("/registry", params={"model": "nope"}).status_code == 404
    assert 'id="evaluate-versions"' in page and 'id="figure-same-data"' not in page


def test_versions_are_scored_on_the_same_labelled_rows(filled: tuple[TestClient, Filled]) -> None:
    http, _ = filled
    page = http.get("/registry", params={"model": "churn", "evaluate": "true"}).text
    assert "Versions scored on the same 2,000 newest labelled production rows" in page
    figure = page.split('id="figure-same-data">', 1)[1].split("</script>", 1)[0]
    assert figure.count('"name": "v') == 2  # v1 and v2, side by side


def test_monitoring_marks_the_shifted_features_and_draws_their_histograms(
    filled: tuple[TestClient, Filled],
) -> None:
    http, found = filled
    page = http.get("/monitoring", params={"model": "churn", "feature": "credit_score"}).text
    drifted = set(re.findall(r'<tr class="drifted[^"]*" data-feature="([^"]+)"', page))
    assert drifted and drifted <= set(found.shifted)
    assert "Distribution of credit_score" in page and 'id="figure-histogram"' in page
    assert 'data-status="acknowledged"' in page


def test_rollouts_retraining_and_service_show_the_loop(filled: tuple[TestClient, Filled]) -> None:
    http, _ = filled
    rollouts = http.get("/rollouts", params={"model": "churn"}).text
    assert "canary, promoted" in rollouts and "Sample-ratio mismatch" in rollouts
    retraining = http.get("/retraining", params={"model": "churn"}).text
    assert "Gate report: PASSED" in retraining and "accuracy (guardrail)" in retraining
    service = http.get("/service").text
    assert "the prediction log" in service and "not recorded" in service


def test_assets_come_from_this_server(filled: tuple[TestClient, Filled]) -> None:
    http, _ = filled
    plotly = http.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and "immutable" in plotly.headers["cache-control"]
    assert http.get("/static/dashboard.js").headers["content-type"].startswith("text/javascript")
    assert http.get("/static/../app.py").status_code == 404
    assert http.get("/api/v1/").json()["service"] == "mloop"
