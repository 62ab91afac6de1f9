"""SQLite reads a window's labels from an index alone.

A retraining window reads every label of its chunks: hundreds of thousands of (prediction id,
label) pairs. With only ``labels.chunk_id`` indexed, SQLite looks each one up in the table; an
index on (chunk_id, prediction_id, label) holds the whole answer. PostgreSQL cannot key an index
on a ``json`` column and keeps ``ix_labels_chunk`` alone.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEX = "ix_labels_chunk_rows"


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    """Add the covering index on SQLite."""
    if _sqlite():
        op.create_index(INDEX, "labels", ["chunk_id", "prediction_id", "label"])


def downgrade() -> None:
    """Drop the covering index on SQLite."""
    if _sqlite():
        op.drop_index(INDEX, table_name="labels")
