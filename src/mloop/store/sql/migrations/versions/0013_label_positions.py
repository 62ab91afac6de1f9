"""Labels remember their prediction's row in its chunk, so a window joins them by position.

A retraining window of a million logged rows read every label of its chunks by prediction id,
then matched each id against every logged row's id. With ``labels.row`` (the prediction's row
in its chunk, as ``prediction_ids.row``) a chunk's labels go straight to their rows and the
ids need not be read. On SQLite the covering index becomes (chunk_id, row, label); PostgreSQL
cannot key an index on a ``json`` column and keeps ``ix_labels_chunk`` alone.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_INDEX = "ix_labels_chunk_rows"
INDEX = "ix_labels_chunk_positions"


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    """Add ``labels.row``, fill it from ``prediction_ids`` and index it with the label."""
    op.add_column("labels", sa.Column("row", sa.Integer, nullable=True))
    op.execute(
        "UPDATE labels SET row = (SELECT p.row FROM prediction_ids p "
        "WHERE p.prediction_id = labels.prediction_id) WHERE chunk_id IS NOT NULL"
    )
    if _sqlite():
        op.drop_index(OLD_INDEX, table_name="labels")
        op.create_index(INDEX, "labels", ["chunk_id", "row", "label"])


def downgrade() -> None:
    """Drop the column and its index; the labels themselves are kept."""
    if _sqlite():
        op.drop_index(INDEX, table_name="labels")
        op.create_index(OLD_INDEX, "labels", ["chunk_id", "prediction_id", "label"])
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("row")
