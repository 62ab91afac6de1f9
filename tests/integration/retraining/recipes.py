"""Recipes the retraining tests train with, next to the scenario's ``mloop.demo:train_churn``."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

import mloop
from mloop.demo import train_churn
from mloop.services.rollouts import make_policy


def raises(frame: pd.DataFrame, target: str, params: dict[str, Any]) -> Any:
    """A recipe whose training fails."""
    raise RuntimeError("the feature store is down")


def slow(frame: pd.DataFrame, target: str, params: dict[str, Any]) -> Any:
    """The churn recipe after ``params["sleep"]`` seconds."""
    options = dict(params)
    time.sleep(float(options.pop("sleep", 1.0)))
    return train_churn(frame, target, options)


def starts_a_rollout(frame: pd.DataFrame, target: str, params: dict[str, Any]) -> Any:
    """The churn recipe, after another client of ``params["store_url"]`` started a canary of
    churn ``params["rival"]`` (a rollout that begins while the challenger trains)."""
    options = dict(params)
    other = mloop.Client(options.pop("store_url"), artifacts_url=options.pop("artifacts_url"))
    rival = int(options.pop("rival"))
    other.rollouts.start("churn", rival, make_policy("canary"), reason="started meanwhile")
    return train_churn(frame, target, options)
