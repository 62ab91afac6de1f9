"""Recipes the retraining tests train with, next to the scenario's ``mloop.demo:train_churn``."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from mloop.demo import train_churn


def raises(frame: pd.DataFrame, target: str, params: dict[str, Any]) -> Any:
    """A recipe whose training fails."""
    raise RuntimeError("the feature store is down")


def slow(frame: pd.DataFrame, target: str, params: dict[str, Any]) -> Any:
    """The churn recipe after ``params["sleep"]`` seconds."""
    options = dict(params)
    time.sleep(float(options.pop("sleep", 1.0)))
    return train_churn(frame, target, options)
