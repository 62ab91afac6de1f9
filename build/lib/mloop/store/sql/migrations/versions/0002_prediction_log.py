"""The prediction log: chunk index, prediction ids and ground-truth feedback.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the prediction log tables."""
    op.create_table(
        "prediction_chunks",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(128), nullable=False),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_prediction_chunks_model_version_start",
        "prediction_chunks",
        ["model", "version", "start_time"],
    )
    op.create_index("ix_prediction_chunks_model_end", "prediction_chunks", ["model", "end_time"])
    op.create_table(
        "prediction_ids",
        sa.Column("prediction_id", sa.String(64), primary_key=True),
        sa.Column("chunk_id", sa.BigInteger, sa.ForeignKey("prediction_chunks.id"), nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_prediction_ids_chunk", "prediction_ids", ["chunk_id"])
    op.create_table(
        "feedback",
        sa.Column(
            "prediction_id",
            sa.String(64),
            sa.ForeignKey("prediction_ids.prediction_id"),
            primary_key=True,
        ),
        sa.Column("label", sa.JSON, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop the prediction log tables."""
    for name in ("feedback", "prediction_ids", "prediction_chunks"):
        op.drop_table(name)
