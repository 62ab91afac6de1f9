"""Labels remember the chunk their prediction was logged in, so a window's labels are one read.

Reading a window's labels used to join ``labels`` with ``prediction_ids`` by prediction id, one
index lookup per labelled row; with ``labels.chunk_id`` indexed they are read by chunk. Labels of
predictions not logged yet keep a NULL ``chunk_id`` until their chunk is recorded.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``labels.chunk_id``, fill it from ``prediction_ids`` and index it."""
    op.add_column("labels", sa.Column("chunk_id", sa.BigInteger, nullable=True))
    op.execute(
        "UPDATE labels SET chunk_id = (SELECT p.chunk_id FROM prediction_ids p "
        "WHERE p.prediction_id = labels.prediction_id)"
    )
    op.create_index("ix_labels_chunk", "labels", ["chunk_id"])


def downgrade() -> None:
    """Drop the index and the column; the labels themselves are kept."""
    op.drop_index("ix_labels_chunk", table_name="labels")
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("chunk_id")
