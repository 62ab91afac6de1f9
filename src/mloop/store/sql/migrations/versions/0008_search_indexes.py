"""Run search: the latest metrics indexed by (key, value, run_id), so a search sorted on a
metric reads runs in that order from the index alone and stops at the page's end.

Params and tags keep their primary keys only: their values may be thousands of characters,
more than a PostgreSQL B-tree entry holds.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the (key, value) index of the latest metrics with (key, value, run_id)."""
    op.create_index("ix_latest_metrics_key_value_run", "latest_metrics", ["key", "value", "run_id"])
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")


def downgrade() -> None:
    """Back to the (key, value) index."""
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.drop_index("ix_latest_metrics_key_value_run", table_name="latest_metrics")
