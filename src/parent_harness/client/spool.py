"""A publisher that keeps events on disk until the hub has them (issue 19).

:class:`EventSpool` is an :class:`EventSink`: `publish` appends the event, with an
idempotency id, to a small SQLite file (WAL, `synchronous=FULL`: it is on disk when
`publish` returns) and returns at once; a sender sends what the file holds, oldest first,
in batches, and deletes each batch once the hub acknowledged it. While the hub is
unreachable (no connection, a timeout, a 5xx) the sender keeps the batch and tries again
with backoff, so a network cut delays events and loses none; a resend after a lost answer
is harmless, since the hub accepts an id once. An event the hub refuses for good (a 4xx)
is logged and dropped, alone: the rest of its batch is sent one by one. The file survives
a restart of the process, and the next spool on it sends what was left.

`flush()` waits until everything appended so far is acknowledged (a worker flushes before
it releases a lease, so the hub settles a task after its last event).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from parent_harness.events.sink import PublishResult

log = logging.getLogger(__name__)

BATCH = 200


class Unreachable(Exception):
    """The hub did not answer (or answered 5xx): try the same batch again later."""


class Refused(Exception):
    """The hub refused the batch for good (4xx); `detail` says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status, self.detail = status, detail


Send = Callable[[Sequence[Mapping[str, Any]]], Awaitable[None]]
"""Sends a batch of `{type, payload, id}`; raises Unreachable or Refused."""


class EventSpool:
    """Events kept on disk and sent in order, once; see the module docstring."""

    def __init__(self, path: Path, send: Send, *, max_backoff_s: float = 5.0) -> None:
        self.path = path
        self._send = send
        self._max_backoff_s = max_backoff_s
        self._disk = ThreadPoolExecutor(1, thread_name_prefix="spool")
        self._conn: sqlite3.Connection | None = None
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._acked = asyncio.Condition()
        self._last_appended = 0
        self._last_acked = 0
        self.dropped = 0
        self.unreachable_since: float | None = None

    async def start(self) -> None:
        self._last_appended = await self._on_disk(self._open)
        self._last_acked = 0
        self._sender = asyncio.create_task(self._run(), name="spool-sender")
        self._wake.set()

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._conn is not None:
            await self._on_disk(self._conn.close)
        self._disk.shutdown(wait=False)

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        """Keeps the event on disk for sending; its seq is not known yet (0)."""
        ident = id or f"ev-{secrets.token_hex(10)}"
        body = orjson.dumps({"type": type, "payload": payload, "id": ident})
        self._last_appended = await self._on_disk(self._append, body)
        self._wake.set()
        return PublishResult(ident, 0)

    async def flush(self) -> None:
        """Returns once every event published so far is acknowledged by the hub."""
        target = self._last_appended
        async with self._acked:
            await self._acked.wait_for(lambda: self._last_acked >= target)

    async def flush_for(self, timeout_s: float) -> bool:
        """`flush`, for at most `timeout_s`; whether everything was acknowledged (what was
        not stays on disk for the next spool on this file)."""
        try:
            await asyncio.wait_for(self.flush(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def pending(self) -> int:
        """Events on disk not yet acknowledged."""
        return int(await self._on_disk(self._count))

    # -- the sender ------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            rows = await self._on_disk(self._oldest, BATCH)
            if not rows:
                await self._acknowledged(self._last_appended)
                self._wake.clear()
                if await self._on_disk(self._count):
                    continue
                await self._wake.wait()
                continue
            try:
                await self._deliver(rows)
            except Unreachable as exc:
                if self.unreachable_since is None:
                    self.unreachable_since = asyncio.get_running_loop().time()
                    log.warning("the hub is unreachable (%s): events wait on disk", exc)
                await asyncio.sleep(backoff * (0.5 + random.random()))  # a backoff, not a wait
                backoff = min(self._max_backoff_s, backoff * 2)
                continue
            if self.unreachable_since is not None:
                log.warning("the hub is back: sending the events kept on disk")
                self.unreachable_since = None
            backoff = 0.1
            await self._on_disk(self._delete_upto, rows[-1][0])
            await self._acknowledged(rows[-1][0])

    async def _deliver(self, rows: list[tuple[int, bytes]]) -> None:
        events = [orjson.loads(body) for _, body in rows]
        try:
            await self._send(events)
        except Refused:
            for event in events:  # find the refused ones; send the others, in order
                try:
                    await self._send([event])
                except Refused as exc:
                    self.dropped += 1
                    log.error("the hub refused %s %s: %s", event["type"], event["id"], exc)

    async def _acknowledged(self, rowid: int) -> None:
        async with self._acked:
            self._last_acked = max(self._last_acked, rowid)
            self._acked.notify_all()

    # -- the file (in its own thread) ------------------------------------------------------

    async def _on_disk(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._disk, fn, *args)

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS spool (n INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB)"
        )
        self._conn = conn
        last = conn.execute("SELECT max(n) FROM spool").fetchone()[0]
        return int(last or 0)

    def _append(self, body: bytes) -> int:
        assert self._conn is not None
        cursor = self._conn.execute("INSERT INTO spool (body) VALUES (?)", (body,))
        return int(cursor.lastrowid or 0)

    def _oldest(self, limit: int) -> list[tuple[int, bytes]]:
        assert self._conn is not None
        query = "SELECT n, body FROM spool ORDER BY n LIMIT ?"
        return [(int(n), bytes(body)) for n, body in self._conn.execute(query, (limit,))]

    def _delete_upto(self, n: int) -> None:
        assert self._conn is not None
        self._conn.execute("DELETE FROM spool WHERE n <= ?", (n,))

    def _count(self) -> int:
        assert self._conn is not None
        return int(self._conn.execute("SELECT count(*) FROM spool").fetchone()[0])
