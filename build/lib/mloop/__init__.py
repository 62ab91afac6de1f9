"""mloop: track, register, serve and monitor tabular models from one package.

Heavy libraries load on first use, so ``import mloop`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Client": "mloop.client",
    "ServingClient": "mloop.serving_client",
    "ActiveRun": "mloop.fluent",
    "active_run": "mloop.fluent",
    "start_run": "mloop.fluent",
    "end_run": "mloop.fluent",
    "log_param": "mloop.fluent",
    "log_params": "mloop.fluent",
    "log_metric": "mloop.fluent",
    "log_metrics": "mloop.fluent",
    "set_tags": "mloop.fluent",
    "log_artifact": "mloop.fluent",
    "log_dataset": "mloop.fluent",
    "log_model": "mloop.fluent",
    "search_runs": "mloop.fluent",
    "register_model": "mloop.fluent",
    "set_alias": "mloop.fluent",
    "rollback": "mloop.fluent",
    "load_model": "mloop.fluent",
    "infer_signature": "mloop.modelio",
}

if TYPE_CHECKING:
    from mloop.client import Client
    from mloop.fluent import (
        ActiveRun,
        active_run,
        end_run,
        load_model,
        log_artifact,
        log_dataset,
        log_metric,
        log_metrics,
        log_model,
        log_param,
        log_params,
        register_model,
        rollback,
        search_runs,
        set_alias,
        set_tags,
        start_run,
    )
    from mloop.modelio import infer_signature
    from mloop.serving_client import ServingClient


_SUBMODULES = {"monitoring", "profiles", "stats", "errors", "entities"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"mloop.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mloop' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_SUBMODULES])


__all__ = [
    "ActiveRun",
    "Client",
    "ServingClient",
    "__version__",
    "active_run",
    "end_run",
    "infer_signature",
    "load_model",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "rollback",
    "search_runs",
    "set_alias",
    "set_tags",
    "start_run",
]
