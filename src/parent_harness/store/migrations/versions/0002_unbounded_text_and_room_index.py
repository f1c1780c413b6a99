"""unbounded text, 64-bit integers, the rooms of each event in its row

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:10:00

PostgreSQL enforced what SQLite never did: VARCHAR lengths and 32-bit INTEGER, so a
long id or title, or a priority past 2**31, failed the whole batch there. Text and
BIGINT now, as on SQLite (whose VARCHAR(n) is TEXT and INTEGER is 64-bit, so nothing
changes on it).

Every event's rooms are also kept in its row (`events.rooms`, a JSON array), so that a
replay reads them with the events: looking them up in event_rooms by seq scanned that
whole table, as it is keyed by room. event_rooms stays for finding a room's events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> {column: length it had in 0001}
_VARCHARS: dict[str, dict[str, int]] = {
    "agents": {"id": 200, "status": 16, "health_status": 16},
    "api_calls": {"session_id": 200, "agent_id": 200, "task_id": 200, "model": 100, "at": 32},
    "budget": {"period": 64},
    "event_rooms": {"room": 220},
    "events": {"id": 200, "type": 64, "ts": 32, "level": 16},
    "generic_events": {"id": 200, "level": 16, "source": 200},
    "meta": {"key": 64},
    "sessions": {"id": 200, "status": 16, "agent_id": 200, "task_id": 200, "started_at": 32},
    "task_queue": {"task_id": 200, "status": 16, "not_before": 32, "agent_name": 200},
    "tasks": {
        "id": 200,
        "status": 16,
        "agent_id": 200,
        "session_id": 200,
        "created_at": 32,
        "updated_at": 32,
    },
    "telegram_messages": {"id": 200, "direction": 8, "chat_id": 64, "at": 32},
    "test_runs": {"id": 200, "task_id": 200, "session_id": 200, "status": 16},
}
_INTEGERS: dict[str, tuple[str, ...]] = {
    "tasks": ("priority",),
    "task_queue": ("priority", "attempts", "max_attempts"),
}


def _alter(table: str, changes: dict[str, str]) -> None:
    """One ALTER TABLE for all of a table's columns (one rewrite at most)."""
    clauses = ", ".join(f'ALTER COLUMN "{col}" TYPE {type_}' for col, type_ in changes.items())
    op.execute(f"ALTER TABLE {table} {clauses}")


def _fill_rooms(dialect: str) -> None:
    """Copies each logged event's rooms from event_rooms into its row."""
    if op.get_bind().exec_driver_sql("SELECT 1 FROM events LIMIT 1").first() is None:
        return
    if dialect == "postgresql":
        op.execute(
            "UPDATE events SET rooms = r.rooms FROM (SELECT seq, json_agg(room)::text AS rooms"
            " FROM event_rooms GROUP BY seq) AS r WHERE r.seq = events.seq"
        )
        return
    # An index by seq for the while: without it each event's lookup scans the table.
    op.create_index("tmp_event_rooms_seq", "event_rooms", ["seq", "room"])
    op.execute(
        "UPDATE events SET rooms = (SELECT json_group_array(room) FROM event_rooms"
        " WHERE event_rooms.seq = events.seq)"
    )
    op.drop_index("tmp_event_rooms_seq", table_name="event_rooms")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("events", sa.Column("rooms", sa.Text(), nullable=True))
    _fill_rooms(dialect)
    if dialect != "postgresql":
        return
    for table, columns in _VARCHARS.items():
        changes = dict.fromkeys(columns, "TEXT")
        changes.update(dict.fromkeys(_INTEGERS.get(table, ()), "BIGINT"))
        _alter(table, changes)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in _VARCHARS.items():
            changes = {col: f"VARCHAR({length})" for col, length in columns.items()}
            changes.update(dict.fromkeys(_INTEGERS.get(table, ()), "INTEGER"))
            _alter(table, changes)
    with op.batch_alter_table("events") as batch:
        batch.drop_column("rooms")
