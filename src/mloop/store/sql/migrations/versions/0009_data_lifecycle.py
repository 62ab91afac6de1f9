"""Durable idempotency keys, the event outbox and webhook deliveries, profile roll-ups and the
audit of erasures.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", BIGINT, primary_key=True, autoincrement=True)


def upgrade() -> None:
    """Create the five tables and their indexes."""
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])
    op.create_table(
        "events",
        _id(),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("dispatched", sa.Boolean, nullable=False),
    )
    op.create_index("ix_events_dispatched", "events", ["dispatched", "id"])
    op.create_table(
        "webhook_deliveries",
        _id(),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.id"), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_table(
        "profile_rollups",
        _id(),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(128), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float, nullable=False),
        sa.Column("n_rows", sa.BigInteger, nullable=False),
        sa.Column("chunk_ids", sa.JSON, nullable=False),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_profile_rollups_model_start",
        "profile_rollups",
        ["model", "version", "period", "start_time"],
    )
    op.create_table(
        "erasures",
        _id(),
        sa.Column("unit", sa.String(256), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("labels", sa.BigInteger, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("user", sa.String(256), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop the five tables."""
    op.drop_table("erasures")
    op.drop_index("ix_profile_rollups_model_start", "profile_rollups")
    op.drop_table("profile_rollups")
    op.drop_index("ix_webhook_deliveries_status_next", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_events_dispatched", "events")
    op.drop_table("events")
    op.drop_index("ix_idempotency_keys_created", "idempotency_keys")
    op.drop_table("idempotency_keys")
