"""SQLite only: the writer thread waits for a write lock another connection holds without
stopping the event loop, and the WAL is checkpointed in a thread of its own, never in a
commit, and rewound."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from parent_harness.store.sql import WAL_REWIND_FRAMES, SqlStore
from parent_harness.store.urls import sqlite_path
from tests.contract.log import EventLog, generic


async def opened(tmp_path: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{tmp_path / 'harness.db'}")
    await store.open()
    return store


def logged_seqs(store: SqlStore) -> list[int]:
    with sqlite3.connect(sqlite_path(store.url)) as conn:
        return [seq for (seq,) in conn.execute("SELECT seq FROM events ORDER BY seq")]


async def test_a_batch_waits_in_the_writer_thread_while_another_connection_writes(
    tmp_path: Path,
) -> None:
    store = await opened(tmp_path)
    log = EventLog()
    try:
        await store.write([log.record(*generic("before"))])
        other = sqlite3.connect(sqlite_path(store.url), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        writing = asyncio.create_task(store.write([log.record(*generic("while locked"))]))
        await asyncio.sleep(0)  # one turn of the loop: the write starts, and must not block it
        await asyncio.sleep(0)
        assert not writing.done()  # in the writer thread, waiting for the lock, not refused
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(writing, 10)
        assert logged_seqs(store) == [1, 2]
    finally:
        await store.close()


async def test_a_write_says_how_long_sqlite_took_and_its_commit(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    log = EventLog()
    try:
        await store.write([log.record(*generic(f"e{n}")) for n in range(40)])
        await store.write([log.record(*generic("small"))])
        assert logged_seqs(store) == list(range(1, 42))
        work, commit = store.last_write_ns
        assert work >= commit > 0
    finally:
        await store.close()


async def test_the_wal_is_checkpointed_in_its_own_thread_not_in_a_commit(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    log = EventLog()
    try:
        await store.write([log.record(*generic("one"))])
        assert store._checkpointing is not None  # started by the first write
        await store._checkpointing
        assert store.wal_checkpoints == 1
        await store.write([log.record(*generic("two"))])
        assert store._checkpointing is None  # not again within CHECKPOINT_EVERY_S
        assert store._sqlite_conn is not None
        (autocheckpoint,) = store._sqlite_conn.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert autocheckpoint == 0
    finally:
        await store.close()
    assert logged_seqs(store) == [1, 2]


async def test_a_long_wal_is_copied_then_finished_while_no_commit_runs_so_it_rewinds(
    tmp_path: Path,
) -> None:
    store = await opened(tmp_path)
    store._checkpointed_at = asyncio.get_running_loop().time() + 1e9  # none by itself
    log = EventLog()
    wal = tmp_path / "harness.db-wal"
    try:
        while not wal.exists() or wal.stat().st_size < 4120 * (WAL_REWIND_FRAMES + 50):
            await store.write([log.record(*generic("x" * 200))])
        store._sqlite_lock.acquire()  # as a commit in progress would
        try:
            loop = asyncio.get_running_loop()
            checkpoint = loop.run_in_executor(store._checkpointer, store._checkpoint_wal)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert not checkpoint.done()  # its second pass waits for the commit to end
        finally:
            store._sqlite_lock.release()
        await checkpoint
        assert store.wal_rewinds == 1 and store.wal_checkpoints == 1
        await store.write([log.record(*generic("rewinds"))])  # the WAL starts over
        with sqlite3.connect(sqlite_path(store.url)) as other:
            _busy, frames, _copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert frames < 100
    finally:
        await store.close()
