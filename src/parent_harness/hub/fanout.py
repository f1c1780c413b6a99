"""Fan-out: rooms, subscribers, and the synchronous write of each event batch.

What MEASURED.md showed: per-delivery cost is the kernel's `send()`, so the hub
coalesces everything pending for a subscriber into one frame and one write per
dispatched batch (natural batching), writes to each transport synchronously (no
task, no await per client), and closes a subscriber whose transport buffer passes
the bound with 4408 instead of letting it slow anyone else.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from time import perf_counter_ns
from typing import Protocol

from parent_harness.events.rooms import ALL, NOT_IN_ALL, reaches
from parent_harness.hub.stages import Stages
from parent_harness.protocol.frames import batch, text_frame
from parent_harness.protocol.types import TypeFilter
from parent_harness.store.records import Record

log = logging.getLogger(__name__)

_ids = itertools.count(1)

SMALL_ROOMS = 8
"""A subscriber's rooms are a tuple up to this many, a set past it. Most clients are in one
room: a tuple of one weighs 48 bytes, a set 216, on every idle connection. Looking a room up
in a tuple of a few is as quick as in a set; past a few, a set keeps joins and the per-event
room check O(1) (a tuple grown room by room made 20 joins of 1,000 rooms take seconds)."""


class Transport(Protocol):
    """The part of an asyncio transport the fan-out uses."""

    def write(self, data: bytes) -> None: ...
    def abort(self) -> None: ...
    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...


class Subscriber:
    """One connected client as the hub sees it: its rooms, filter, and what is pending."""

    __slots__ = (
        "closed",
        "flushed_seq",
        "held",
        "id",
        "last_seq",
        "max_buffer",
        "name",
        "on_slow",
        "pending",
        "pinged",
        "rooms",
        "transport",
        "types",
    )

    def __init__(
        self,
        transport: Transport,
        *,
        name: str | None = None,
        types: TypeFilter | None = None,
        max_buffer: int = 4 * 1024 * 1024,
        on_slow: Callable[[Subscriber], None] | None = None,
    ) -> None:
        self.id = f"c{next(_ids)}"
        self.name = name
        self.transport = transport
        self.types = types
        self.rooms: tuple[str, ...] | set[str] = ()  # see SMALL_ROOMS
        self.last_seq = 0
        self.flushed_seq = 0
        self.pending: list[bytes] = []
        self.held = False
        self.closed = False
        self.pinged = False  # pinged, and nothing heard from it since (web/heartbeat.py)
        self.max_buffer = max_buffer
        self.on_slow = on_slow

    def send(self, message: bytes) -> None:
        """Queues one encoded message and writes everything pending now (unless held)."""
        self.pending.append(message)
        self.flush()

    def flush(self) -> None:
        """Writes what is pending as one frame; past the buffer bound, the client is too slow."""
        if self.held or self.closed or not self.pending:
            return
        if self.transport.is_closing():
            self.closed = True
            self.pending = []
            return
        data = batch(self.pending)
        self.pending = []
        self.flushed_seq = self.last_seq
        self.transport.write(text_frame(data))
        if self.transport.get_write_buffer_size() > self.max_buffer:
            self.too_slow()

    def write(self, frame: bytes) -> None:
        """Writes a frame built for several subscribers (this one has nothing pending and is
        not held); past the buffer bound, the client is too slow."""
        if self.closed:
            return
        if self.transport.is_closing():
            self.closed = True
            return
        self.flushed_seq = self.last_seq
        self.transport.write(frame)
        if self.transport.get_write_buffer_size() > self.max_buffer:
            self.too_slow()

    def too_slow(self) -> None:
        self.closed = True
        self.pending = []
        if self.on_slow is not None:
            self.on_slow(self)


class Hub:
    """The local subscribers of one node, by room, and the dispatch of committed events."""

    def __init__(self, *, max_held: int = 50_000, stages: Stages | None = None) -> None:
        self.stages = stages if stages is not None else Stages()
        self.rooms: dict[str, set[Subscriber]] = {}
        self.subscribers: set[Subscriber] = set()
        self.holding: set[Subscriber] = set()
        self.seq = 0
        self.max_held = max_held
        self.deliveries = 0

    def attach(self, sub: Subscriber, rooms: Iterable[str], *, after_seq: int) -> None:
        """Registers a subscriber; it receives events with seq > after_seq of its rooms."""
        sub.last_seq = sub.flushed_seq = after_seq
        self.subscribers.add(sub)
        self.join(sub, rooms)

    def detach(self, sub: Subscriber) -> None:
        sub.closed = True
        self.subscribers.discard(sub)
        self.holding.discard(sub)
        self.leave(sub, sub.rooms)

    def join(self, sub: Subscriber, rooms: Iterable[str]) -> None:
        """Adds rooms to a subscriber: O(rooms joined), whatever it is in already."""
        joining = tuple(rooms)
        held = sub.rooms
        if isinstance(held, set):
            held.update(joining)
        else:  # at most SMALL_ROOMS: merging them costs no more than the rooms joined
            merged = dict.fromkeys((*held, *joining))
            sub.rooms = tuple(merged) if len(merged) <= SMALL_ROOMS else set(merged)
        for room in joining:
            members = self.rooms.get(room)
            if members is None:
                self.rooms[room] = {sub}
            else:
                members.add(sub)

    def leave(self, sub: Subscriber, rooms: Iterable[str]) -> None:
        """Removes rooms from a subscriber: O(rooms left), whatever it is in."""
        leaving = set(rooms)
        held = sub.rooms
        if isinstance(held, set):
            held.difference_update(leaving)
            if len(held) <= SMALL_ROOMS:
                sub.rooms = tuple(held)
        else:
            sub.rooms = tuple(r for r in held if r not in leaving)
        for room in leaving:
            members = self.rooms.get(room)
            if members is not None:
                members.discard(sub)
                if not members:
                    del self.rooms[room]

    def room_counts(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """Clients per room: every occupied room, or the rooms named (0 when empty)."""
        if names is None:
            return {room: len(members) for room, members in sorted(self.rooms.items())}
        return {room: len(self.rooms.get(room, ())) for room in names}

    def dispatch(self, records: Sequence[Record]) -> None:
        """Queues each committed event for its rooms' subscribers, then one write per subscriber.

        Most subscribers are in one room, with no type filter and nothing pending: each of
        those gets everything its room has in the batch, so the room's frame is built once
        and the same bytes are written to every one of them (building a frame per client
        copied the batch once per client). The others take the events one by one.
        """
        if not records:
            return
        started = perf_counter_ns()
        wide = list(records)
        if any(r.type in NOT_IN_ALL for r in records):
            wide = [r for r in records if r.type not in NOT_IN_ALL]
        by_room: dict[str, list[Record]] = {ALL: wide} if wide else {}
        for record in records:
            for room in record.rooms:
                found = by_room.get(room)
                if found is None:
                    by_room[room] = [record]
                else:
                    found.append(record)
        others: dict[Subscriber, None] = {}
        delivered = writes = 0
        for room, recs in by_room.items():
            members = self.rooms.get(room)
            if not members:
                continue
            first, last = recs[0].seq, recs[-1].seq
            frame: bytes | None = None
            for sub in members:
                if sub.last_seq >= last:
                    continue
                if (
                    sub.types is not None
                    or sub.held
                    or sub.pending
                    or len(sub.rooms) > 1
                    or sub.last_seq >= first
                ):
                    others[sub] = None
                    continue
                if frame is None:
                    frame = text_frame(batch([r.body for r in recs]))
                sub.last_seq = last
                delivered += len(recs)
                writes += 1
                sub.write(frame)
        if others:
            delivered += self._dispatch_each(records, others)
            writes += len(others)
        self.seq = records[-1].seq
        self.deliveries += delivered
        took = perf_counter_ns() - started
        self.stages.dispatch.observe(took)
        if writes:
            self.stages.socket_write.observe(took // writes)
        for sub in [s for s in self.holding if len(s.pending) > self.max_held]:
            self.release(sub)
            sub.too_slow()

    @staticmethod
    def _dispatch_each(records: Sequence[Record], subs: Iterable[Subscriber]) -> int:
        """Event by event, in seq order, for the subscribers a room's shared frame does not
        fit (several rooms, a type filter, held, or partly served already)."""
        delivered = 0
        for sub in subs:
            had_pending = bool(sub.pending)
            for record in records:
                if sub.last_seq >= record.seq or (
                    sub.types is not None and not sub.types(record.type)
                ):
                    continue
                if reaches(record.type, record.rooms, sub.rooms):
                    sub.last_seq = record.seq
                    sub.pending.append(record.body)
                    delivered += 1
            if not had_pending:
                sub.flush()
        return delivered

    def hold(self, sub: Subscriber) -> None:
        """Keeps a subscriber's live events pending (not written) while it is being replayed to."""
        sub.held = True
        self.holding.add(sub)

    def release(self, sub: Subscriber) -> None:
        """Ends a hold: what was kept pending goes out in one write."""
        sub.held = False
        self.holding.discard(sub)
        sub.flush()
