"""Settings of a model server; the parent process hands them to every worker as JSON.

``ServeConfig`` holds what only serving needs; the store, artifacts and token come from mloop's
one ``Settings`` object, handed over beside it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mloop.config import Settings

CONFIG_VARIABLE = "MLOOP_SERVE_CONFIG"


@dataclass(frozen=True)
class ServeConfig:
    """What to serve, where, and the limits and batching applied to requests."""

    model_uri: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 8 * 1024 * 1024
    max_rows: int = 10_000
    batching: bool = True
    batch_max_rows: int = 512
    batch_max_wait_ms: float = 0.0
    poll_seconds: float = 5.0
    log_predictions: bool = True
    log_flush_rows: int = 5_000
    log_flush_seconds: float = 2.0
    log_spool: bool = True
    arm: str = ""
    monitor_every_seconds: float = 0.0
    monitor_window: str = "10000"


def share_with_workers(config: ServeConfig, settings: Settings) -> None:
    """Put the serving configuration and the settings where worker processes read them."""
    shared = {"serve": asdict(config), "settings": asdict(settings)}
    os.environ[CONFIG_VARIABLE] = json.dumps(shared, default=str)


def from_parent() -> tuple[ServeConfig, Settings]:
    """The configuration and settings the parent process shared; RuntimeError when it did not."""
    raw = os.environ.get(CONFIG_VARIABLE)
    if not raw:
        raise RuntimeError(f"{CONFIG_VARIABLE} is not set; start the server with `mloop serve`")
    shared = json.loads(raw)
    return ServeConfig(**shared["serve"]), _settings(shared["settings"])


def _settings(raw: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()
    }
    values["home"] = Path(raw["home"])
    return Settings(**values)
