"""Prometheus metrics and structured access logs of a model server."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
access_log = logging.getLogger("mloop.access")


class ServerMetrics:
    """The counters and histograms one server exposes on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        model = ["model", "version"]
        self.requests = Counter(
            "mloop_requests",
            "Answered requests",
            ["protocol", "status", *model],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mloop_request_latency_seconds",
            "Time from request to answer",
            ["protocol", *model],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter("mloop_predicted_rows", "Rows predicted", model, registry=self.registry)
        self.batch_rows = Histogram(
            "mloop_batch_rows", "Rows per model call", buckets=BATCH_BUCKETS, registry=self.registry
        )
        self.logged_rows = Counter(
            "mloop_logged_rows", "Rows written to the prediction log", model, registry=self.registry
        )
        self.log_dropped_rows = Counter(
            "mloop_log_dropped_rows",
            "Answered rows the prediction log could not keep: a full buffer, a chunk the store "
            "refused, a prediction id logged before",
            model,
            registry=self.registry,
        )
        self.shadow_dropped_rows = Counter(
            "mloop_shadow_dropped_rows",
            "Rows a shadow model did not score because its queue was full",
            model,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "mloop_model_loaded",
            "1 for the model version being served",
            model,
            registry=self.registry,
            multiprocess_mode="max",
        )

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format (all workers when multiprocess mode is on)."""
        if os.environ.get(MULTIPROCESS_VARIABLE):
            from prometheus_client import multiprocess

            combined = CollectorRegistry()
            multiprocess.MultiProcessCollector(combined)
            return generate_latest(combined), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def log_access(**fields: Any) -> None:
    """Write one structured (JSON) access line."""
    if access_log.isEnabledFor(logging.INFO):
        fields["ts"] = round(time.time(), 6)
        access_log.info(orjson.dumps(fields).decode())
