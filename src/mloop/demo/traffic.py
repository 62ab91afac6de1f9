"""Production traffic over HTTP: customers scored by the model server, labels sent later."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mloop.client import Client
from mloop.errors import MloopError, StoreUnavailable
from mloop.scenario import TARGET
from mloop.serving_client import ServingClient

BATCH_ROWS = 50
THREADS = 4


@dataclass
class Sent:
    """What a stretch of traffic got: prediction ids with their true labels, answers per
    model version, and how many requests failed."""

    labels: dict[str, int] = field(default_factory=dict)
    answers: Counter[int] = field(default_factory=Counter)
    failed: int = 0

    def add(self, other: Sent) -> None:
        """Fold another stretch into this one."""
        self.labels.update(other.labels)
        self.answers.update(other.answers)
        self.failed += other.failed


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.drop(columns=[TARGET]).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in rows]


def send_batches(
    serving: ServingClient,
    customers: pd.DataFrame,
    first_id: int,
    advance: Callable[[int], None] = lambda _: None,
) -> Sent:
    """Score ``customers`` in requests of ``BATCH_ROWS`` rows with customer ids
    ``customer-<first_id + row>``; ``advance(rows)`` after each request."""
    sent = Sent()
    for start in range(0, len(customers), BATCH_ROWS):
        part = customers.iloc[start : start + BATCH_ROWS]
        units = [f"customer-{first_id + start + i}" for i in range(len(part))]
        answer = serving.predict(_records(part), unit_ids=units)
        sent.labels.update(zip(answer["prediction_ids"], part[TARGET].tolist(), strict=True))
        sent.answers[int(answer["version"])] += len(part)
        advance(len(part))
    return sent


def send_one_by_one(serving: ServingClient, customers: pd.DataFrame, first_id: int) -> Sent:
    """One request per customer, ``x-unit-id: customer-<id>``, so a rollout splits customers
    by its assignment; ``THREADS`` callers at a time."""
    records = _records(customers)
    truth = customers[TARGET].tolist()

    def one(index: int) -> tuple[str, int, int] | None:
        unit = f"customer-{first_id + index}"
        try:
            answer = serving.predict(records[index], unit_ids=[unit])
        except MloopError:
            return None
        return answer["prediction_ids"][0], int(answer["version"]), truth[index]

    sent = Sent()
    with ThreadPoolExecutor(THREADS) as pool:
        for result in pool.map(one, range(len(records))):
            if result is None:
                sent.failed += 1
                continue
            prediction_id, version, label = result
            sent.labels[prediction_id] = label
            sent.answers[version] += 1
    return sent


def deliver_labels(client: Client, serving: ServingClient, labels: dict[str, int]) -> None:
    """Wait until the server has logged these predictions (it flushes every few seconds), then
    send their ground truth to its ``/feedback``, as late labels arrive in production.

    Raises StoreUnavailable when the predictions are not logged within 60 seconds."""
    ids = list(labels)
    deadline = time.monotonic() + 60
    missing = set(ids)
    while missing:
        missing -= client.prediction_log.logged_ids(list(missing))
        if missing and time.monotonic() > deadline:
            raise StoreUnavailable(f"{len(missing)} predictions were not logged within 60 s")
        if missing:
            time.sleep(0.25)
    for start in range(0, len(ids), 1000):
        serving.feedback({pid: labels[pid] for pid in ids[start : start + 1000]})
