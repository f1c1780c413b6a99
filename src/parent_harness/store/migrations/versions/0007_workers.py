"""workers, task leases and worker keys: agents on other machines (issue 19)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "task_leases",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("lease_id", sa.Text(), nullable=False),
        sa.Column("worker_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("settled_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("task_leases", schema=None) as batch_op:
        batch_op.create_index("ix_task_leases_state", ["state", "expires_ms"], unique=False)
    op.create_table(
        "worker_keys",
        sa.Column("worker_id", sa.Text(), nullable=False),
        sa.Column("token_fp", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )


def downgrade() -> None:
    op.drop_table("worker_keys")
    with op.batch_alter_table("task_leases", schema=None) as batch_op:
        batch_op.drop_index("ix_task_leases_state")
    op.drop_table("task_leases")
    op.drop_table("workers")
