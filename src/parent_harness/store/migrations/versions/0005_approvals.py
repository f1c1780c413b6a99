"""approvals: agents waiting for a human or a rule

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:50:00

`approvals` keeps each approval entity whole in `data`, with its status, session and
agent as columns to filter on (`GET /api/approvals?status=pending`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("status", sa.Text()),
        sa.Column("session_id", sa.Text()),
        sa.Column("agent_id", sa.Text()),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_approvals_status", "approvals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_approvals_status", table_name="approvals")
    op.drop_table("approvals")
