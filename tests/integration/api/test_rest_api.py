"""The REST API itself: paging, down-sampled histories, idempotent batches, errors, its docs."""

from __future__ import annotations

import threading

import httpx
import pytest

import mloop
from mloop.entities import Metric
from mloop.errors import InvalidInput
from mloop.store import open_store
from tests.integration.api.conftest import Mounted
from tests.team_server import SessionServer


def _run(api: httpx.Client, name: str = "r") -> str:
    experiment = api.post("/experiments", json={"name": "e"}).json()["id"]
    created = api.post("/runs", json={"experiment_id": experiment, "name": name, "user": "u"})
    return str(created.json()["id"])


def _points(start: int, count: int, value: float = 0.5) -> list[dict[str, float]]:
    return [
        {"key": "loss", "value": value, "step": s, "timestamp": 1.0}
        for s in range(start, start + count)
    ]


def test_search_pages_on_the_server_in_order(api: httpx.Client, mount: Mounted) -> None:
    client = mloop.Client(mount())
    for score in range(7):
        client.log_metric(client.create_run("paged", f"s{score}"), "f1", score / 10)
    experiment = client.get_or_create_experiment("paged").id
    body = {"experiment_ids": [experiment], "order_by": ["metrics.f1 DESC"], "max_results": 3}
    names, token = [], None
    while True:
        page = api.post("/runs/search", json={**body, "page_token": token}).json()
        names += [run["name"] for run in page["runs"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert names == [f"s{score}" for score in range(6, -1, -1)]


def test_long_histories_are_down_sampled_keeping_extremes(api: httpx.Client) -> None:
    run_id = _run(api)
    points = _points(0, 5000)
    points[1234]["value"], points[4321]["value"] = 9.0, -9.0
    assert api.post(f"/runs/{run_id}/batch", json={"metrics": points}).status_code == 200
    history = api.get(f"/runs/{run_id}/metric-history", params={"key": "loss", "max_points": 100})
    found = history.json()
    steps = [p["step"] for p in found["points"]]
    assert found["total"] == 5000 and found["sampled"] is True
    assert len(steps) <= 100 and steps == sorted(steps)
    assert {0, 1234, 4321, 4999} <= set(steps)
    every = api.get(f"/runs/{run_id}/metric-history", params={"key": "loss", "max_points": 0})
    assert len(every.json()["points"]) == 5000


def test_a_retried_batch_writes_once(api: httpx.Client) -> None:
    run_id = _run(api)
    body = {"metrics": _points(0, 3), "idempotency_key": "batch-1"}
    assert api.post(f"/runs/{run_id}/batch", json=body).json() == {"written": True}
    assert api.post(f"/runs/{run_id}/batch", json=body).json() == {"written": False}
    header = {"idempotency-key": "batch-1"}
    again = api.post(f"/runs/{run_id}/batch", json={"metrics": _points(0, 3)}, headers=header)
    assert again.json() == {"written": False}
    history = api.get(f"/runs/{run_id}/metric-history", params={"key": "loss"}).json()
    assert history["total"] == 3


CLIENTS, POINTS, BATCH = 8, 2000, 100


def test_eight_clients_retrying_every_batch_lose_and_double_nothing(api: httpx.Client) -> None:
    run_id = _run(api)
    failures: list[BaseException] = []

    def client(number: int) -> None:
        with httpx.Client(base_url=api.base_url, timeout=60) as http:
            for start in range(0, POINTS, BATCH):
                key = f"c{number}-{start}"
                body = {"metrics": _points(number * POINTS + start, BATCH), "idempotency_key": key}
                for _ in range(2):
                    http.post(f"/runs/{run_id}/batch", json=body).raise_for_status()

    def guarded(number: int) -> None:
        try:
            client(number)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    history = api.get(f"/runs/{run_id}/metric-history", params={"key": "loss", "max_points": 0})
    steps = [p["step"] for p in history.json()["points"]]
    assert sorted(steps) == list(range(CLIENTS * POINTS))


def test_errors_use_the_error_body(api: httpx.Client) -> None:
    missing = api.get("/runs/0123456789abcdef0123456789abcdef")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert api.get("/no/such/path").json()["code"] == "not_found"
    bad_json = api.post("/experiments", content=b"{", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "malformed"
    wrong_shape = api.post("/runs", json={"experiment_id": "x"})
    assert wrong_shape.status_code == 422 and wrong_shape.json()["field"] == "experiment_id"
    assert missing.headers["x-request-id"]


def test_bad_batches_and_alias_moves_are_refused_and_write_nothing(api: httpx.Client) -> None:
    run_id = _run(api)
    long_key = [{"key": "k" * 300, "value": 1.0, "step": 0, "timestamp": 1.0}]
    bad = api.post(f"/runs/{run_id}/batch", json={"metrics": long_key, "params": {"a": "1"}})
    assert bad.status_code == 422
    assert api.get(f"/runs/{run_id}").json()["params"] == {}
    move = {"name": "churn", "alias": "9lives", "version": None, "action": "delete"}
    answer = api.post("/alias-moves", json={**move, "reason": "", "user": "u"})
    assert answer.status_code == 422 and answer.json()["field"] == "alias"
    anonymous = {**move, "alias": "champion", "reason": "why", "user": " "}
    answer = api.post("/alias-moves", json=anonymous)
    assert answer.status_code == 422 and answer.json()["field"] == "user"


def test_the_api_describes_itself_without_a_cdn(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    assert "/api/v1/runs/search" in document["paths"]
    page = api.get("/docs")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text  # every asset comes from this server
    assert api.get("/docs/swagger-ui-bundle.js").status_code == 200
    assert api.get("/docs/index.html").status_code == 404  # only the assets the page needs


def test_the_docs_page_runs_swagger_ui_from_the_server(mount: Mounted) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    url = mount()
    requested: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            view = browser.new_page()
            view.on("request", lambda request: requested.append(request.url))
            errors: list[str] = []
            view.on("pageerror", lambda error: errors.append(str(error)))
            view.goto(f"{url}/api/v1/docs")
            view.wait_for_selector(".opblock-summary-path", timeout=20_000)
            paths = view.locator(".opblock-summary-path").all_inner_texts()
        finally:
            browser.close()
    assert not errors
    assert any("/runs/search" in path for path in paths)
    scripts = [u for u in requested if u.endswith(".js")]
    assert scripts and all(u.startswith(f"{url}/api/v1/docs/") for u in scripts)
    assert all(u.startswith(url) for u in requested)


def test_a_model_server_url_is_named_as_such(team_server: SessionServer) -> None:
    with pytest.raises(InvalidInput, match=r"mloop\.ServingClient\("):
        open_store(f"{team_server.url}/t/not-an-mloop-server")


def test_the_store_and_the_api_agree_on_metric_points(mount: Mounted) -> None:
    store = open_store(mount())
    run_id = mloop.Client(store.url).create_run("agree")
    mloop.Client(store.url).log_batch(run_id, metrics=[Metric("m", 1.5, 3, 2.0)])
    assert store.runs.get_metric_history(run_id, "m") == [Metric("m", 1.5, 3, 2.0)]
