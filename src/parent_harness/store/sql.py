"""The store on SQLAlchemy Core (async): SQLite by default, PostgreSQL for a cluster.

Writes come in batches from the ingest's group commit: one transaction per batch,
`executemany` inserts and upserts, so a busy hub commits hundreds of events at once.
On SQLite one connection writes, in the writer thread; the WAL is checkpointed in a thread
of its own (CHECKPOINT_EVERY_S).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, cast

import orjson
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Delete, Insert

from parent_harness.credentials import mask_url
from parent_harness.exceptions import RowRefused
from parent_harness.store import schema as t
from parent_harness.store.engine import (
    BUSY_TIMEOUT_MS,
    set_sqlite_pragmas,
    snapshot_reader,
    store_engine,
)
from parent_harness.store.migrate import upgrade
from parent_harness.store.output import (
    CHUNK_COLUMNS,
    OutputRetention,
    age_cutoff,
    age_statement,
    chunk_row,
    over_bound_rows,
    trim_statement,
)
from parent_harness.store.records import Loaded, Record
from parent_harness.store.urls import sqlite_path

_REFUSALS = (sqlite3.IntegrityError, sqlite3.DataError, sa_exc.IntegrityError, sa_exc.DataError)
"""What a database raises for a row's content (a constraint, a value it cannot hold), as
opposed to being down, locked or full (OperationalError): the same rows fail again."""

log = logging.getLogger(__name__)

RECENT_IDS = 100_000
RECENT_EVENTS = 10_000
IN_LIST_MAX = 5000
"""Values per IN (...) list: each is a bind parameter, and PostgreSQL takes 32767 at most."""
SCHEMA_LOCK = 0x7061_7265_6E74
"""The PostgreSQL advisory lock that serialises schema upgrades (any constant bigint)."""

CHECKPOINT_EVERY_S = 0.5
"""How often, while events are written, a PASSIVE checkpoint copies the WAL into the
database, in a thread of its own. The writing connection does none (`wal_autocheckpoint=0`):
SQLite's automatic checkpoint ran inside a COMMIT every 1,000 pages, with two fsyncs, and the
events of that batch waited for it."""
WAL_REWIND_FRAMES = 1000
"""WAL frames (pages) past which a checkpoint makes sure the WAL is rewound: SQLite's own
automatic checkpoint's bound, about 4 MB."""

_ENTITY_TABLES = {
    "agent": (t.agents, "id", ("status", "health_status")),
    "task": (
        t.tasks,
        "id",
        ("status", "priority", "agent_id", "session_id", "title", "created_at", "updated_at"),
    ),
    "session": (t.sessions, "id", ("status", "agent_id", "task_id", "started_at")),
    "test_run": (t.test_runs, "id", ("task_id", "session_id", "status")),
    "workspace": (t.workspaces, "id", ("task_id", "session_id", "status")),
    "budget": (t.budget, "period", ()),
    "approval": (t.approvals, "id", ("status", "session_id", "agent_id")),
    "worker": (t.workers, "id", ("status",)),
}
_WRITE_ORDER = (
    *_ENTITY_TABLES,
    "api_call",
    "telegram_message",
    "generic_event",
    "session_output",
)


Row = tuple[Any, ...]
T = TypeVar("T")


Query = tuple[str, Mapping[str, Any]]
"""SQL text with `:name` parameters (the same on SQLite and PostgreSQL) and its values."""
Rows = list[tuple[Any, ...]]
Transaction = Generator[Query, Rows, T]
"""Work for `SqlStore.transact`, sans I/O: it yields each query and is sent its rows (use
RETURNING for what a write changed); what it returns is the transaction's result."""


