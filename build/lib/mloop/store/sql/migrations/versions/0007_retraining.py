"""Retraining: policies per model and the audit trail of retraining decisions.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the policy and decision tables."""
    op.create_table(
        "retraining_policies",
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
    )
    op.create_table(
        "retraining_decisions",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("trigger", sa.String(256), nullable=False),
        sa.Column("champion_version", sa.Integer),
        sa.Column("challenger_version", sa.Integer),
        sa.Column("run_id", sa.String(32)),
        sa.Column("gate", sa.JSON, nullable=False),
    )
    op.create_index("ix_retraining_decisions_model_at", "retraining_decisions", ["model", "at"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_retraining_decisions_model_at", "retraining_decisions")
    op.drop_table("retraining_decisions")
    op.drop_table("retraining_policies")
