"""agent output kept with its session

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00

`session_output` keeps each `session:output` event's lines as one chunk row, keyed by
session and first line; `total_bytes` (the session's output up to the chunk's end) lets
the store keep only a session's last bytes with one range delete, and `at` its age.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_output",
        sa.Column("session_id", sa.Text(), primary_key=True),
        sa.Column("from_line", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("to_line", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("dropped", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
    )
    op.create_index("ix_session_output_at", "session_output", ["at"])


def downgrade() -> None:
    op.drop_index("ix_session_output_at", table_name="session_output")
    op.drop_table("session_output")
