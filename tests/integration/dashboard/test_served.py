"""``mloop server --serve``: the dashboard sits beside the in-process model server and its
service page reads that server's own Prometheus metrics."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import httpx
import pandas as pd
import pytest
import uvicorn
from sklearn.dummy import DummyClassifier

import mloop
from mloop.config import load_settings
from mloop.runtime import TeamServer, team_server_app
from tests.team_server import _wait_until_listening, free_port


@pytest.fixture
def served(tmp_path: object) -> Iterator[str]:
    """A team server on 127.0.0.1 serving ``constant``'s champion (v1) in-process."""
    client = mloop.Client(f"sqlite:///{tmp_path}/mloop.db", artifacts_url=f"{tmp_path}/blobs")
    features = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = DummyClassifier(strategy="most_frequent").fit(features, [0, 1, 1, 1])
    run_id = client.create_run("constant", "dummy")
    client.log_model(run_id, model, input_example=features)
    client.register_model(run_id, "constant")
    client.set_alias("constant", "champion", 1)
    settings = dataclasses.replace(load_settings(), store_url=client.store_url,
                                   artifacts_url=client.artifacts_url)  # fmt: skip
    port = free_port()
    app = team_server_app(TeamServer(port=port, serve="constant"), settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    _wait_until_listening(f"{url}/ping")
    yield url
    server.should_exit = True
    thread.join(timeout=30)


def test_the_service_page_reads_the_model_servers_metrics(served: str) -> None:
    for value in (0.0, 1.0, 2.0):
        assert httpx.post(f"{served}/predict", json={"x": value}).status_code == 200
    assert httpx.post(f"{served}/predict", json={"y": 1.0}).status_code == 422
    page = httpx.get(f"{served}/service").text
    assert "the model servers&#39; Prometheus metrics" in page
    row = page.split("<td>constant</td><td>v1</td>", 1)[1].split("</tr>", 1)[0]
    cells = [c.split(">", 1)[1] for c in row.split("</td>")[:-1]]
    assert cells[0] == "4" and cells[1] == "0"  # all answers; errors are 5xx, a 422 is not
    assert httpx.get(f"{served}/").status_code == 200
    assert httpx.get(f"{served}/api/v1/models").json()[0]["name"] == "constant"
