"""Ingest: validate, order (broker), fold, commit in groups, then fan out.

Every event, from the orchestrator in process or from `POST /api/events`, comes
through `Ingest.publish_many`. The broker gives each event its seq and delivers the
whole order back to every node, which folds it into state. Each event is written to
the store once, by the node that appended it: a single writer task commits whatever
this node appended and is waiting as one transaction (group commit), then confirms
it to the other nodes. A node dispatches events to its clients in seq order, each
once it is in the store (written here, or confirmed by its origin), so nothing a
client saw can be lost by a crash. The same holds for state: `state` is folded when an
event arrives, ahead of the store; `committed_state` takes each event's rows as it is
dispatched, in the same step, so a snapshot of it at `committed_seq` (the hub's seq) is
followed by exactly the events dispatched after it. An event whose origin stays silent for
`takeover_s` is written here instead (idempotently): a node killed between append
and commit delays its last events, and loses none. Publishers return once their
events are committed.

Nothing after the broker's append may refuse an event: a seq given is a seq the log holds.
So every check that can refuse one (the catalogue's rules, integer ranges, nesting depth,
encoding as JSON; the body's size is bounded before it is parsed) runs on the whole batch
first, and a refused batch leaves no trace: no seq used, no id recorded, no state changed.

A seq, once given, is never given again, and an event's place never changes. When
the store refuses a write, the writer keeps the batch and everything behind it and
writes the same rows again, with backoff, until the store takes them; nothing is
dropped or rewound. Meanwhile every publisher waiting on this node gets
StoreUnavailable (not acknowledged), new publishes are refused at once, and the
events already ordered reach the log later at their seqs, so a publisher that retries
with the same id gets its first seq back. A batch written after a failure is read back
by id: a different event at one of its seqs (another writer on the same log) stops
the writer rather than acknowledge an event the log does not hold.

No single event can stop the writer. A store refuses a batch either for being down
(retried as above) or for a row's content, which the checks above did not foresee
(RowRefused: a constraint, a value that database cannot hold). Then each event of the
batch is written on its own; one the store refuses alone, while it would take a row at that
seq (its tombstone, tried in a transaction rolled back) and refuses the event once more, is
replaced at its seq by that tombstone: a hub `event` (level error) naming the refused type,
id and reason. The log
stays gapless, everything else is committed, and the refused event's publisher gets
EventRefused (not an acknowledgement). The state folded ahead of the store keeps what the
refused event changed; committed state, snapshots and the store never had it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from parent_harness.brokers import Broker, Outgoing, Sequenced, open_broker
from parent_harness.events.catalogue import Unstorable, encode_payload
from parent_harness.events.clock import parse_iso
from parent_harness.events.envelope import validate_payload
from parent_harness.events.levels import event_level
from parent_harness.events.rooms import event_rooms
from parent_harness.events.sink import Event, EventListener, PublishResult
from parent_harness.exceptions import (
    BrokerUnavailable,
    EventRefused,
    InvalidEvent,
    RowRefused,
    StoreUnavailable,
)
from parent_harness.hub.fanout import Hub
from parent_harness.hub.history import Checkpoints
from parent_harness.hub.replay import ReplayWindow
from parent_harness.hub.state import State
from parent_harness.store.records import Loaded, Record
from parent_harness.store.sql import RECENT_IDS, SqlStore

log = logging.getLogger(__name__)

COMMIT_RETRY_FIRST_S = 0.05
COMMIT_RETRY_MAX_S = 1.0
TAKEOVER_S = 2.0
KEPT_REPEATS = 10_000
"""Repeated ids remembered as holding their own event, so a retry storm reads each once."""


@dataclass(slots=True)
class Draft:
    """One event as a publisher hands it in."""

    type: str
    payload: Mapping[str, Any]
    id: str | None = None


@dataclass(slots=True)
class Pending:
    """A folded event on its way out: it goes once its writer has it in the store."""

    record: Record
    origin: str | None
    """The node that writes it; None for this node."""
    since: float
    """Loop time it arrived here."""
    written: bool = False
    """In the store: read back from it, or written here in its origin's stead."""


