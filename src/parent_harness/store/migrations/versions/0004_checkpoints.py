"""checkpoints of folded state, for the state at any point of the log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:40:00

`checkpoints` keeps the whole folded state every so many events (`--checkpoint-every`),
zlib-compressed JSON, by the seq it is as of: the state after any event is the nearest
checkpoint before it plus the events since, folded again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
