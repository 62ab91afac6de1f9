"""Versions evaluated on the same data: every recent version of a model scores the newest
labelled production rows, each metric with its 95% interval
(``mloop.retraining.evaluate_versions``). Computed when a person asks, then kept until newer
labelled rows or versions arrive."""

from __future__ import annotations

import threading
from typing import Any

from mloop.client import Client
from mloop.dashboard.charts import Chart, layout
from mloop.errors import MloopError
from mloop.prediction_log import LABEL, PREDICTION, PROBA_PREFIX, TS, model_columns
from mloop.retraining.evaluate import evaluate_versions

ROWS = 2000
VERSIONS = 6
SHOWN_METRICS = ("accuracy", "f1", "precision", "recall", "roc_auc")


def _labelled(client: Client, name: str) -> Any:
    log = client.prediction_log.read(name, last_n=ROWS * 3, with_feedback=True)
    rows = model_columns(log)
    rows = rows[rows[LABEL].notna()].tail(ROWS)
    outputs = [
        c for c in rows.columns if c in {TS, PREDICTION, LABEL} or c.startswith(PROBA_PREFIX)
    ]
    return rows.drop(columns=outputs), rows[LABEL]


def _chart(rows: list[dict[str, Any]], n: int) -> Chart:
    versions = sorted({r["version"] for r in rows})
    data = []
    for version in versions:
        mine = [r for r in rows if r["version"] == version and r["metric"] in SHOWN_METRICS]
        data.append(
            {
                "type": "bar",
                "name": f"v{version}",
                "x": [r["metric"] for r in mine],
                "y": [r["value"] for r in mine],
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [r["ci_high"] - r["value"] for r in mine],
                    "arrayminus": [r["value"] - r["ci_low"] for r in mine],
                },
            }
        )
    figure = {"data": data, "layout": layout("value", barmode="group")} if data else None
    return Chart(
        "same-data",
        f"Versions scored on the same {n:,} newest labelled production rows (95% intervals)",
        "No labelled production rows yet: send feedback labels, then evaluate.",
        figure,
    )


class SameDataEvaluations:
    """Evaluations per model, kept while its versions and labelled rows are unchanged."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, tuple[int, ...], int], Chart] = {}
        self._lock = threading.Lock()

    def chart(self, client: Client, name: str) -> Chart:
        """The chart of ``name``'s newest versions on its newest labelled rows (see module)."""
        versions = tuple(v.version for v in client.registry.list_model_versions(name)[:VERSIONS])
        features, labels = _labelled(client, name)
        key = (name, versions, len(labels))
        with self._lock:
            found = self._found.get(key)
        if found is not None:
            return found
        if len(labels) == 0:
            return _chart([], 0)
        try:
            rows = evaluate_versions(client, name, sorted(versions), features, labels)
            found = _chart(rows, len(labels))
        except (MloopError, ValueError, KeyError) as exc:
            found = Chart(
                "same-data", "Versions scored on the same data", f"Could not score: {exc}"
            )
        with self._lock:
            self._found[key] = found
        return found
