"""Model serving: protocols, validation, micro-batching, the prediction log and metrics."""

from mloop.serving.app import create_app
from mloop.serving.config import ServeConfig
from mloop.serving.server import run_server

__all__ = ["ServeConfig", "create_app", "run_server"]
