"""Ingest: validate, give each event its seq, fold it, commit it in groups, then fan it out.

Every event, from the orchestrator in process or from `POST /api/events`, comes
through `Ingest.publish_many`. Seq assignment and the fold happen synchronously, so
the order is the order of arrival; a single writer task commits whatever is waiting
as one transaction (group commit) and only then dispatches it, so nothing a client
saw can be lost by a crash.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from parent_harness.events.envelope import now_iso, parse_iso, validate_payload
from parent_harness.events.rooms import event_rooms
from parent_harness.events.sink import Event, EventListener, PublishResult
from parent_harness.exceptions import InvalidEvent, StoreUnavailable
from parent_harness.hub.fanout import Hub
from parent_harness.hub.replay import ReplayWindow
from parent_harness.hub.state import State
from parent_harness.store.records import Loaded, Record
from parent_harness.store.sql import RECENT_IDS, SqlStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Draft:
    """One event as a publisher hands it in."""

    type: str
    payload: Mapping[str, Any]
    id: str | None = None


class Ingest:
    """The one write path: an EventSink for in-process producers and the REST endpoint."""

    def __init__(
        self, store: SqlStore, hub: Hub, window: ReplayWindow, *, max_batch: int = 1000
    ) -> None:
        self.store = store
        self.hub = hub
        self.window = window
        self.state = State()
        self.epoch = ""
        self.first_seq = 1
        self.max_batch = max_batch
        self.listeners: list[EventListener] = []
        self._queue: list[tuple[Record, asyncio.Future[None] | None]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._ids: dict[str, int] = {}
        self._ids_complete = True
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self.commits = 0
        self.committed = 0

    @property
    def waiting(self) -> int:
        """Events given a seq but not yet committed."""
        return len(self._queue)

    @property
    def seq(self) -> int:
        """The last seq given out (folded into state; committed or about to be)."""
        return self.state.seq

    async def start(self) -> None:
        """Reads the store back and starts the writer."""
        self._restore(await self.store.open())
        self._writer = asyncio.create_task(self._write_loop(), name="ingest-writer")

    def _restore(self, loaded: Loaded) -> None:
        self.state = State()
        for kind, rows in loaded.entities.items():
            self.state.load(kind, rows)
        self.state.seq = loaded.seq
        self.hub.seq = loaded.seq
        self.epoch = loaded.epoch
        self.first_seq = loaded.first_seq
        self.window.clear()
        self._ids = dict(reversed(loaded.recent_ids.items()))
        self._ids_complete = len(loaded.recent_ids) < RECENT_IDS
        self.window.extend(loaded.recent)

    async def stop(self) -> None:
        """Commits what is waiting, then stops the writer."""
        if self._writer is None:
            return
        try:
            await self.flushed()
        except StoreUnavailable:
            log.warning("stopping with events the store could not commit")
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None

    async def flushed(self) -> None:
        """Returns once everything published so far is committed and dispatched."""
        if self._queue:
            await asyncio.shield(self._tail_future())

    def add_listener(self, fn: EventListener) -> None:
        self.listeners.append(fn)

    def remove_listener(self, fn: EventListener) -> None:
        if fn in self.listeners:
            self.listeners.remove(fn)

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        """Publishes one event; returns once it is committed (an EventSink)."""
        (result,) = await self.publish_many([Draft(type, payload, id)])
        return result

    async def publish_many(self, drafts: Sequence[Draft]) -> list[PublishResult]:
        """Validates every event first (all or none), then orders, folds and commits them.

        Returns once all of them are committed; a repeated `id` gets its first seq back.
        """
        checked = [_checked(n, d) for n, d in enumerate(drafts)]
        known = await self._known(drafts)
        results: list[PublishResult] = []
        waits: list[asyncio.Future[None]] = []
        for draft, payload in zip(drafts, checked, strict=True):
            seq = self._ids.get(draft.id) or known.get(draft.id) if draft.id else None
            if draft.id and seq:
                results.append(PublishResult(draft.id, seq, duplicate=True))
                if draft.id in self._inflight:
                    waits.append(self._inflight[draft.id])
                continue
            results.append(self._enqueue(draft, payload))
        if len(results) > len(waits) and self._queue:
            waits.append(self._tail_future())
        for fut in waits:
            await asyncio.shield(fut)
        return results

    async def _known(self, drafts: Sequence[Draft]) -> dict[str, int]:
        if self._ids_complete:
            return {}
        unknown = [d.id for d in drafts if d.id and d.id not in self._ids]
        return await self.store.known_ids(unknown) if unknown else {}

    def _enqueue(self, draft: Draft, payload: dict[str, Any]) -> PublishResult:
        seq = self.state.seq + 1
        ts = now_iso()
        folded = self.state.fold(draft.type, payload, seq, ts)
        event_id = draft.id or uuid.uuid4().hex
        message = {"type": draft.type, "seq": seq, "payload": folded.payload, "timestamp": ts}
        level = folded.payload["event"]["level"] if draft.type == "event" else None
        record = Record(
            seq=seq,
            id=event_id,
            type=draft.type,
            ts=ts,
            ts_ms=int(parse_iso(ts).timestamp() * 1000),
            level=level,
            body=orjson.dumps(message),
            rooms=event_rooms(draft.type, folded.payload),
            payload=folded.payload,
            changes=folded.changes,
        )
        self._ids[event_id] = seq
        self._queue.append((record, None))
        if draft.id:
            self._inflight[draft.id] = self._tail_future()
        self._wake.set()
        return PublishResult(event_id, seq)

    def _tail_future(self) -> asyncio.Future[None]:
        record, fut = self._queue[-1]
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._queue[-1] = (record, fut)
        return fut

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[Record, asyncio.Future[None] | None]]) -> None:
        records = [r for r, _ in batch]
        try:
            await self.store.write(records)
        except Exception as exc:
            log.exception("store write failed; %d events not acknowledged", len(records))
            await self._recover(batch, exc)
            return
        self.commits += 1
        self.committed += len(records)
        self.window.extend((r.seq, r.type, r.body, r.rooms) for r in records)
        self._notify(records)
        self.hub.dispatch(records)
        self._trim_ids(records)
        for _, fut in batch:
            if fut is not None and not fut.done():
                fut.set_result(None)

    def _notify(self, records: list[Record]) -> None:
        for fn in self.listeners:
            for r in records:
                try:
                    fn(Event(r.seq, r.type, r.payload, r.ts, r.rooms))
                except Exception:
                    log.exception("event listener %r failed on seq %d", fn, r.seq)

    def _trim_ids(self, records: list[Record]) -> None:
        for r in records:
            self._inflight.pop(r.id, None)
        while len(self._ids) > RECENT_IDS:
            del self._ids[next(iter(self._ids))]
            self._ids_complete = False

    async def _recover(
        self, batch: list[tuple[Record, asyncio.Future[None] | None]], exc: Exception
    ) -> None:
        """A failed commit: nothing of it, nor of what waits behind it, was acknowledged.

        State had folded those events, so it is read back from the store, which is the truth.
        """
        waiting = batch + self._queue
        self._queue = []
        error = StoreUnavailable(f"the store could not commit: {exc}")
        for _, fut in waiting:
            if fut is not None and not fut.done():
                fut.set_exception(error)
        self._inflight.clear()
        try:
            self._restore(await self.store.open())
        except Exception:
            log.exception("store still unavailable; state kept as folded")


def _checked(index: int, draft: Draft) -> dict[str, Any]:
    try:
        return validate_payload(draft.type, draft.payload)
    except InvalidEvent as exc:
        raise InvalidEvent(exc.field, exc.message, index=index) from None
