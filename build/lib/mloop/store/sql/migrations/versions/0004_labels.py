"""Ground-truth labels keyed by prediction id, stored before their prediction is logged.

The ``feedback`` table required the prediction to be logged first; ``labels`` does not, and the
join with ``prediction_ids`` happens when the log is read. Stored feedback moves over unchanged.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``labels``, copy the stored feedback into it and drop ``feedback``."""
    op.create_table(
        "labels",
        sa.Column("prediction_id", sa.String(64), primary_key=True),
        sa.Column("label", sa.JSON, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.execute(
        "INSERT INTO labels (prediction_id, label, received_at, updated_at) "
        "SELECT prediction_id, label, received_at, received_at FROM feedback"
    )
    op.drop_table("feedback")


def downgrade() -> None:
    """Move the labels of logged predictions back to ``feedback``; unjoined labels are dropped."""
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
    op.execute(
        "INSERT INTO feedback (prediction_id, label, received_at) "
        "SELECT l.prediction_id, l.label, l.updated_at FROM labels l "
        "JOIN prediction_ids p ON p.prediction_id = l.prediction_id"
    )
    op.drop_table("labels")
