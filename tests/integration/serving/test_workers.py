"""`mloop serve --workers 2`: several processes answer, /metrics adds them up, and every worker
writes its access lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ChurnModels, free_port


def test_two_workers_answer_and_share_metrics(churn_models: ChurnModels) -> None:
    client = churn_models.client
    port = free_port()
    env = {
        **os.environ,
        "MLOOP_STORE_URL": client.store_url,
        "MLOOP_ARTIFACTS_URL": client.artifacts_url,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-c", "from mloop.cli import main; main()", "serve", "models:/churn/1",
         "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    record = json.loads(churn_models.features.head(1).to_json(orient="records"))[0]
    try:
        deadline = time.monotonic() + 60
        ready = 0
        while time.monotonic() < deadline and ready < 5:
            try:
                ready = (
                    ready + 1
                    if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200
                    else 0
                )
            except httpx.HTTPError:
                time.sleep(0.2)
        statuses = []
        for _ in range(40):
            with httpx.Client(base_url=url, timeout=10) as http:
                statuses.append(http.post("/predict", json=record).status_code)
                statuses.append(http.post("/feedback", json={"labels": {"x": 1}}).status_code)
        assert statuses == [200] * 80
        text = httpx.get(f"{url}/metrics", timeout=10).text
        total = sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "mloop_requests_total"
            and sample.labels.get("status") == "200"
            and sample.labels.get("protocol") == "plain"
        )
        assert total == 40
        assert _count(text, "feedback") == 40
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    paths = [line["path"] for line in lines if line.get("status") == 200]
    assert paths.count("/predict") == 40 and paths.count("/feedback") == 40


def _count(metrics: str, protocol: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "mloop_requests_total" and sample.labels.get("protocol") == protocol
    )
