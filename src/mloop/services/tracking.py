"""The tracking service: experiments, runs, params, metrics, tags, datasets, artifacts, models."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop import modelio
from mloop.artifacts import ArtifactStore, safe_name
from mloop.codeversion import git_commit
from mloop.config import Settings
from mloop.entities import (
    ArtifactRef,
    DatasetFingerprint,
    Experiment,
    LoggedModel,
    Metric,
    NewRun,
    Run,
    RunBatch,
    RunQuery,
    RunStatus,
)
from mloop.errors import IntegrityError, InvalidInput, NotFound
from mloop.fingerprint import fingerprint_dataset
from mloop.modelio.files import check_loadable
from mloop.services.datasets import dataset_parquet, dataset_path, read_dataset_parquet
from mloop.services.integers import integer
from mloop.store import RunStore

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_EXPERIMENT = "Default"
MAX_PARAM_LENGTH = 8000


def _key(kind: str, key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > 250 or not key.isprintable():
        raise InvalidInput(f"{kind} key {key!r} must be a printable string of 1 to 250 characters")
    return key


def _param_value(key: str, value: Any) -> str:
    text = str(value)
    if len(text) > MAX_PARAM_LENGTH:
        raise InvalidInput(f"param {key!r} is longer than {MAX_PARAM_LENGTH} characters")
    return text


def _metric(key: Any, value: Any, step: int, timestamp: float | None) -> Metric:
    key = _key("metric", key)
    if isinstance(value, bool) or (
        not isinstance(value, int | float) and not hasattr(value, "__float__")
    ):
        raise InvalidInput(f"metric {key!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"metric {key!r} must be a finite number, got {number}")
    whole = integer(f"step of metric {key!r}", step)
    return Metric(key, number, whole, time.time() if timestamp is None else float(timestamp))


_SHOWN_MATCHES = 10


class TrackingService:
    """Tracking operations over a run store and an artifact store, without fluent state."""

    def __init__(self, runs: RunStore, artifacts: ArtifactStore, settings: Settings) -> None:
        self._runs = runs
        self._artifacts = artifacts
        self._settings = settings
        self._experiment_ids: dict[str, int] = {}

    def get_or_create_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name``, creating it on first use."""
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise InvalidInput(f"experiment name {name!r} must be 1 to 256 characters")
        return self._runs.get_or_create_experiment(name)

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        """Every experiment with its number of runs."""
        return self._runs.list_experiments()

    def create_run(
        self,
        experiment: str | Experiment = DEFAULT_EXPERIMENT,
        name: str | None = None,
        *,
        parent_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a RUNNING run in ``experiment`` (a name, or an ``Experiment`` as
        ``get_or_create_experiment`` returns) and return its id.

        Raises InvalidInput for a bad experiment name or tag.
        """
        if isinstance(experiment, Experiment):
            experiment = experiment.name
        experiment_id = self._experiment_ids.get(experiment)
        if experiment_id is None:
            experiment_id = self.get_or_create_experiment(experiment).id
            self._experiment_ids[experiment] = experiment_id
        clean_tags = {_key("tag", k): str(v) for k, v in (tags or {}).items()}
        source = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
        if source:
            clean_tags.setdefault("mloop.source", source)
        run = NewRun(
            experiment_id,
            name or f"run-{time.strftime('%Y%m%d-%H%M%S')}",
            self._settings.user,
            parent_run_id,
            git_commit(),
            clean_tags,
        )
        return self._runs.create_run(run)

    def end_run(self, run_id: str, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """Mark a run FINISHED (default), FAILED or KILLED."""
        try:
            final = RunStatus(status)
        except ValueError as exc:
            raise InvalidInput(
                f"run status {status!r} is not one of {[s.value for s in RunStatus]}"
            ) from exc
        self._runs.end_run(run_id, final)

    def get_run(self, run_id: str) -> Run:
        """A run with its params, latest metrics and tags; ``run_id`` may be a unique prefix.

        Raises NotFound when no run id starts with ``run_id``, InvalidInput when several do
        (naming them).
        """
        return self._runs.get_run(self.resolve_run_id(run_id))

    def resolve_run_id(self, prefix: str) -> str:
        """The one run id that starts with ``prefix`` (a whole id is its own prefix).

        Raises NotFound when no run id starts with it, InvalidInput when several do: the
        message lists up to ten of them.
        """
        if not isinstance(prefix, str) or not prefix:
            raise InvalidInput(f"run id {prefix!r} must be a non-empty string", field="run_id")
        found = self._runs.run_ids_starting_with(prefix, _SHOWN_MATCHES + 1)
        if not found:
            raise NotFound(f"run {prefix!r} does not exist")
        if len(found) > 1 and prefix not in found:
            more = ", ..." if len(found) > _SHOWN_MATCHES else ""
            shown = ", ".join(found[:_SHOWN_MATCHES])
            raise InvalidInput(
                f"run id prefix {prefix!r} is ambiguous: it starts {shown}{more}", field="run_id"
            )
        return prefix if prefix in found else found[0]

    def log_batch(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Sequence[Metric] | Mapping[str, float] | None = None,
        tags: Mapping[str, Any] | None = None,
        step: int = 0,
        idempotency_key: str | None = None,
    ) -> bool:
        """Log params, metrics and tags in one transaction: all are stored or none.

        With ``idempotency_key``, a batch whose key the store already holds writes nothing.
        Returns True when the batch was written.
        """
        clean_params = {_key("param", k): _param_value(k, v) for k, v in (params or {}).items()}
        if isinstance(metrics, Mapping):
            now = time.time()
            points = [_metric(k, v, step, now) for k, v in metrics.items()]
        else:
            points = [_metric(m.key, m.value, m.step, m.timestamp) for m in metrics or ()]
        clean_tags = {_key("tag", k): str(v) for k, v in (tags or {}).items()}
        batch = RunBatch(clean_params, points, clean_tags)
        if idempotency_key is not None:
            return self._runs.log_batch_once(run_id, batch, idempotency_key)
        self._runs.log_batch(run_id, batch)
        return True

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        """Log one param; a different value for a logged key is a conflict."""
        self.log_batch(run_id, params={key: value})

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log several params in one transaction."""
        self.log_batch(run_id, params=params)

    def log_metric(
        self, run_id: str, key: str, value: float, step: int = 0, timestamp: float | None = None
    ) -> None:
        """Log one point of a metric's history."""
        self._runs.log_batch(run_id, RunBatch(metrics=[_metric(key, value, step, timestamp)]))

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log several metrics at one step in one transaction."""
        self.log_batch(run_id, metrics=metrics, step=step)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set (or overwrite) tags of a run."""
        self.log_batch(run_id, tags=tags)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point logged for one metric of a run."""
        return self._runs.get_metric_history(run_id, key)

    def sample_metric_history(
        self, run_id: str, key: str, max_points: int = 1000
    ) -> tuple[list[Metric], int]:
        """At most about ``max_points`` points of a metric's history in step order, keeping each
        stretch's lowest and highest value, and how many points it has in all.

        Raises NotFound for an unknown run and InvalidInput for ``max_points`` below 2.
        """
        count = integer("max_points", max_points, minimum=2)
        return self._runs.sample_metric_history(run_id, key, count)

    def log_dataset(
        self, run_id: str, name: str, features: Any, target: Any = None, *, store: bool = False
    ) -> DatasetFingerprint:
        """Record a dataset's fingerprint (sha256, schema, row count) on a run.

        With ``store`` the data is also kept as a content-addressed Parquet artifact
        (``datasets/<name>.parquet``), so ``load_dataset`` rebuilds it exactly. Returns the
        fingerprint; raises InvalidInput for a bad name or data Parquet cannot hold.
        """
        fingerprint = fingerprint_dataset(_key("dataset", name), features, target)
        if store:
            self.log_bytes(run_id, dataset_parquet(name, features, target), dataset_path(name))
        self._runs.log_dataset(run_id, fingerprint)
        return fingerprint

    def load_dataset(self, run_id: str, name: str) -> tuple[pd.DataFrame, Any]:
        """The features and target (None without one) of a dataset a run logged with ``store``.

        Raises NotFound when the run did not store it, IntegrityError when the stored data
        no longer matches its fingerprint.
        """
        logged = {d.name: d for d in self._runs.list_datasets(run_id)}
        refs = {ref.path: ref for ref in self._runs.list_artifacts(run_id)}
        ref = refs.get(dataset_path(name))
        if name not in logged or ref is None:
            raise NotFound(f"run {run_id} stored no dataset {name!r}", field="dataset")
        features, target = read_dataset_parquet(self._artifacts.get_bytes(ref.digest))
        if fingerprint_dataset(name, features, target).digest != logged[name].digest:
            raise IntegrityError(f"dataset {name!r} of run {run_id} no longer matches its digest")
        return features, target

    def list_datasets(self, run_id: str) -> list[DatasetFingerprint]:
        """The fingerprints of the datasets a run logged, in logging order."""
        return self._runs.list_datasets(run_id)

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> ArtifactRef:
        """Store a local file as a named artifact of a run."""
        source = Path(local_path)
        folder = safe_name(artifact_path.rstrip("/") or artifact_path) if artifact_path else ""
        name = safe_name(f"{folder}/{source.name}" if folder else source.name)
        digest, size = self._artifacts.put_file(source)
        ref = ArtifactRef(name, digest, size)
        self._runs.record_artifact(run_id, ref)
        return ref

    def log_bytes(self, run_id: str, data: bytes, name: str) -> ArtifactRef:
        """Store bytes as a named artifact of a run."""
        path = safe_name(name)
        ref = ArtifactRef(path, self._artifacts.put_bytes(data), len(data))
        self._runs.record_artifact(run_id, ref)
        return ref

    def list_artifacts(self, run_id: str) -> list[ArtifactRef]:
        """The named artifacts of a run."""
        return self._runs.list_artifacts(run_id)

    def download_artifact(self, run_id: str, name: str, destination: str | Path) -> Path:
        """Copy a verified artifact of a run into ``destination``; return the written path."""
        wanted = safe_name(name)
        for ref in self.list_artifacts(run_id):
            if ref.path == wanted:
                return self._artifacts.download(ref.digest, Path(destination), ref.path)
        raise InvalidInput(f"run {run_id} has no artifact {name!r}")

    def get_logged_model(self, run_id: str, name: str = "model") -> LoggedModel:
        """The model a run logged under ``name``: digest, format, signature, environment.

        Raises NotFound when the run logged no model of that name.
        """
        return self._runs.get_logged_model(run_id, name)

    def log_model(
        self,
        run_id: str,
        model: Any,
        name: str = "model",
        *,
        input_example: pd.DataFrame | None = None,
        signature: dict[str, Any] | None = None,
        serialization: str = modelio.SKOPS,
    ) -> LoggedModel:
        """Store an estimator (skops by default) with its signature and library versions.

        Raises InvalidInput for an object without ``predict`` or a bad name, and UnsafeModel
        (storing nothing) when the file names types outside the trust list, which every later
        load would refuse.
        """
        if not callable(getattr(model, "predict", None)):
            raise InvalidInput(f"{type(model).__name__} has no predict method; it is not a model")
        name = safe_name(name)
        data = modelio.dump_model(model, serialization)
        check_loadable(data, serialization, self._settings.trusted_types)
        if signature is None and input_example is not None:
            signature = modelio.infer_signature(input_example)
        digest = self._artifacts.put_bytes(data)
        logged = LoggedModel(
            run_id=run_id,
            name=name,
            digest=digest,
            format=serialization,
            signature=signature or {},
            environment=modelio.environment(),
            created_at=time.time(),
        )
        self._runs.record_logged_model(logged)
        self._runs.record_artifact(
            run_id, ArtifactRef(f"{name}/model.{serialization}", digest, len(data))
        )
        return logged

    def search_runs(
        self,
        experiment: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = (),
        max_results: int = 1000,
    ) -> list[Run]:
        """Runs of the named experiments (all when None) matching the filter, in order.

        ``order_by`` is a list of clauses such as ``"metrics.f1 DESC"`` (one clause may be given
        as a string). Raises NotFound for an unknown experiment, InvalidInput for a malformed
        filter, ordering or ``max_results``.
        """
        if experiment is None:
            ids = [found.id for found, _ in self._runs.list_experiments()]
        else:
            names = [experiment] if isinstance(experiment, str) else list(experiment)
            ids = [self._runs.get_experiment(n).id for n in names]
        limit = integer("max_results", max_results, minimum=1)
        clauses = [order_by] if isinstance(order_by, str) else list(order_by or ())
        return self._runs.search_runs(RunQuery(ids, filter, clauses, limit))


RUN_COLUMNS = (
    "run_id",
    "experiment_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "parent_run_id",
    "user",
    "code_version",
)


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: attributes, then metrics.*, params.* and tags.* columns.

    With no runs the frame still has the attribute columns (``RUN_COLUMNS``).
    """
    import pandas as pd

    if not runs:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    records = []
    for run in runs:
        record: dict[str, Any] = {
            "run_id": run.id,
            "experiment_id": run.experiment_id,
            "name": run.name,
            "status": run.status.value,
            "start_time": pd.Timestamp(run.start_time, unit="s", tz="UTC"),
            "end_time": pd.Timestamp(run.end_time, unit="s", tz="UTC") if run.end_time else pd.NaT,
            "parent_run_id": run.parent_run_id,
            "user": run.user,
            "code_version": run.code_version,
        }
        record.update({f"metrics.{k}": v for k, v in run.metrics.items()})
        record.update({f"params.{k}": v for k, v in run.params.items()})
        record.update({f"tags.{k}": v for k, v in run.tags.items()})
        records.append(record)
    return pd.DataFrame.from_records(records)