class Ingest:
    """The one write path: an EventSink for in-process producers and the REST endpoint.

    It is its broker's `BrokerHandler`: the broker delivers the order to it.
    """

    def __init__(
        self,
        store: SqlStore,
        hub: Hub,
        window: ReplayWindow,
        broker: Broker | None = None,
        *,
        max_batch: int = 1000,
        publish_timeout_s: float = 30.0,
        takeover_s: float = TAKEOVER_S,
        commit_retry_max_s: float = COMMIT_RETRY_MAX_S,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.window = window
        self.broker: Broker = broker if broker is not None else open_broker("memory://")
        self.state = State()
        """Folded as each event gets its seq: ahead of the store (the write path's view)."""
        self.committed_state = State()
        """As of `committed_seq`: what clients are shown (snapshots, REST)."""
        self.epoch = ""
        self.first_seq = 1
        self.max_batch = max_batch
        self.publish_timeout_s = publish_timeout_s
        self.takeover_s = takeover_s
        self.commit_retry_max_s = commit_retry_max_s
        self.checkpoints = checkpoints
        self.listeners: list[EventListener] = []
        self.committed_seq = 0
        """Every event up to here is in the store and was dispatched on this node."""
        self.commits = 0
        self.committed = 0
        self.written = 0
        """Events this node wrote: its own, and others' it took over."""
        self.taken_over = 0
        self.store_error: str | None = None
        self.paused: str | None = None
        """Why publishes are refused for now (an import is loading); None: they are not."""
        """Why the store refuses writes, while it does; None when it takes them."""
        self.refused: dict[int, str] = {}
        """Seqs whose event the store refused for its content (a tombstone holds each),
        with the reason; kept while this process runs."""
        self._kept_repeats: set[int] = set()
        """Seqs of repeated ids found to hold their own event (not a tombstone)."""
        self._pending: deque[Pending] = deque()
        self._queue: list[Record] = []
        """This node's own events, waiting for the writer."""
        self._written_upto = 0
        self._confirmed: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._waiters: list[tuple[int, int, asyncio.Future[None], bool]] = []
        """(seq, tiebreak, future, a publisher's): a publisher's fails when a write does."""
        self._tiebreak = itertools.count()

    @property
    def waiting(self) -> int:
        """Events folded but not yet in the store (or not yet dispatched)."""
        return len(self._pending)

    @property
    def appended_seq(self) -> int:
        """The last seq appended to the order and folded here (committed or about to be)."""
        return self.state.seq

    async def start(self) -> None:
        """Reads the store back, joins the broker's order and starts the writer."""
        loaded = await self.store.open()
        self._restore(loaded)
        self.epoch = await self.broker.start(
            self,
            epoch=loaded.epoch,
            after_seq=loaded.seq,
            recent_keys=loaded.recent_ids,
            keys_complete=len(loaded.recent_ids) < RECENT_IDS,
        )
        self._writer = asyncio.create_task(self._write_loop(), name="ingest-writer")

    async def reload(self) -> None:
        """Reads the store back again and continues the order after it: once a log was
        imported into this node's empty store (hub/node.py `import_bundle`)."""
        await self.flushed()
        loaded = await self.store.open()
        self._restore(loaded)
        await self.broker.start(
            self,
            epoch=loaded.epoch,
            after_seq=loaded.seq,
            recent_keys=loaded.recent_ids,
            keys_complete=len(loaded.recent_ids) < RECENT_IDS,
        )

    def _restore(self, loaded: Loaded) -> None:
        self.state, self.committed_state = State(), State()
        for kind, rows in loaded.entities.items():
            self.state.load(kind, rows)
            self.committed_state.load(kind, rows)
        self.state.seq = self.committed_state.seq = loaded.seq
        self.committed_seq = self._written_upto = self.hub.seq = loaded.seq
        self.epoch = loaded.epoch
        self.first_seq = loaded.first_seq
        self.window.clear()
        self.window.extend(loaded.recent)

    async def stop(self) -> None:
        """Commits what is waiting, then stops the writer and leaves the broker."""
        if self._writer is None:
            return
        try:
            if not self._writer.done():  # else nothing will commit them
                await asyncio.wait_for(self.flushed(), self.publish_timeout_s)
        except TimeoutError:
            log.warning("stopping with events the store could not commit")
        await self.broker.stop()
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None

    async def flushed(self) -> None:
        """Returns once everything folded so far is committed and dispatched."""
        await self.until_committed(self.state.seq)

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
        Raises InvalidEvent (nothing kept) or StoreUnavailable (nothing acknowledged).
        """
        outgoing = [Outgoing(d.type, _checked(n, d), d.id) for n, d in enumerate(drafts)]
        self._refuse_while_failing()
        appended = await self.broker.append(outgoing)
        if appended:
            self._refuse_while_failing()
            try:
                async with asyncio.timeout(self.publish_timeout_s):  # no task per call
                    await self.until_committed(max(a.seq for a in appended), publisher=True)
            except TimeoutError:
                raise StoreUnavailable(
                    f"not committed within {self.publish_timeout_s:g} s; retry with the same id"
                ) from None
            await self._recall_refused(appended)
            if self.refused and any(a.seq in self.refused for a in appended):
                raise self._event_refused(appended)
        return [PublishResult(a.id, a.seq, a.duplicate) for a in appended]

    async def _recall_refused(self, appended: Sequence[Any]) -> None:
        """A repeated id whose seq holds its tombstone was refused, also when it was
        refused before this process started (or on another node): its retry is answered
        as refused again, never acknowledged. Only repeated ids are read back."""
        for a in appended:
            if not a.duplicate or a.seq in self.refused or a.seq in self._kept_repeats:
                continue
            try:
                stored = await self.store.replay(None, after=a.seq - 1, upto=a.seq)
            except Exception as exc:  # the store cannot be read: not an acknowledgement
                raise StoreUnavailable(
                    f"cannot read seq {a.seq} back ({exc}); retry with the same id"
                ) from exc
            reason = _tombstone_reason(stored[0][2], a.id) if stored else None
            if reason is None:
                if len(self._kept_repeats) >= KEPT_REPEATS:
                    self._kept_repeats.clear()
                self._kept_repeats.add(a.seq)
            else:
                self.refused[a.seq] = reason

    def _event_refused(self, appended: Sequence[Any]) -> EventRefused:
        refused: list[dict[str, object]] = []
        committed: list[dict[str, object]] = []
        for index, a in enumerate(appended):
            entry = {"index": index, "id": a.id, "seq": a.seq}
            if a.seq in self.refused:
                refused.append({**entry, "reason": self.refused[a.seq]})
            else:
                committed.append(entry)
        return EventRefused(refused, committed)

    async def known_ids(self, ids: Sequence[str]) -> dict[str, int]:
        """The seqs of the ids already in the store (for the broker)."""
        return await self.store.known_ids(ids)

    async def stored_events(self, after: int, upto: int) -> list[Sequenced]:
        """Committed events read back from the store (another node committed them)."""
        out = []
        for seq, type_, body, _rooms in await self.store.replay(None, after=after, upto=upto):
            message = orjson.loads(body)
            ts = message["timestamp"]
            ts_ms = int(parse_iso(ts).timestamp() * 1000)
            out.append(
                Sequenced(seq, f"seq-{seq}", type_, message["payload"], ts, ts_ms, stored=True)
            )
        return out

    def deliver(self, events: list[Sequenced]) -> None:
        """Folds events of the global order (in seq order); queues this node's own for the
        writer, and every one to go out once it is in the store."""
        now = asyncio.get_running_loop().time()
        for event in events:
            if event.seq <= self.state.seq:
                continue  # already folded (a broker may deliver again after a reconnect)
            record = self._fold(event)
            self._pending.append(Pending(record, event.origin, now, written=event.stored))
            if event.origin is None and not event.stored:
                self._queue.append(record)
        self._wake.set()
        self._advance()

    def on_confirmed(self, origin: str, upto: int) -> None:
        """Node `origin` has written every event it appended up to `upto`."""
        if upto > self._confirmed.get(origin, 0):
            self._confirmed[origin] = upto
            self._advance()

    def _in_store(self, pending: Pending) -> bool:
        if pending.written:
            return True
        seq = pending.record.seq
        if pending.origin is None:
            return seq <= self._written_upto
        return seq <= self._confirmed.get(pending.origin, 0)

    def _advance(self) -> None:
        """Dispatches, in seq order, every event from the head that is in the store."""
        out: list[Record] = []
        while self._pending and self._in_store(self._pending[0]):
            out.append(self._pending.popleft().record)
        if not out:
            return
        self.committed += len(out)
        self.committed_seq = out[-1].seq
        for r in out:
            self.committed_state.apply(r.seq, r.changes)
        if self.checkpoints is not None:
            self.checkpoints.after_commit(self.committed_state, out[-1].ts_ms)
        self.window.extend((r.seq, r.type, r.body, r.rooms) for r in out)
        self._notify(out)
        self.hub.dispatch(out)
        self._release(self.committed_seq)

    def _fold(self, event: Sequenced) -> Record:
        return fold_record(self.state, event)

    async def until_committed(self, seq: int, *, publisher: bool = False) -> None:
        """Returns once `seq` is committed and dispatched on this node.

        A publisher's wait raises StoreUnavailable as soon as a write fails.
        """
        if seq <= self.committed_seq:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (seq, next(self._tiebreak), fut, publisher))
        await asyncio.shield(fut)

    def _release(self, upto: int) -> None:
        while self._waiters and self._waiters[0][0] <= upto:
            fut = heapq.heappop(self._waiters)[2]
            if not fut.done():
                fut.set_result(None)

    def _fail_publishers(self, error: StoreUnavailable) -> None:
        """Every publisher waiting here is told now; their events stay in the order."""
        for _, _, fut, publisher in self._waiters:
            if publisher and not fut.done():
                fut.set_exception(error)

    def _refuse_while_failing(self) -> None:
        if self.paused is not None:
            raise StoreUnavailable(f"{self.paused}; retry later with the same id")
        if self.store_error is not None:
            raise StoreUnavailable(
                f"the store refuses writes ({self.store_error}); retry later with the same id"
            )

    async def _write_loop(self) -> None:
        while True:
            await self._next_wake()
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._write(batch)
                self._written_upto = batch[-1].seq
                self._advance()
                await self._confirm(batch[-1].seq)
            await self._take_over_silent()

    async def _next_wake(self) -> None:
        """Waits for work, or until the event at the head is due for a takeover."""
        due = self._takeover_due()
        if due is None:
            await self._wake.wait()
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(due):
                    await self._wake.wait()
        self._wake.clear()

    def _takeover_due(self) -> float | None:
        """Seconds until the head's origin counts as silent; None when the head is not
        another node's."""
        if not self._pending or self._pending[0].origin is None:
            return None
        head = self._pending[0]
        return max(0.0, head.since + self.takeover_s - asyncio.get_running_loop().time())

    async def _take_over_silent(self) -> None:
        """Writes here the events of an origin that has not confirmed the head in time."""
        due = self._takeover_due()
        if due is None or due > 0 or self._in_store(self._pending[0]):
            return
        silent = self._pending[0].origin
        taken = [p for p in self._pending if p.origin == silent and not self._in_store(p)]
        log.warning(
            "node %s has not confirmed seq %d..%d within %g s: writing %d events here",
            silent,
            taken[0].record.seq,
            taken[-1].record.seq,
            self.takeover_s,
            len(taken),
        )
        await self._write([p.record for p in taken])
        for p in taken:
            p.written = True
        self.taken_over += len(taken)
        self._advance()

    async def _confirm(self, upto: int) -> None:
        try:
            await self.broker.confirm(upto)
        except BrokerUnavailable as exc:  # the others take over after takeover_s
            log.warning("could not confirm seq %d to the other nodes: %s", upto, exc)

    async def _write(self, batch: list[Record]) -> None:
        """Writes a batch; when the store refuses it, writes the same rows again (with
        backoff) until it takes them."""
        delay = COMMIT_RETRY_FIRST_S
        isolated = False
        while True:
            try:
                await self.store.write(batch)
                if self.store_error is not None:
                    await self._check_landed(batch)
                break
            except _OtherEventAtSeq:
                raise
            except RowRefused as exc:
                if isolated:  # refused even with tombstones: the store is at fault
                    self._refused(batch, exc)
                else:  # a row's content: find the event, then write the rest
                    try:
                        batch[:] = await self._isolate(batch)
                    except Exception as down:  # the store went down meanwhile
                        self._refused(batch, down)
                    else:
                        isolated = True
                        continue
            except Exception as exc:
                self._refused(batch, exc)
            await asyncio.sleep(delay)  # backoff: the store is down or full
            delay = min(self.commit_retry_max_s, delay * 2)
        if self.store_error is not None:
            log.warning("the store takes writes again (from seq %d)", batch[0].seq)
            self.store_error = None
        self.commits += 1
        self.written += len(batch)

    async def _isolate(self, batch: list[Record]) -> list[Record]:
        """The store refused `batch` for a row's content: each event is written on its own
        (the batch is written again whole after, idempotently). One the store refuses alone
        is replaced by its tombstone, here and on its way out, only when the store would take
        a row at that seq (its tombstone, in a transaction rolled back) and then refuses the
        event once more: a store that refuses every row, or that comes back meanwhile, is
        not mistaken for one refusing this event. A store that refuses the tombstone too is
        treated as down: that raises."""
        out = []
        for record in batch:
            if record.seq not in self.refused:
                try:
                    await self.store.write([record])
                except RowRefused:
                    reason_of = await self._refused_alone(record)
                    if reason_of is not None:
                        tombstone = _tombstone(record, reason_of)
                        await self.store.write([tombstone])
                        self._replace(record, tombstone, reason_of)
                        record = tombstone
            out.append(record)
        return out

    async def _refused_alone(self, record: Record) -> str | None:
        """Why the store refuses `record` while it takes its tombstone; None when, tried
        again, it takes the record (written then)."""
        await self.store.write([_tombstone(record, "")], dry_run=True)  # raises: it is down
        try:
            await self.store.write([record])
        except RowRefused as exc:
            return str(exc)[:500]
        return None

    def _replace(self, record: Record, tombstone: Record, reason: str) -> None:
        self.refused[record.seq] = reason
        log.error("the store refused seq %d (%s): %s", record.seq, record.type, reason)
        for pending in self._pending:
            if pending.record is record:
                pending.record = tombstone

    def _refused(self, batch: list[Record], exc: Exception) -> None:
        first = self.store_error is None
        self.store_error = f"{type(exc).__name__}: {exc}"
        if first:
            log.exception("store write of seq %d..%d failed", batch[0].seq, batch[-1].seq)
        self._fail_publishers(
            StoreUnavailable(
                f"the store could not commit seq {batch[0].seq}..{batch[-1].seq}: "
                f"{self.store_error}; retry with the same id"
            )
        )

    async def _check_landed(self, batch: list[Record]) -> None:
        """After a failure, the rows written are read back by id: on a conflict the insert
        skips a row, and it must be this event, not another one at the same seq."""
        found = await self.store.known_ids([r.id for r in batch])
        other = [r.seq for r in batch if found.get(r.id) != r.seq]
        if other:
            self.store_error = f"seq {other[0]}..{other[-1]} of the log hold other events"
            log.critical("%s: another writer shares this log; not writing", self.store_error)
            raise _OtherEventAtSeq(self.store_error)

    def _notify(self, records: list[Record]) -> None:
        for fn in self.listeners:
            for r in records:
                try:
                    fn(Event(r.seq, r.type, r.payload, r.ts, r.rooms))
                except Exception:
                    log.exception("event listener %r failed on seq %d", fn, r.seq)


def _tombstone_reason(body: bytes, id: str) -> str | None:
    """The store's reason when `body` is the tombstone of the event `id`, else None."""
    message = orjson.loads(body)
    event = (
        (message.get("payload") or {}).get("event") or {} if message.get("type") == "event" else {}
    )
    if event.get("source") != "hub":
        return None
    data = event.get("data") or {}
    refused = data.get("refused") if isinstance(data, dict) else None
    if not isinstance(refused, dict) or refused.get("id") != id:
        return None
    return str(refused.get("reason") or "")


def _tombstone(record: Record, reason: str) -> Record:
    """What the log holds at `record`'s seq when the store refused it: a hub `event`
    (level error) naming the refused event's type, id and the store's reason."""
    refused = {"type": record.type, "id": record.id, "reason": reason}
    payload: dict[str, Any] = {
        "event": {
            "level": "error",
            "source": "hub",
            "message": f"the store refused a {record.type} event at seq {record.seq}",
            "data": {"refused": refused},
        }
    }
    message = {"type": "event", "seq": record.seq, "payload": payload, "timestamp": record.ts}
    return Record(
        seq=record.seq,
        id=record.id,
        type="event",
        ts=record.ts,
        ts_ms=record.ts_ms,
        level="error",
        body=orjson.dumps(message),
        rooms=event_rooms("event", payload),
        payload=payload,
    )


class _OtherEventAtSeq(Exception):
    """The log holds another event at a seq this node gave: writing on would lose it."""


def _checked(index: int, draft: Draft) -> dict[str, Any]:
    """The payload's fields as sent, once it is known that the hub can keep it: by the
    catalogue's rules, and as JSON (depth, integers, Unicode), so that nothing after the
    broker's append can refuse it."""
    try:
        payload = validate_payload(draft.type, draft.payload)
        encode_payload(draft.type, payload)
    except InvalidEvent as exc:
        raise InvalidEvent(exc.field, exc.message, index=index) from None
    except Unstorable as exc:
        field = ".".join(["payload", *map(str, exc.path)])
        raise InvalidEvent(field, exc.reason, index=index) from None
    return payload


def fold_record(state: State, event: Sequenced) -> Record:
    """Folds one ordered event into `state` and builds the Record the store writes and the
    hub sends: the whole merged entities, the level, the rooms, the wire message encoded once.
    The one way a Record is made (the contract tests build theirs with it too)."""
    folded = state.fold(event.type, event.payload, event.seq, event.ts)
    message = {
        "type": event.type,
        "seq": event.seq,
        "payload": folded.payload,
        "timestamp": event.ts,
    }
    return Record(
        seq=event.seq,
        id=event.id,
        type=event.type,
        ts=event.ts,
        ts_ms=event.ts_ms,
        level=event_level(event.type, folded.payload),
        body=orjson.dumps(message),
        rooms=event_rooms(event.type, folded.payload),
        payload=folded.payload,
        changes=folded.changes,
    )
