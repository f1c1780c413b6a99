"""The store's tables: the event log and the state tables folded from it.

Entity tables keep the whole merged entity as JSON in `data`, beside the columns
that queries filter and sort on. Alembic migrations (store/migrations) create them.
Text has no length limit and integers are 64-bit on every database: SQLite enforces
neither, so PostgreSQL must not either, or a value SQLite takes would fail a batch there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
)

SEQ = BigInteger().with_variant(Integer, "sqlite")
"""An event's position: BIGINT on PostgreSQL, SQLite's INTEGER PRIMARY KEY (its rowid)."""


def _without_nul(value: str | None) -> str | None:
    return value.replace("\x00", "\ufffd") if value and "\x00" in value else value


class StoredText(TypeDecorator[str]):
    """Text of any length, as every database can hold it.

    PostgreSQL refuses NUL in text, and a refused row would fail the whole batch it
    belongs to, so there NUL is stored as U+FFFD; values bound in queries get the same
    mapping, so lookups still match. SQLite keeps the text as it is, at no cost. JSON
    columns (`body`, `data`) hold NUL escaped, so only a search for it is mapped there.
    """

    impl = Text
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return _without_nul
        return self.impl_instance.bind_processor(dialect)


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", StoredText, primary_key=True),
    Column("value", StoredText, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("id", StoredText, nullable=False, unique=True),
    Column("type", StoredText, nullable=False),
    Column("ts", StoredText, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("level", StoredText),
    Column("body", StoredText, nullable=False),
    Column("rooms", StoredText),  # JSON array; event_rooms holds the same, indexed by room
    Index("ix_events_type_seq", "type", "seq"),
    Index("ix_events_ts_ms", "ts_ms"),
)

event_rooms = Table(
    "event_rooms",
    metadata,
    Column("room", StoredText, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
)

agents = Table(
    "agents",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("status", StoredText),
    Column("health_status", StoredText),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("status", StoredText),
    Column("priority", BigInteger),
    Column("agent_id", StoredText),
    Column("session_id", StoredText),
    Column("title", StoredText),
    Column("created_at", StoredText),
    Column("updated_at", StoredText),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_tasks_updated_seq", "updated_seq"),
    Index("ix_tasks_status_updated_seq", "status", "updated_seq"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("status", StoredText),
    Column("agent_id", StoredText),
    Column("task_id", StoredText),
    Column("started_at", StoredText),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_sessions_updated_seq", "updated_seq"),
    Index("ix_sessions_task_id", "task_id"),
)

test_runs = Table(
    "test_runs",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("task_id", StoredText),
    Column("session_id", StoredText),
    Column("status", StoredText),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_test_runs_task_id", "task_id"),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("task_id", StoredText),
    Column("session_id", StoredText),
    Column("status", StoredText),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_workspaces_task_id", "task_id"),
)

budget = Table(
    "budget",
    metadata,
    Column("period", StoredText, primary_key=True),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
)

api_calls = Table(
    "api_calls",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("session_id", StoredText),
    Column("agent_id", StoredText),
    Column("task_id", StoredText),
    Column("model", StoredText),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("cost_usd", Float),
    Column("at", StoredText, nullable=False),
)

task_queue = Table(
    "task_queue",
    metadata,
    Column("task_id", StoredText, primary_key=True),
    Column("status", StoredText, nullable=False),
    Column("priority", BigInteger, nullable=False),
    Column("attempts", BigInteger, nullable=False),
    Column("max_attempts", BigInteger, nullable=False),
    Column("not_before", StoredText),
    Column("agent_name", StoredText),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_task_queue_status_priority", "status", "priority"),
)

telegram_messages = Table(
    "telegram_messages",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("direction", StoredText, nullable=False),
    Column("chat_id", StoredText, nullable=False),
    Column("text", StoredText, nullable=False),
    Column("at", StoredText, nullable=False),
    Column("about_seq", BigInteger),
)

generic_events = Table(
    "generic_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", StoredText, nullable=False),
    Column("level", StoredText, nullable=False),
    Column("source", StoredText),
    Column("message", StoredText, nullable=False),
    Column("data", StoredText),
)

session_output = Table(
    "session_output",
    metadata,
    Column("session_id", StoredText, primary_key=True),
    Column("from_line", BigInteger, primary_key=True, autoincrement=False),
    Column("to_line", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", StoredText, nullable=False),
    Column("total_bytes", BigInteger, nullable=False),
    Column("dropped", BigInteger, nullable=False),
    Column("lines", StoredText, nullable=False),  # JSON array of {n, stream, text, at}
    Index("ix_session_output_at", "at"),
)
"""Agent output (`session:output`), one row per event: a chunk of numbered lines.
`total_bytes` is the session's output up to this chunk's end, so keeping the last N bytes
of a session is one range delete."""

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),  # zlib-compressed JSON of State.dump()
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("status", StoredText),
    Column("session_id", StoredText),
    Column("agent_id", StoredText),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_approvals_status", "status"),
)


workers = Table(
    "workers",
    metadata,
    Column("id", StoredText, primary_key=True),
    Column("status", StoredText),
    Column("data", StoredText, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
)

task_leases = Table(
    "task_leases",
    metadata,
    Column("task_id", StoredText, primary_key=True),
    Column("lease_id", StoredText, nullable=False),
    Column("worker_id", StoredText, nullable=False),
    Column("session_id", StoredText, nullable=False),
    Column("state", StoredText, nullable=False),  # held, ended, expired
    Column("expires_ms", BigInteger, nullable=False),
    Column("settled_seq", BigInteger),
    Index("ix_task_leases_state", "state", "expires_ms"),
)
"""One row per task a worker ever claimed: the lease of its latest run (store/leases.py).
Not state folded from the log: the claim's arbiter, written by conditional statements."""

worker_keys = Table(
    "worker_keys",
    metadata,
    Column("worker_id", StoredText, primary_key=True),
    Column("token_fp", StoredText, nullable=False),
)
"""Which token registered each worker (a digest): another token cannot act for it."""
