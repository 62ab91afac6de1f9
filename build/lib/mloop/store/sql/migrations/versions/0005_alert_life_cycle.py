"""Alerts per monitor definition, linked to the alert they reopen.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the monitor an alert belongs to and the resolved alert it follows."""
    with op.batch_alter_table("alerts") as alerts:
        alerts.add_column(sa.Column("monitor", sa.String(256), nullable=False, server_default=""))
        alerts.add_column(sa.Column("previous_id", BIGINT))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("alerts") as alerts:
        alerts.drop_column("previous_id")
        alerts.drop_column("monitor")
