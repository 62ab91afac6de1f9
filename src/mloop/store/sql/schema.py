"""The relational schema of the mloop store, shared by SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()
SQLITE_ONLY_INDEXES = frozenset({"ix_labels_chunk_positions"})
"""Indexes SQLite has and PostgreSQL lacks: PostgreSQL cannot key an index on a ``json`` column."""

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("parent_run_id", String(32), ForeignKey("runs.id")),
    Column("user", String(256), nullable=False),
    Column("code_version", String(64)),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Float, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_latest_metrics_key_value_run", "key", "value", "run_id"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("name", String(250), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("n_rows", BigInteger, nullable=False),
    Column("schema", JSON, nullable=False),
    Column("target", String(250)),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
)

logged_models = Table(
    "logged_models",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("name", String(250), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("signature", JSON, nullable=False),
    Column("environment", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("created_at", Float, nullable=False),
    Column("latest_version", Integer, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False),
    Column("model_name", String(250), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("description", Text, nullable=False),
)

aliases = Table(
    "aliases",
    metadata,
    Column("name", String(256), ForeignKey("registered_models.name"), primary_key=True),
    Column("alias", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

alias_events = Table(
    "alias_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("name", String(256), ForeignKey("registered_models.name"), nullable=False),
    Column("alias", String(128), nullable=False),
    Column("from_version", Integer),
    Column("to_version", Integer),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("user", String(256), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_alias_events_name_alias", "name", "alias", "id"),
)

prediction_chunks = Table(
    "prediction_chunks",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("model", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", String(128), nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_prediction_chunks_model_version_start", "model", "version", "start_time"),
    Index("ix_prediction_chunks_model_end", "model", "end_time"),
)

prediction_ids = Table(
    "prediction_ids",
    metadata,
    Column("prediction_id", String(64), primary_key=True),
    Column("chunk_id", BigInteger, ForeignKey("prediction_chunks.id"), nullable=False),
    Column("row", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_prediction_ids_chunk", "chunk_id"),
)

labels = Table(
    "labels",
    metadata,
    Column("prediction_id", String(64), primary_key=True),
    Column("label", JSON, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("chunk_id", BigInteger, nullable=True),
    Column("row", Integer, nullable=True),
    Index("ix_labels_chunk", "chunk_id"),
    Index("ix_labels_chunk_positions", "chunk_id", "row", "label").ddl_if(dialect="sqlite"),
)

reference_profiles = Table(
    "reference_profiles",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("profile", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

chunk_profiles = Table(
    "chunk_profiles",
    metadata,
    Column("chunk_id", BigInteger, ForeignKey("prediction_chunks.id"), primary_key=True),
    Column("profile", JSON, nullable=False),
)

monitor_results = Table(
    "monitor_results",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("model", String(256), nullable=False),
    Column("version", Integer),
    Column("arm", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("window_start", Float),
    Column("window_end", Float),
    Column("n_rows", BigInteger, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_monitor_results_model_kind_created", "model", "kind", "created_at"),
)

alerts = Table(
    "alerts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("rule", String(128), nullable=False),
    Column("model", String(256), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("value", Float),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("notified_at", Float),
    Column("updated_by", String(256)),
    Column("monitor", String(256), nullable=False, server_default=""),
    Column("previous_id", BigInteger().with_variant(Integer, "sqlite")),
    Index("ix_alerts_rule_model_subject_status", "rule", "model", "subject", "status"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("holder", String(256), nullable=False),
    Column("expires_at", Float, nullable=False),
)

rollouts = Table(
    "rollouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(256), nullable=False),
    Column("champion", Integer, nullable=False),
    Column("challenger", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("policy", JSON, nullable=False),
    Column("salt", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("weights", JSON, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("weights_at", Float, nullable=False),
    Index("ix_rollouts_model_state", "model", "state"),
    # At most one running rollout per model, even when two servers start one at once.
    Index(
        "uq_rollouts_running_model",
        "model",
        unique=True,
        sqlite_where=text("state = 'running'"),
        postgresql_where=text("state = 'running'"),
    ),
)

rollout_decisions = Table(
    "rollout_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), nullable=False),
    Column("model", String(256), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("user", String(256), nullable=False),
    Column("arms", JSON, nullable=False),
    Column("versions", JSON, nullable=False),
    Column("statistics", JSON, nullable=False),
    Index("ix_rollout_decisions_model_at", "model", "at"),
)

rollout_tallies = Table(
    "rollout_tallies",
    metadata,
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), primary_key=True),
    Column("arm", String(128), primary_key=True),
    Column("holder", String(256), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("updated_at", Float, nullable=False),
)

retraining_policies = Table(
    "retraining_policies",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("policy", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String(256), nullable=False),
)

retraining_decisions = Table(
    "retraining_decisions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("model", String(256), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("trigger", String(256), nullable=False),
    Column("champion_version", Integer),
    Column("challenger_version", Integer),
    Column("run_id", String(32)),
    Column("gate", JSON, nullable=False),
    Index("ix_retraining_decisions_model_at", "model", "at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("response", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_idempotency_keys_created", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("at", Float, nullable=False),
    Column("dispatched", Boolean, nullable=False),
    Index("ix_events_dispatched", "dispatched", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("event", String(64), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("response_status", Integer),
    Column("next_attempt_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
)

profile_rollups = Table(
    "profile_rollups",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("model", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", String(128), nullable=False),
    Column("period", String(8), nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=False),
    Column("n_rows", BigInteger, nullable=False),
    Column("chunk_ids", JSON, nullable=False),
    Column("profile", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_profile_rollups_model_start", "model", "version", "period", "start_time"),
)

erasures = Table(
    "erasures",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("unit", String(256), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("labels", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("user", String(256), nullable=False),
    Column("at", Float, nullable=False),
)
