"""Settings of a model server, passed to every worker process as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

CONFIG_VARIABLE = "MLOOP_SERVE_CONFIG"


@dataclass(frozen=True)
class ServeConfig:
    """What to serve, where, and the limits and batching applied to requests."""

    model_uri: str
    store_url: str | None = None
    artifacts_url: str | None = None
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

    def to_env(self) -> None:
        """Put this configuration where worker processes read it."""
        os.environ[CONFIG_VARIABLE] = json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeConfig:
        """Read the configuration the parent process put in the environment."""
        raw = os.environ.get(CONFIG_VARIABLE)
        if not raw:
            raise RuntimeError(f"{CONFIG_VARIABLE} is not set; start the server with `mloop serve`")
        return cls(**json.loads(raw))
