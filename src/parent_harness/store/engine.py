"""The store's SQLAlchemy engine, set up for its database: SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from parent_harness.credentials import mask_url
from parent_harness.store.urls import async_url

BUSY_TIMEOUT_MS = 5000


def set_sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def store_engine(url: str) -> AsyncEngine:
    """An async engine for a store URL (`sqlite:///...` or `postgresql://...`)."""
    target = async_url(url)
    postgres = target.startswith("postgresql")
    try:
        # A PostgreSQL server restarts or fails over under a running hub: test a pooled
        # connection before use rather than fail a batch on a dead one.
        engine = create_async_engine(target, pool_pre_ping=postgres)
    except ModuleNotFoundError as exc:
        extra = " (pip install 'parent-harness[cluster]')" if postgres else ""
        raise ModuleNotFoundError(
            f"the store {mask_url(url)} needs the {exc.name} driver{extra}", name=exc.name
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", set_sqlite_pragmas)
    return engine


def snapshot_reader(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads that must agree with each other (rows and their seq watermark).

    On PostgreSQL each statement of a READ COMMITTED transaction sees a newer snapshot,
    and other nodes commit all the time; REPEATABLE READ gives the whole read one. A
    read-only transaction never fails for it. SQLite has one writer, this process.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="REPEATABLE READ")
    return engine
