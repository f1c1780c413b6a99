"""The store's tables: the event log and the state tables folded from it.

Entity tables keep the whole merged entity as JSON in `data`, beside the columns
that queries filter and sort on. Alembic migrations (store/migrations) create them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("id", String(200), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("level", String(16)),
    Column("body", Text, nullable=False),
    Index("ix_events_type_seq", "type", "seq"),
    Index("ix_events_ts_ms", "ts_ms"),
)

event_rooms = Table(
    "event_rooms",
    metadata,
    Column("room", String(220), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
)

agents = Table(
    "agents",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("status", String(16)),
    Column("health_status", String(16)),
    Column("data", Text, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("status", String(16)),
    Column("priority", Integer),
    Column("agent_id", String(200)),
    Column("session_id", String(200)),
    Column("title", Text),
    Column("created_at", String(32)),
    Column("updated_at", String(32)),
    Column("data", Text, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_tasks_updated_seq", "updated_seq"),
    Index("ix_tasks_status_updated_seq", "status", "updated_seq"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("status", String(16)),
    Column("agent_id", String(200)),
    Column("task_id", String(200)),
    Column("started_at", String(32)),
    Column("data", Text, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_sessions_updated_seq", "updated_seq"),
    Index("ix_sessions_task_id", "task_id"),
)

test_runs = Table(
    "test_runs",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("task_id", String(200)),
    Column("session_id", String(200)),
    Column("status", String(16)),
    Column("data", Text, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_test_runs_task_id", "task_id"),
)

budget = Table(
    "budget",
    metadata,
    Column("period", String(64), primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
)

api_calls = Table(
    "api_calls",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("session_id", String(200)),
    Column("agent_id", String(200)),
    Column("task_id", String(200)),
    Column("model", String(100)),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("cost_usd", Float),
    Column("at", String(32), nullable=False),
)

task_queue = Table(
    "task_queue",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("not_before", String(32)),
    Column("agent_name", String(200)),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_task_queue_status_priority", "status", "priority"),
)

telegram_messages = Table(
    "telegram_messages",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("direction", String(8), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("about_seq", BigInteger),
)

generic_events = Table(
    "generic_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(200), nullable=False),
    Column("level", String(16), nullable=False),
    Column("source", String(200)),
    Column("message", Text, nullable=False),
    Column("data", Text),
)
