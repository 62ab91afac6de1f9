"""Rollouts: at most one running rollout per model, enforced by a partial unique index.

Two servers starting a rollout of the same model at once could both insert one before. A store
that already holds several running rollouts of a model keeps the newest running; the older
ones are stopped, each with an audited ``stop`` decision saying why.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RUNNING = "state = 'running'"
REASON = "stopped by the store upgrade: a newer rollout of this model was running too"


def _stop_older_duplicates() -> None:
    conn = op.get_bind()
    older = conn.execute(
        sa.text(
            "SELECT r.id, r.model, r.champion, r.challenger FROM rollouts r WHERE r.state = "
            "'running' AND EXISTS (SELECT 1 FROM rollouts n WHERE n.model = r.model AND "
            "n.state = 'running' AND n.id > r.id)"
        )
    ).all()
    now = time.time()
    for rollout_id, model, champion, challenger in older:
        conn.execute(
            sa.text(
                "UPDATE rollouts SET state = 'stopped', updated_at = :now, weights = :weights, "
                "weights_at = :now WHERE id = :id"
            ).bindparams(sa.bindparam("weights", type_=sa.JSON)),
            {"now": now, "id": rollout_id, "weights": {"champion": 1.0, "challenger": 0.0}},
        )
        conn.execute(
            sa.text(
                'INSERT INTO rollout_decisions (rollout_id, model, kind, at, reason, "user", '
                "arms, versions, statistics) VALUES (:id, :model, 'stop', :now, :reason, "
                "'mloop', :arms, :versions, :statistics)"
            ).bindparams(
                sa.bindparam("arms", type_=sa.JSON),
                sa.bindparam("versions", type_=sa.JSON),
                sa.bindparam("statistics", type_=sa.JSON),
            ),
            {
                "id": rollout_id,
                "model": model,
                "now": now,
                "reason": REASON,
                "arms": {"champion": 1.0, "challenger": 0.0},
                "versions": {"champion": champion, "challenger": challenger},
                "statistics": {},
            },
        )


def upgrade() -> None:
    """Stop all but the newest running rollout of each model, then add the unique index."""
    _stop_older_duplicates()
    op.create_index(
        "uq_rollouts_running_model",
        "rollouts",
        ["model"],
        unique=True,
        sqlite_where=sa.text(RUNNING),
        postgresql_where=sa.text(RUNNING),
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("uq_rollouts_running_model", table_name="rollouts")