class _Step(NamedTuple):
    """One executemany of a batch's write."""

    stmt: Insert | Delete
    sql: str
    """The statement compiled for SQLite (or the store's dialect)."""
    columns: tuple[str, ...]
    """The columns of each row, in order."""
    rows: list[Row]
    permutation: tuple[int, ...] | None
    """Where each of the compiled SQL's parameters is in a row; None: in the same order."""


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqlStore:
    """The event log and state tables on one SQL database."""

    def __init__(self, url: str, *, output: OutputRetention | None = None) -> None:
        self.url = url
        self.retention = output or OutputRetention()
        self._output_pruned_at = 0.0
        self.engine: AsyncEngine = store_engine(url)
        self.dialect = self.engine.dialect.name
        self._reader = snapshot_reader(self.engine)
        self._statements: dict[tuple[str, str | None, tuple[str, ...]], Any] = {}
        """Per (table, upsert key, columns): the statement, its SQL, the rows' permutation."""
        # SQLite: one thread owns the writing connection (see _write_sqlite).
        self._sqlite_writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._sqlite_conn: sqlite3.Connection | None = None
        self._sqlite_lock = threading.Lock()
        """Held while a transaction runs on the writing connection, and by the checkpoint's
        second pass, which must see no commit (see _checkpoint_wal)."""
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Future[None] | None = None
        self._checkpointed_at = 0.0
        self.wal_checkpoints = 0
        self.wal_rewinds = 0
        self.last_write_ns = (0, 0)
        """The last SQLite write's work (statements and commit) and its COMMIT alone (ns);
        (0, 0) on PostgreSQL."""

    @property
    def description(self) -> str:
        return mask_url(self.url)

    async def open(self) -> Loaded:
        """Creates or migrates the schema, then reads back the log's position and state.

        On PostgreSQL, nodes starting together take turns: the first migrates and draws
        the epoch, the others find both done.
        """
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            await conn.run_sync(upgrade)
            epoch = await self._epoch(conn)
        async with self._reader.connect() as conn:
            return await self._load(conn, epoch)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
        if self._checkpoint_conn is not None:
            await loop.run_in_executor(self._checkpointer, self._checkpoint_conn.close)
            self._checkpoint_conn = None
        self._checkpointer.shutdown(wait=False)
        if self._sqlite_conn is not None:  # the last connection: it checkpoints the WAL
            await loop.run_in_executor(self._sqlite_writer, self._sqlite_conn.close)
            self._sqlite_conn = None
        self._sqlite_writer.shutdown(wait=False)
        await self.engine.dispose()

    async def _epoch(self, conn: AsyncConnection) -> str:
        found = await conn.scalar(select(t.meta.c.value).where(t.meta.c.key == "epoch"))
        if found:
            return str(found)
        epoch = secrets.token_hex(8)
        await conn.execute(insert(t.meta).values(key="epoch", value=epoch))
        return epoch

    async def _load(self, conn: AsyncConnection, epoch: str) -> Loaded:
        seq = await conn.scalar(select(func.max(t.events.c.seq))) or 0
        first = await conn.scalar(select(func.min(t.events.c.seq))) or seq + 1
        # The oldest state kept is the oldest checkpoint's when no event is older: after
        # an import of a task's events, which starts at its checkpoint (hub/bundles.py).
        oldest = await conn.scalar(select(func.min(t.checkpoints.c.seq)))
        if oldest is not None:
            first = min(first, int(oldest) + 1)
        entities: dict[str, list[dict[str, Any]]] = {}
        for kind, (table, _key, _cols) in _ENTITY_TABLES.items():
            query = select(table.c.data).order_by(table.c.updated_seq)
            entities[kind] = [orjson.loads(row) for row in await conn.scalars(query)]
        ids = await conn.execute(
            select(t.events.c.id, t.events.c.seq).order_by(t.events.c.seq.desc()).limit(RECENT_IDS)
        )
        recent_ids = {row.id: row.seq for row in ids}
        recent = await self.replay(conn, after=max(0, seq - RECENT_EVENTS), upto=seq)
        return Loaded(epoch, seq, first, entities, recent_ids, recent)

    async def write(self, batch: Sequence[Record], *, dry_run: bool = False) -> None:
        """Writes a batch of events and their state changes in one transaction (`dry_run`:
        rolled back, to learn whether the database would take it).

        Idempotent, so that every node of a cluster may write what it folded: an event
        already in the log is skipped, and a state row is only replaced by a newer seq.
        Rows are written in one fixed order (table, then key), so nodes writing the same
        rows at once on PostgreSQL wait for each other instead of deadlocking.
        """
        await self._execute(self._plan(batch), dry_run)

    async def _execute(self, steps: list[_Step], dry_run: bool = False) -> None:
        """Runs steps in one transaction (`dry_run`: rolled back); RowRefused for a row's
        content."""
        try:
            if self.dialect == "sqlite":
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._sqlite_writer, self._write_sqlite, steps, dry_run)
                if not dry_run:
                    self._checkpoint_soon()
                return
            async with self.engine.connect() as conn, conn.begin() as transaction:
                for step in steps:
                    rows = [dict(zip(step.columns, row, strict=True)) for row in step.rows]
                    await conn.execute(step.stmt, rows)
                if dry_run:
                    await transaction.rollback()
        except _REFUSALS as exc:
            raise RowRefused(f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc

    def _write_sqlite(self, steps: list[_Step], dry_run: bool = False) -> None:
        """The whole batch in one hop to the writer thread: with aiosqlite every statement
        was a round trip between threads. The SQL is SQLAlchemy's, compiled once."""
        with self._sqlite_lock:
            self._write_steps(self._writer_connection(), steps, dry_run)

    def _write_steps(self, conn: sqlite3.Connection, steps: list[_Step], dry_run: bool) -> None:
        """Runs a batch's statements in one transaction."""
        started = time.perf_counter_ns()
        with conn:  # one transaction: committed, or rolled back on an error
            for step in steps:
                rows, permutation = step.rows, step.permutation
                if permutation is not None:
                    rows = [tuple(row[i] for i in permutation) for row in rows]
                conn.executemany(step.sql, rows)
            if dry_run:
                conn.rollback()
            committing = time.perf_counter_ns()
        done = time.perf_counter_ns()
        self.last_write_ns = (done - started, done - committing)

    def _writer_connection(self) -> sqlite3.Connection:
        """The SQLite writing connection, opened on first use; whoever uses it holds
        `_sqlite_lock`."""
        if self._sqlite_conn is None:
            # the writer thread's; check_same_thread off only so that it can be inspected
            conn = sqlite3.connect(
                sqlite_path(self.url), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            set_sqlite_pragmas(conn, None)
            conn.execute("PRAGMA wal_autocheckpoint=0")  # see CHECKPOINT_EVERY_S
            self._sqlite_conn = conn
        return self._sqlite_conn

    def _checkpoint_soon(self) -> None:
        """Starts a PASSIVE checkpoint of the WAL in the checkpoint thread, at most one at a
        time and one every CHECKPOINT_EVERY_S while events are written. PASSIVE never waits
        for a writer or a reader, and a commit never waits for it."""
        if self._checkpointing is not None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now - self._checkpointed_at < CHECKPOINT_EVERY_S:
            return
        self._checkpointed_at = now
        self._checkpointing = loop.run_in_executor(self._checkpointer, self._checkpoint_wal)
        self._checkpointing.add_done_callback(self._checkpointed)

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = None
        if not done.cancelled() and done.exception() is not None:
            log.warning("WAL checkpoint failed: %s", done.exception())

    def _checkpoint_wal(self) -> None:
        """In the checkpoint thread, on its own connection: copies the WAL into the database
        while commits go on. The WAL is rewound (written from its start again) only by a
        commit that finds every frame copied, which commits made meanwhile prevent: past
        WAL_REWIND_FRAMES, a second pass copies the few frames written during the first while
        no commit runs (it holds the writing connection's lock), so the next commit rewinds.
        """
        conn = self._checkpoint_conn
        if conn is None:
            conn = sqlite3.connect(sqlite_path(self.url), timeout=BUSY_TIMEOUT_MS / 1000)
            set_sqlite_pragmas(conn, None)
            self._checkpoint_conn = conn
        _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= WAL_REWIND_FRAMES:
            with self._sqlite_lock:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.wal_rewinds += 1
        self.wal_checkpoints += 1

    async def _in_writer(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """SQL run in one transaction by the SQLite writer thread, so it never contends
        with the log's writes for the file's lock."""

        def run() -> None:
            with self._sqlite_lock, self._writer_connection() as conn:
                for sql, params in statements:
                    conn.execute(sql, params)

        await asyncio.get_running_loop().run_in_executor(self._sqlite_writer, run)

    async def transact(
        self, work: Callable[[str], Transaction[T]], *, read_only: bool = False
    ) -> T:
        """Runs `work(dialect)` in one transaction and returns its result: on SQLite in the
        writer thread (the one writer: it never contends with the log's writes), on
        PostgreSQL on a pooled connection. A statement that fails rolls all of it back.
        `read_only` work runs on a pooled connection on SQLite too (WAL: readers do not
        wait for the writer), so reads do not queue behind the log's batches."""
        if self.dialect == "sqlite" and not read_only:

            def run() -> T:
                with self._writer_connection() as conn:
                    steps = work(self.dialect)
                    rows: Rows | None = None
                    while True:
                        try:
                            sql, params = steps.send(rows) if rows is not None else next(steps)
                        except StopIteration as done:
                            return cast(T, done.value)
                        rows = [tuple(r) for r in conn.execute(sql, dict(params)).fetchall()]

            return await asyncio.get_running_loop().run_in_executor(self._sqlite_writer, run)
        async with self.engine.begin() as conn:
            steps = work(self.dialect)
            found: Rows | None = None
            while True:
                try:
                    sql, params = steps.send(found) if found is not None else next(steps)
                except StopIteration as done:
                    return cast(T, done.value)
                result = await conn.execute(text(sql), dict(params))
                found = [tuple(r) for r in result.fetchall()] if result.returns_rows else []

    def _plan(self, batch: Sequence[Record]) -> list[_Step]:
        """The statements of a batch, in the fixed write order, with their rows."""
        steps = [self._step(t.events, _EVENT_COLUMNS, [_event_row(r) for r in batch])]
        rooms = [(room, r.seq) for r in batch for room in r.rooms]
        if rooms:
            steps.append(self._step(t.event_rooms, ("room", "seq"), rooms))
        changes = _changes_by_table(batch)
        for kind in _WRITE_ORDER:
            if kind in changes:
                steps += self._row_steps(kind, changes[kind])
        if "session_output" in changes:
            steps += self._output_bounds(changes["session_output"])
        return steps

    def _output_bounds(self, changes: list[_Changed]) -> list[_Step]:
        """Keeps each session's last `max_bytes` of output, and drops what is too old
        (once a `prune_every_s`, with a batch that holds output)."""
        keep = self.retention
        steps = []
        trims = over_bound_rows(changes, keep.max_bytes)
        if trims:
            steps.append(self._step_of("trim_output", trim_statement(), ("sid", "upto"), trims))
        now = time.monotonic()
        if now - self._output_pruned_at >= keep.prune_every_s:
            self._output_pruned_at = now
            before = [(age_cutoff(keep.max_age_s),)]
            steps.append(self._step_of("age_output", age_statement(), ("before",), before))
        return steps

    def _step_of(
        self, name: str, stmt: Insert | Delete, columns: tuple[str, ...], rows: list[Row]
    ) -> _Step:
        """A step of a statement of its own (a delete), compiled once by `name`."""
        cache_key = (name, None, columns)
        found = self._statements.get(cache_key)
        if found is None:
            compiled = stmt.compile(dialect=self.engine.dialect)
            order = tuple(compiled.positiontup or ())
            found = (stmt, compiled.string, _permutation(columns, order))
            self._statements[cache_key] = found
        stmt, sql, permutation = found
        return _Step(stmt, sql, columns, rows, permutation)

    def _row_steps(self, kind: str, changes: list[_Changed]) -> list[_Step]:
        if kind in _ENTITY_TABLES:
            table, key, cols = _ENTITY_TABLES[kind]
            changes.sort(key=lambda change: change[1][key])
            columns = (key, *cols, "data", "updated_seq")
            rows = [_entity_row(seq, row, key, cols) for seq, row in changes]
            steps = [self._step(table, columns, rows, key)]
            if kind == "task":
                queue = [_queue_row(seq, row) for seq, row in changes]
                steps.append(self._step(t.task_queue, _QUEUE_COLUMNS, queue, "task_id"))
            return steps
        if kind == "api_call":
            return [
                self._step(t.api_calls, _API_CALL_COLUMNS, [_api_call_row(r) for _, r in changes])
            ]
        if kind == "session_output":
            rows = [chunk_row(seq, r) for seq, r in changes]
            return [self._step(t.session_output, CHUNK_COLUMNS, rows)]
        if kind == "telegram_message":
            values = sorted((_telegram_row(r) for _, r in changes), key=itemgetter(0))
            return [self._step(t.telegram_messages, _TELEGRAM_COLUMNS, values)]
        return [
            self._step(t.generic_events, _GENERIC_COLUMNS, [_generic_row(r) for _, r in changes])
        ]

    def _step(
        self,
        table: Table,
        columns: tuple[str, ...],
        rows: list[Row],
        upsert_key: str | None = None,
    ) -> _Step:
        """Inserts of rows (skipping those there), or upserts by `upsert_key`: one executemany.

        Rows are tuples of `columns`. The statement is built and compiled once per table and
        columns, and the rows go to the driver in the compiled order: SQLAlchemy's per-row
        parameter handling was a third of the write's cost, and SQLite's column types need no
        bind processing. PostgreSQL gets the rows as dicts and keeps SQLAlchemy's path (its
        bind processors map what PostgreSQL refuses, see StoredText in store/schema.py).
        """
        cache_key = (table.name, upsert_key, columns)
        found = self._statements.get(cache_key)
        if found is None:
            stmt = (
                self._upsert(table, upsert_key, columns) if upsert_key else self._insert_new(table)
            )
            compiled = stmt.compile(dialect=self.engine.dialect)
            order = tuple(compiled.positiontup or ())
            found = (stmt, compiled.string, _permutation(columns, order))
            self._statements[cache_key] = found
        stmt, sql, permutation = found
        return _Step(stmt, sql, columns, rows, permutation)

    def _dialect_insert(self, table: Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _insert_new(self, table: Table) -> Insert:
        """INSERT that skips rows already there (same key)."""
        stmt: Insert = self._dialect_insert(table).on_conflict_do_nothing()
        return stmt

    def _upsert(self, table: Table, key: str, columns: Iterable[str]) -> Insert:
        """INSERT or UPDATE by key, never replacing a row with an older `updated_seq`."""
        stmt = self._dialect_insert(table)
        updates = {c: stmt.excluded[c] for c in columns if c != key}
        newer = table.c.updated_seq < stmt.excluded.updated_seq
        upsert: Insert = stmt.on_conflict_do_update(index_elements=[key], set_=updates, where=newer)
        return upsert

    async def import_log(
        self,
        start: dict[str, list[dict[str, Any]]],
        start_seq: int,
        records: Sequence[Record],
        checkpoint: tuple[int, bytes] | None,
    ) -> None:
        """Writes an imported stretch of log in one transaction: the entities of the state
        at its start (as of `start_seq`), its events (`records`, at their own seqs) and,
        when the stretch does not start at seq 1, the checkpoint at `start_seq`
        ((ts_ms, data)) from which every later state is rebuilt."""
        steps: list[_Step] = []
        for kind in _WRITE_ORDER:
            if start.get(kind) and kind in _ENTITY_TABLES:
                steps += self._row_steps(kind, [(start_seq, row) for row in start[kind]])
        if records:
            steps += self._plan(records)
        if checkpoint is not None:
            row = (start_seq, checkpoint[0], checkpoint[1])
            steps.append(self._step(t.checkpoints, ("seq", "ts_ms", "data"), [row]))
        await self._execute(steps)

    async def is_empty(self) -> bool:
        """Whether the log holds no event and no checkpoint."""
        async with self.engine.connect() as conn:
            events = await conn.scalar(select(func.count()).select_from(t.events))
            kept = await conn.scalar(select(func.count()).select_from(t.checkpoints))
        return not events and not kept

    async def events_with_ids(
        self, after: int, upto: int, rooms: Iterable[str] | None, limit: int
    ) -> list[tuple[int, str, str]]:
        """(seq, id, encoded message) of the events after < seq <= upto (reaching one of
        `rooms`, if given), at most `limit`, in order: a page of an export."""
        query = select(t.events.c.seq, t.events.c.id, t.events.c.body).where(
            t.events.c.seq > after, t.events.c.seq <= upto
        )
        if rooms is not None:
            in_rooms = select(t.event_rooms.c.seq).where(
                t.event_rooms.c.room.in_(list(rooms)),
                t.event_rooms.c.seq > after,
                t.event_rooms.c.seq <= upto,
            )
            query = query.where(t.events.c.seq.in_(in_rooms))
        query = query.order_by(t.events.c.seq).limit(limit)
        async with self.engine.connect() as conn:
            return [(r.seq, r.id, r.body) for r in await conn.execute(query)]

    async def write_checkpoint(self, seq: int, ts_ms: int, data: bytes) -> None:
        """Keeps a checkpoint of folded state as of `seq` (one already kept is left alone).
        On SQLite it goes through the writer thread, so it never waits on the log's writes."""
        stmt = self._insert_new(t.checkpoints)
        row = {"seq": seq, "ts_ms": ts_ms, "data": data}
        if self.dialect == "sqlite":
            sql = str(stmt.compile(dialect=self.engine.dialect))
            await self._in_writer([(sql, (seq, ts_ms, data))])
            return
        async with self.engine.begin() as conn:
            await conn.execute(stmt, [row])

    async def checkpoint_before(self, seq: int) -> tuple[int, bytes] | None:
        """The newest checkpoint as of `seq` or earlier: (its seq, its data)."""
        query = (
            select(t.checkpoints.c.seq, t.checkpoints.c.data)
            .where(t.checkpoints.c.seq <= seq)
            .order_by(t.checkpoints.c.seq.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (int(row.seq), bytes(row.data))

    async def last_checkpoint(self) -> int:
        """The seq of the newest checkpoint (0: none)."""
        async with self.engine.connect() as conn:
            return int(await conn.scalar(select(func.max(t.checkpoints.c.seq))) or 0)

    async def bodies(self, after: int, upto: int) -> list[tuple[int, str, str]]:
        """(seq, type, encoded message) of the events after < seq <= upto, in order: the
        log read back to be folded again (on SQLite, read in a thread of its own)."""
        query = (
            select(t.events.c.seq, t.events.c.type, t.events.c.body)
            .where(t.events.c.seq > after, t.events.c.seq <= upto)
            .order_by(t.events.c.seq)
        )
        if self.dialect == "sqlite":
            sql = str(query.compile(dialect=self.engine.dialect))
            path = sqlite_path(self.url)

            def read() -> list[tuple[int, str, str]]:
                conn = sqlite3.connect(path, timeout=5.0)
                try:
                    return list(conn.execute(sql, (after, upto)))
                finally:
                    conn.close()

            return await asyncio.to_thread(read)
        async with self.engine.connect() as conn:
            return [(r.seq, r.type, r.body) for r in await conn.execute(query)]

    async def retention_cut(self, before_ts_ms: int | None, upto_seq: int | None) -> int:
        """The newest checkpoint taken before `before_ts_ms` or at or before `upto_seq`
        (0: none): what the log may be pruned up to, keeping every later state computable."""
        cuts = []
        for cond in (
            t.checkpoints.c.ts_ms < before_ts_ms if before_ts_ms is not None else None,
            t.checkpoints.c.seq <= upto_seq if upto_seq is not None else None,
        ):
            if cond is not None:
                query = select(func.max(t.checkpoints.c.seq)).where(cond)
                async with self.engine.connect() as conn:
                    cuts.append(int(await conn.scalar(query) or 0))
        return max(cuts, default=0)

    async def prune(self, upto: int) -> None:
        """Deletes the events up to seq `upto` and the checkpoints before it (the one at
        `upto` stays: the states after it are still computable)."""
        statements = [
            t.event_rooms.delete().where(t.event_rooms.c.seq <= upto),
            t.events.delete().where(t.events.c.seq <= upto),
            t.checkpoints.delete().where(t.checkpoints.c.seq < upto),
        ]
        if self.dialect == "sqlite":
            literal = {"literal_binds": True}
            dialect = self.engine.dialect
            compiled = [str(s.compile(dialect=dialect, compile_kwargs=literal)) for s in statements]
            await self._in_writer([(sql, ()) for sql in compiled])
            return
        async with self.engine.begin() as conn:
            for statement in statements:
                await conn.execute(statement)

    async def seq_at(self, ts_ms: int) -> int | None:
        """The last event at or before `ts_ms` (None: the log starts after it)."""
        query = select(func.max(t.events.c.seq)).where(t.events.c.ts_ms <= ts_ms)
        async with self.engine.connect() as conn:
            found = await conn.scalar(query)
        return None if found is None else int(found)

    async def event_time(self, seq: int) -> tuple[str, int] | None:
        """(ts, ts_ms) of the event at `seq`, None when the log holds none there."""
        query = select(t.events.c.ts, t.events.c.ts_ms).where(t.events.c.seq == seq)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (str(row.ts), int(row.ts_ms))

    async def known_ids(self, ids: Sequence[str]) -> dict[str, int]:
        """The seq of each of `ids` already in the log."""
        found: dict[str, int] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(ids), IN_LIST_MAX):
                chunk = list(ids[start : start + IN_LIST_MAX])
                query = select(t.events.c.id, t.events.c.seq).where(t.events.c.id.in_(chunk))
                found.update({row.id: row.seq for row in await conn.execute(query)})
        return found

    async def replay(
        self,
        conn: AsyncConnection | None,
        *,
        after: int,
        upto: int,
        rooms: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, str, bytes, tuple[str, ...]]]:
        """Events with after < seq <= upto (of `rooms`, if given), in order.

        Each is (seq, type, encoded message, rooms).
        """
        if conn is None:
            async with self.engine.connect() as own:
                return await self.replay(own, after=after, upto=upto, rooms=rooms, limit=limit)
        query = select(t.events.c.seq, t.events.c.type, t.events.c.body, t.events.c.rooms).where(
            t.events.c.seq > after, t.events.c.seq <= upto
        )
        if rooms is not None:
            in_rooms = select(t.event_rooms.c.seq).where(
                t.event_rooms.c.room.in_(list(rooms)),
                t.event_rooms.c.seq > after,
                t.event_rooms.c.seq <= upto,
            )
            query = query.where(t.events.c.seq.in_(in_rooms))
        query = query.order_by(t.events.c.seq)
        if limit is not None:
            query = query.limit(limit)
        rows = await conn.execute(query)
        return [(row.seq, row.type, row.body.encode(), _rooms(row.rooms)) for row in rows]


def _rooms(stored: str | None) -> tuple[str, ...]:
    return tuple(orjson.loads(stored)) if stored else ()


_EVENT_COLUMNS = ("seq", "id", "type", "ts", "ts_ms", "level", "body", "rooms")
_QUEUE_COLUMNS = (
    "task_id",
    "status",
    "priority",
    "attempts",
    "max_attempts",
    "not_before",
    "agent_name",
    "updated_seq",
)
_API_CALL_COLUMNS = (
    "seq",
    "session_id",
    "agent_id",
    "task_id",
    "model",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "at",
)
_TELEGRAM_COLUMNS = ("id", "seq", "direction", "chat_id", "text", "at", "about_seq")
_GENERIC_COLUMNS = ("seq", "id", "level", "source", "message", "data")

_Changed = tuple[int, dict[str, Any]]
"""A changed row and the seq of the event that changed it."""


def _permutation(columns: tuple[str, ...], order: tuple[str, ...]) -> tuple[int, ...] | None:
    """Where each parameter of the compiled order is in a row of `columns` (None: in place,
    or named parameters)."""
    if columns == order or not order:
        return None
    return tuple(columns.index(name) for name in order)


def _event_row(r: Record) -> Row:
    return (r.seq, r.id, r.type, r.ts, r.ts_ms, r.level, r.body.decode(), _dumps(r.rooms))


def _changes_by_table(batch: Sequence[Record]) -> dict[str, list[_Changed]]:
    """Groups the batch's changes by table; an entity changed twice keeps its last version."""
    grouped: dict[str, dict[Any, _Changed]] = {}
    for record in batch:
        for n, change in enumerate(record.changes):
            if change.table in _ENTITY_TABLES or change.table == "telegram_message":
                key: Any = change.row.get("period") or change.row["id"]
            else:
                key = (record.seq, n)
            rows = grouped.get(change.table)
            if rows is None:
                rows = grouped[change.table] = {}
            else:
                rows.pop(key, None)
            rows[key] = (record.seq, change.row)
    return {table: list(rows.values()) for table, rows in grouped.items()}


def _entity_row(seq: int, entity: dict[str, Any], key: str, cols: tuple[str, ...]) -> Row:
    return (entity[key], *[entity.get(c) for c in cols], _dumps(entity), seq)


def _queue_row(seq: int, row: dict[str, Any]) -> Row:
    return (
        row["id"],
        row["status"],
        row["priority"] or 0,
        row["attempts"] or 0,
        row["max_attempts"] or 1,
        row.get("not_before"),
        row.get("agent_name"),
        seq,
    )


def _api_call_row(row: dict[str, Any]) -> Row:
    return (
        row["seq"],
        row.get("session_id"),
        row.get("agent_id"),
        row.get("task_id"),
        row.get("model"),
        row.get("input"),
        row.get("output"),
        row.get("cost_usd"),
        row["at"],
    )


def _telegram_row(row: dict[str, Any]) -> Row:
    return tuple(row.get(k) for k in _TELEGRAM_COLUMNS)


def _generic_row(row: dict[str, Any]) -> Row:
    data = row.get("data")
    return (
        row["seq"],
        row["id"],
        row["level"],
        row.get("source"),
        row["message"],
        _dumps(data) if data is not None else None,
    )
