"""The prediction log's layout, owned here: its columns and the windows read over it.

Every logged row has ``prediction_id``, ``ts`` (epoch seconds), ``unit_id``, ``latency_ms``,
the model inputs as ``feature.<name>``, the outputs (``prediction`` and, for a classifier,
``proba.<class>`` per class), and, once read with feedback, ``label``. ``version`` and ``arm``
come from the chunk a row was written in. Serving writes this layout; monitoring, retraining
and rollouts read it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mloop.errors import InvalidInput
from mloop.modelio.outputs import Outputs

PREDICTION_ID = "prediction_id"
TS = "ts"
UNIT_ID = "unit_id"
LATENCY_MS = "latency_ms"
PREDICTION = "prediction"
LABEL = "label"
VERSION = "version"
ARM = "arm"
FEATURE_PREFIX = "feature."
PROBA_PREFIX = "proba."
REQUIRED_COLUMNS = (PREDICTION_ID, TS)
LOG_COLUMNS = (PREDICTION_ID, TS, UNIT_ID, LATENCY_MS, PREDICTION, VERSION, ARM)
EMPTY_DTYPES = {TS: "float64", LATENCY_MS: "float64", VERSION: "int64"}
MAX_ID_LENGTH = 64
_PERIOD = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def check_prediction_id(prediction_id: Any) -> str:
    """``prediction_id`` if it is a string of 1 to 64 characters; InvalidInput otherwise."""
    if not isinstance(prediction_id, str) or not 0 < len(prediction_id) <= MAX_ID_LENGTH:
        raise InvalidInput(
            f"prediction id {prediction_id!r} must be a string of 1 to {MAX_ID_LENGTH} characters",
            field=PREDICTION_ID,
        )
    return prediction_id


def output_columns(outputs: Outputs) -> dict[str, np.ndarray]:
    """A model's outputs as log columns: ``prediction``, then ``proba.<class>`` per class."""
    columns: dict[str, np.ndarray] = {PREDICTION: outputs.predictions}
    if outputs.probabilities is not None and outputs.classes is not None:
        for index, label in enumerate(outputs.classes):
            columns[f"{PROBA_PREFIX}{label}"] = outputs.probabilities[:, index]
    return columns


def feature_columns(features: pd.DataFrame) -> pd.DataFrame:
    """Model inputs under their log names (``feature.<name>``)."""
    return features.add_prefix(FEATURE_PREFIX)


def is_model_column(name: str) -> bool:
    """Whether a log column is one the model saw or answered: an input, ``ts`` or an output."""
    return name.startswith((FEATURE_PREFIX, PROBA_PREFIX)) or name in {TS, PREDICTION}


def model_columns(log: pd.DataFrame) -> pd.DataFrame:
    """A log frame as the model saw it: inputs under their own names, then outputs and labels.

    Returns the rows of ``log`` with the feature columns renamed and ``ts``, ``prediction``,
    ``proba.*`` and ``label`` kept; other log columns are dropped.
    """
    renamed = {
        c: c.removeprefix(FEATURE_PREFIX) for c in log.columns if c.startswith(FEATURE_PREFIX)
    }
    outputs = [c for c in log.columns if c in {TS, PREDICTION, LABEL} or c.startswith(PROBA_PREFIX)]
    return log[[*renamed, *outputs]].rename(columns=renamed)


@dataclass(frozen=True)
class Window:
    """Which rows of the log to look at: the newest ``last_n``, or those in [start, end).

    ``start`` and ``end`` are epoch seconds; None leaves that side open.
    """

    last_n: int | None = None
    start: float | None = None
    end: float | None = None

    def describe(self) -> str:
        """The window in words, for reports."""
        if self.last_n is not None:
            return f"last {self.last_n} predictions"
        start = "the beginning" if self.start is None else _date(self.start)
        return f"{start} to {'now' if self.end is None else _date(self.end)}"


def _date(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_window(text: str, now: float | None = None) -> Window:
    """``10000`` is the newest 10,000 rows; ``30m``, ``6h``, ``7d`` the rows of that period.

    Raises InvalidInput for anything else.
    """
    text = text.strip().lower()
    if text.isdigit() and int(text) > 0:
        return Window(last_n=int(text))
    match = _PERIOD.match(text)
    if match is None:
        raise InvalidInput(
            f"window {text!r}: give a row count (10000) or a period (30m, 6h, 7d)", field="window"
        )
    seconds = float(match[1]) * _SECONDS[match[2]]
    return Window(start=(now or time.time()) - seconds)


SHADOW_MARK = "~shadow"


def shadow_id(prediction_id: str) -> str:
    """The id a shadow arm logs its answer to ``prediction_id`` under (ids stay unique)."""
    return f"{prediction_id}{SHADOW_MARK}"


def shadow_sources(prediction_ids: pd.Series) -> pd.Series:
    """The predictions the shadow rows among ``prediction_ids`` answered (their labels are
    those predictions'), under the same index; ids of other rows are left out."""
    marked = prediction_ids.str.endswith(SHADOW_MARK, na=False)
    return prediction_ids[marked].str.slice(stop=-len(SHADOW_MARK))
