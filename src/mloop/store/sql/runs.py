"""Store queries for experiments, runs and what runs log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

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
from mloop.errors import Conflict, InvalidInput, NotFound
from mloop.store.sql import schema as t
from mloop.store.sql.base import SqlDatabase
from mloop.store.sql.search import search_query
from mloop.store.sql.upsert import claim_key, insert_if_absent, insert_new_keys, upsert_latest


def _experiment(row: Row[Any]) -> Experiment:
    return Experiment(id=row.id, name=row.name, created_at=row.created_at)


def _step(point: Metric) -> int:
    """The step as a Python int that fits the BIGINT column, else InvalidInput."""
    step = int(point.step)
    if not -(2**63) <= step < 2**63:
        raise InvalidInput(f"metric {point.key!r}: step {step} does not fit in 64 bits")
    return step


def _latest_points(metrics: Iterable[Metric]) -> list[Metric]:
    latest: dict[str, Metric] = {}
    for point in metrics:
        kept = latest.get(point.key)
        if kept is None or (point.step, point.timestamp) >= (kept.step, kept.timestamp):
            latest[point.key] = point
    return list(latest.values())


class SqlRunStore:
    """Experiments, runs, params, metrics, tags, datasets, artifacts and logged models."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def get_or_create_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name``, creating it on first use."""
        with self._db.read() as conn:
            row = conn.execute(select(t.experiments).where(t.experiments.c.name == name)).first()
        if row is not None:
            return _experiment(row)
        with self._db.write() as conn:
            insert_if_absent(conn, t.experiments, {"name": name, "created_at": time.time()})
            row = conn.execute(select(t.experiments).where(t.experiments.c.name == name)).one()
        return _experiment(row)

    def get_experiment(self, name: str) -> Experiment:
        """Return the experiment called ``name`` or raise NotFound."""
        with self._db.read() as conn:
            row = conn.execute(select(t.experiments).where(t.experiments.c.name == name)).first()
        if row is None:
            raise NotFound(f"experiment {name!r} does not exist")
        return _experiment(row)

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        """Every experiment with its number of runs, oldest first."""
        count = func.count(t.runs.c.id)
        query = (
            select(t.experiments, count.label("n_runs"))
            .outerjoin(t.runs, t.runs.c.experiment_id == t.experiments.c.id)
            .group_by(t.experiments.c.id)
            .order_by(t.experiments.c.id)
        )
        with self._db.read() as conn:
            return [(_experiment(row), row.n_runs) for row in conn.execute(query)]

    def create_run(self, run: NewRun) -> str:
        """Create a RUNNING run and return its id."""
        run_id = uuid.uuid4().hex
        values = {
            "id": run_id,
            "experiment_id": run.experiment_id,
            "name": run.name,
            "status": RunStatus.RUNNING.value,
            "start_time": time.time(),
            "parent_run_id": run.parent_run_id,
            "user": run.user,
            "code_version": run.code_version,
        }
        with self._db.write() as conn:
            if run.parent_run_id is not None:
                self._require_run(conn, run.parent_run_id)
            conn.execute(insert(t.runs).values(**values))
            if run.tags:
                rows = [{"run_id": run_id, "key": k, "value": v} for k, v in run.tags.items()]
                conn.execute(insert(t.run_tags), rows)
        return run_id

    def _require_run(self, conn: Connection, run_id: str) -> Row[Any]:
        row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id!r} does not exist")
        return row

    def end_run(self, run_id: str, status: RunStatus) -> None:
        """Mark a run finished, failed or killed."""
        with self._db.write() as conn:
            done = conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(status=status.value, end_time=time.time())
            )
            if done.rowcount == 0:
                raise NotFound(f"run {run_id!r} does not exist")

    def log_batch(self, run_id: str, batch: RunBatch) -> None:
        """Write params, metric points and tags in one transaction: all or nothing."""
        self._log_batch(run_id, batch, None)

    def log_batch_once(self, run_id: str, batch: RunBatch, key: str) -> bool:
        """Write the batch unless its idempotency key was recorded; True when it wrote.

        The key goes in with the batch's rows, in one transaction.
        """
        return self._log_batch(run_id, batch, key)

    def _log_batch(self, run_id: str, batch: RunBatch, key: str | None) -> bool:
        try:
            with self._db.write() as conn:
                if key is not None and not claim_key(conn, key, {"run_id": run_id}):
                    return False
                if batch.params:
                    self._insert_params(conn, run_id, batch.params)
                if batch.metrics:
                    self._insert_metrics(conn, run_id, list(batch.metrics))
                if batch.tags:
                    self._upsert_tags(conn, run_id, batch.tags)
                return True
        except Conflict:
            with self._db.read() as conn:
                self._require_run(conn, run_id)
            raise

    def _insert_params(self, conn: Connection, run_id: str, params: Mapping[str, str]) -> None:
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()]
        inserted = set(insert_new_keys(conn, t.params, rows))
        if len(inserted) == len(rows):
            return
        query = select(t.params.c.key, t.params.c.value).where(
            t.params.c.run_id == run_id,
            t.params.c.key.in_([k for k in params if k not in inserted]),
        )
        for key, value in conn.execute(query):
            if params[key] != value:
                raise Conflict(
                    f"param {key!r} of run {run_id} is {value!r}; params are immutable, "
                    f"cannot change it to {params[key]!r}"
                )

    def _insert_metrics(self, conn: Connection, run_id: str, metrics: list[Metric]) -> None:
        rows = [
            {
                "run_id": run_id,
                "key": m.key,
                "value": m.value,
                "step": _step(m),
                "timestamp": m.timestamp,
            }
            for m in metrics
        ]
        conn.execute(insert(t.metrics), rows)
        latest = [
            {
                "run_id": run_id,
                "key": m.key,
                "value": m.value,
                "step": _step(m),
                "timestamp": m.timestamp,
            }
            for m in _latest_points(metrics)
        ]
        upsert_latest(conn, t.latest_metrics, latest)

    def _upsert_tags(self, conn: Connection, run_id: str, tags: Mapping[str, str]) -> None:
        conn.execute(
            t.run_tags.delete().where(
                t.run_tags.c.run_id == run_id, t.run_tags.c.key.in_(list(tags))
            )
        )
        conn.execute(
            insert(t.run_tags), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        )

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, latest metrics and tags."""
        with self._db.read() as conn:
            row = self._require_run(conn, run_id)
            return self._runs_with_data(conn, [row])[0]

    def run_ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        """Ids of runs that start with ``prefix``, sorted, at most ``limit`` of them."""
        query = (
            select(t.runs.c.id)
            .where(t.runs.c.id.startswith(prefix, autoescape=True))
            .order_by(t.runs.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [row.id for row in conn.execute(query)]

    def _runs_with_data(self, conn: Connection, rows: list[Row[Any]]) -> list[Run]:
        ids = [row.id for row in rows]
        found: dict[str, dict[str, dict[str, Any]]] = {
            run_id: {"params": {}, "metrics": {}, "tags": {}} for run_id in ids
        }
        for part, table in (
            ("params", t.params),
            ("metrics", t.latest_metrics),
            ("tags", t.run_tags),
        ):
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                query = select(table.c.run_id, table.c.key, table.c.value).where(
                    table.c.run_id.in_(chunk)
                )
                for run_id, key, value in conn.execute(query):
                    found[run_id][part][key] = value
        return [_run(row, found[row.id]) for row in rows]

    def search_runs(self, search: RunQuery) -> list[Run]:
        """Runs matching ``search``, loaded with their params, latest metrics and tags."""
        query = search_query(search)
        with self._db.read() as conn:
            return self._runs_with_data(conn, list(conn.execute(query)))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged point of one metric, in step then time order."""
        with self._db.read() as conn:
            self._require_run(conn, run_id)
            return self._history(conn, run_id, key)

    def sample_metric_history(
        self, run_id: str, key: str, max_points: int
    ) -> tuple[list[Metric], int]:
        """At most ``max_points`` points of one metric in step order, and how many it has.

        A history of at most ``max_points`` comes back whole. A longer one is cut into
        ``max_points // 2`` equal spans of steps; each span gives two points at its first step,
        its lowest and its highest value (min-max decimation: spikes survive, and the database
        does the work in one grouped scan).
        """
        m = t.metrics.c
        where = (m.run_id == run_id, m.key == key)
        with self._db.read() as conn:
            self._require_run(conn, run_id)
            low = conn.execute(select(func.min(m.step)).where(*where)).scalar()
            high = conn.execute(select(func.max(m.step)).where(*where)).scalar()
            if low is None or high is None:
                return [], 0
            spans = max(1, max_points // 2)
            span = ((m.step - low) * spans // (high - low + 1)).label("span")
            query = (
                select(
                    func.min(m.step),
                    func.min(m.value),
                    func.max(m.value),
                    func.min(m.timestamp),
                    func.count(),
                )
                .where(*where)
                .group_by(span)
                .order_by(func.min(m.step))
            )
            groups = list(conn.execute(query))
            total = sum(int(row[4]) for row in groups)
            if total <= max_points:
                return self._history(conn, run_id, key), total
            points = []
            for step, lowest, highest, at, _ in groups:
                points.append(Metric(key, lowest, step, at))
                if highest != lowest:
                    points.append(Metric(key, highest, step, at))
            return points, total

    def _history(self, conn: Connection, run_id: str, key: str) -> list[Metric]:
        m = t.metrics.c
        query = (
            select(m.key, m.value, m.step, m.timestamp)
            .where(m.run_id == run_id, m.key == key)
            .order_by(m.step, m.timestamp, m.id)
        )
        return [Metric(*row) for row in conn.execute(query)]

    def log_dataset(self, run_id: str, fingerprint: DatasetFingerprint) -> None:
        """Record the fingerprint of a dataset the run used; the same name twice must agree."""
        values = {
            "run_id": run_id,
            "name": fingerprint.name,
            "digest": fingerprint.digest,
            "n_rows": fingerprint.n_rows,
            "schema": fingerprint.schema,
            "target": fingerprint.target,
        }
        with self._db.write() as conn:
            self._require_run(conn, run_id)
            query = select(t.datasets.c.digest).where(
                t.datasets.c.run_id == run_id, t.datasets.c.name == fingerprint.name
            )
            stored = conn.execute(query).scalar()
            if stored is not None and stored != fingerprint.digest:
                raise Conflict(
                    f"run {run_id} already logged a different dataset {fingerprint.name!r}"
                )
            if stored is None:
                conn.execute(insert(t.datasets).values(**values))

    def list_datasets(self, run_id: str) -> list[DatasetFingerprint]:
        """The dataset fingerprints a run logged."""
        query = select(t.datasets).where(t.datasets.c.run_id == run_id).order_by(t.datasets.c.name)
        with self._db.read() as conn:
            return [
                DatasetFingerprint(r.name, r.digest, r.n_rows, dict(r.schema), r.target)
                for r in conn.execute(query)
            ]

    def record_artifact(self, run_id: str, ref: ArtifactRef) -> None:
        """Record that a run holds a named artifact with this content address."""
        with self._db.write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                t.artifacts.delete().where(
                    t.artifacts.c.run_id == run_id, t.artifacts.c.path == ref.path
                )
            )
            conn.execute(
                insert(t.artifacts).values(
                    run_id=run_id, path=ref.path, digest=ref.digest, size=ref.size
                )
            )

    def list_artifacts(self, run_id: str) -> list[ArtifactRef]:
        """The named artifacts of a run, by path."""
        query = (
            select(t.artifacts).where(t.artifacts.c.run_id == run_id).order_by(t.artifacts.c.path)
        )
        with self._db.read() as conn:
            self._require_run(conn, run_id)
            return [ArtifactRef(r.path, r.digest, r.size) for r in conn.execute(query)]

    def record_logged_model(self, model: LoggedModel) -> None:
        """Record a model file a run logged; a name is logged once per run."""
        with self._db.write() as conn:
            self._require_run(conn, model.run_id)
            query = select(t.logged_models.c.name).where(
                t.logged_models.c.run_id == model.run_id, t.logged_models.c.name == model.name
            )
            if conn.execute(query).first() is not None:
                raise Conflict(f"run {model.run_id} already logged a model named {model.name!r}")
            conn.execute(insert(t.logged_models).values(**model.__dict__))

    def get_logged_model(self, run_id: str, name: str) -> LoggedModel:
        """Return the model a run logged under ``name``."""
        query = select(t.logged_models).where(
            t.logged_models.c.run_id == run_id, t.logged_models.c.name == name
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"run {run_id} logged no model named {name!r}")
        return LoggedModel(**row._asdict())


def _run(row: Row[Any], data: dict[str, dict[str, Any]]) -> Run:
    return Run(
        id=row.id,
        experiment_id=row.experiment_id,
        name=row.name,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        parent_run_id=row.parent_run_id,
        user=row.user,
        code_version=row.code_version,
        params=data["params"],
        metrics=data["metrics"],
        tags=data["tags"],
    )
