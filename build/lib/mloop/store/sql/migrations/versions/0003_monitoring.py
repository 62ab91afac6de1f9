"""Monitoring: reference and chunk profiles, monitor results, alerts, scheduler leases.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the monitoring tables."""
    op.create_table(
        "reference_profiles",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "chunk_profiles",
        sa.Column(
            "chunk_id", sa.BigInteger, sa.ForeignKey("prediction_chunks.id"), primary_key=True
        ),
        sa.Column("profile", sa.JSON, nullable=False),
    )
    op.create_table(
        "monitor_results",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("arm", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("window_start", sa.Float),
        sa.Column("window_end", sa.Float),
        sa.Column("n_rows", sa.BigInteger, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_monitor_results_model_kind_created", "monitor_results", ["model", "kind", "created_at"]
    )
    _create_alerts()
    op.create_table(
        "leases",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("holder", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def _create_alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("notified_at", sa.Float),
        sa.Column("updated_by", sa.String(256)),
    )
    op.create_index(
        "ix_alerts_rule_model_subject_status", "alerts", ["rule", "model", "subject", "status"]
    )


def downgrade() -> None:
    """Drop the monitoring tables."""
    for name in ("leases", "alerts", "monitor_results", "chunk_profiles", "reference_profiles"):
        op.drop_table(name)
