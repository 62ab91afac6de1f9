"""The fluent API: ``with mloop.start_run(...) as run`` and module-level shortcuts."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from mloop.client import Client
from mloop.config import load_settings, settings_key
from mloop.entities import (
    ArtifactRef,
    DatasetFingerprint,
    LoggedModel,
    Run,
    RunStatus,
)
from mloop.errors import InvalidInput
from mloop.services import DEFAULT_EXPERIMENT, RegistryService, runs_frame

if TYPE_CHECKING:
    import pandas as pd

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Owner = TypeVar("_Owner")
_clients: dict[tuple[str | None, ...], Client] = {}
_local = threading.local()


def default_client() -> Client:
    """The client for the store and artifact root the environment names."""
    key = settings_key()
    client = _clients.get(key)
    if client is None:
        client = Client(settings=load_settings())
        _clients[key] = client
    return client


def _stack() -> list[ActiveRun]:
    if not hasattr(_local, "runs"):
        _local.runs = []
    stack: list[ActiveRun] = _local.runs
    return stack


class ActiveRun:
    """A run being logged to; ends FINISHED, or FAILED when its block raises."""

    def __init__(self, client: Client, run_id: str) -> None:
        self.client = client
        self.id = run_id

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            status = RunStatus.FINISHED
        elif issubclass(kind, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        self.end(status)

    def end(self, status: RunStatus = RunStatus.FINISHED) -> None:
        """End the run with ``status`` and leave the active-run stack."""
        stack = _stack()
        if self in stack:
            stack.remove(self)
        self.client.tracking.end_run(self.id, status)

    def get(self) -> Run:
        """The run as stored now, with its params, metrics and tags."""
        return self.client.tracking.get_run(self.id)

    def log_param(self, key: str, value: Any) -> None:
        """Log one param."""
        self.client.tracking.log_param(self.id, key, value)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log several params in one transaction."""
        self.client.tracking.log_params(self.id, params)

    def log_metric(
        self, key: str, value: float, step: int = 0, timestamp: float | None = None
    ) -> None:
        """Log one metric point."""
        self.client.tracking.log_metric(self.id, key, value, step, timestamp)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log several metrics at one step in one transaction."""
        self.client.tracking.log_metrics(self.id, metrics, step)

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag."""
        self.client.tracking.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags."""
        self.client.tracking.set_tags(self.id, tags)

    def log_dataset(
        self, name: str, features: Any, target: Any = None, *, store: bool = False
    ) -> DatasetFingerprint:
        """Record a dataset fingerprint (sha256, schema, row count) and return it.

        With ``store`` the data is also kept as a Parquet artifact of the run, which retraining
        reads back (``client.tracking.load_dataset``). Raises InvalidInput for a bad name or
        data Parquet cannot hold, Conflict when the run logged other data under ``name``.
        """
        return self.client.tracking.log_dataset(self.id, name, features, target, store=store)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> ArtifactRef:
        """Store a local file as an artifact of this run."""
        return self.client.tracking.log_artifact(self.id, local_path, artifact_path)

    def log_model(
        self,
        model: Any,
        name: str = "model",
        *,
        input_example: pd.DataFrame | None = None,
        signature: dict[str, Any] | None = None,
        serialization: str = "skops",
    ) -> LoggedModel:
        """Store an estimator with its signature and library versions."""
        return self.client.tracking.log_model(
            self.id,
            model,
            name,
            input_example=input_example,
            signature=signature,
            serialization=serialization,
        )


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
) -> ActiveRun:
    """Start a run (use it as a context manager); nested runs need ``nested=True``."""
    stack = _stack()
    if stack and not nested:
        raise InvalidInput(
            f"run {stack[-1].id} is already active; pass nested=True to start a child run"
        )
    client = stack[-1].client if stack else default_client()
    parent = stack[-1].id if stack else None
    if experiment is None:
        experiment = _experiment_of(stack[-1]) if stack else DEFAULT_EXPERIMENT
    run = ActiveRun(
        client, client.tracking.create_run(experiment, name, parent_run_id=parent, tags=tags)
    )
    stack.append(run)
    return run


def _experiment_of(run: ActiveRun) -> str:
    experiment_id = run.get().experiment_id
    return next(e.name for e, _ in run.client.tracking.list_experiments() if e.id == experiment_id)


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


def _require_active() -> ActiveRun:
    run = active_run()
    if run is None:
        raise InvalidInput("no active run: call mloop.start_run() first")
    return run


def end_run(status: RunStatus = RunStatus.FINISHED) -> None:
    """End the innermost active run."""
    _require_active().end(status)


def log_param(key: str, value: Any) -> None:
    """Log one param on the active run."""
    _require_active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log params on the active run."""
    _require_active().log_params(params)


def log_metric(key: str, value: float, step: int = 0) -> None:
    """Log one metric point on the active run."""
    _require_active().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int = 0) -> None:
    """Log metrics on the active run."""
    _require_active().log_metrics(metrics, step)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags on the active run."""
    _require_active().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> ArtifactRef:
    """Store a file as an artifact of the active run."""
    return _require_active().log_artifact(local_path, artifact_path)


def log_dataset(
    name: str, features: Any, target: Any = None, *, store: bool = False
) -> DatasetFingerprint:
    """Record a dataset fingerprint on the active run (``ActiveRun.log_dataset``) and return it;
    ``store`` also keeps the data for retraining. Raises InvalidInput without an active run."""
    return _require_active().log_dataset(name, features, target, store=store)


def log_model(
    model: Any, name: str = "model", *, input_example: pd.DataFrame | None = None
) -> LoggedModel:
    """Store an estimator on the active run."""
    return _require_active().log_model(model, name, input_example=input_example)


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = (),
    max_results: int = 1000,
) -> pd.DataFrame:
    """Runs matching a filter such as ``metrics.f1 > 0.5``, as a DataFrame."""
    return runs_frame(
        default_client().tracking.search_runs(experiment, filter, order_by, max_results)
    )


def _on_default_client(
    method: Callable[Concatenate[_Owner, _P], _R], owner: Callable[[Client], _Owner]
) -> Callable[_P, _R]:
    """``method`` called on the default client's ``owner`` (the client or one of its services).

    The shortcut keeps the method's name, docstring and signature (without ``self``).
    """

    @functools.wraps(method)
    def shortcut(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(owner(default_client()), *args, **kwargs)

    parameters = list(inspect.signature(method).parameters.values())[1:]
    shortcut.__signature__ = inspect.signature(method).replace(  # type: ignore[attr-defined]
        parameters=parameters
    )
    return shortcut


register_model = _on_default_client(Client.register_model, lambda client: client)
set_alias = _on_default_client(RegistryService.set_alias, lambda client: client.registry)
rollback = _on_default_client(RegistryService.rollback, lambda client: client.registry)
load_model = _on_default_client(RegistryService.load_model, lambda client: client.registry)
