"""The fleet as it was after any event: checkpoints of folded state plus the events since.

Every `every` committed events, the ingest hands its committed state here; its tables are
copied at once (entities are never changed in place, so copying the tables is enough) and
encoded and written in the background, one checkpoint at a time, without holding up the
write path. The state after event N is the newest checkpoint at or before N, with the
events after it read back from the log and folded again by `State.fold`: the same fold that
builds live state, not a second implementation.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any

import orjson

from parent_harness.hub.state import State
from parent_harness.store.sql import SqlStore

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 10_000
"""Events between checkpoints: the most a state at a point folds again."""


class OutOfRange(ValueError):
    """A point the log cannot answer for (beyond its head, before its first event)."""


class Checkpoints:
    """Takes checkpoints of committed state as the log grows (see the module docstring)."""

    def __init__(self, store: SqlStore, every: int = CHECKPOINT_EVERY) -> None:
        if every < 1:
            raise ValueError("checkpoints are taken every 1 event or more")
        self.store = store
        self.every = every
        self.taken = 0
        self.last_seq = 0
        self._task: asyncio.Task[None] | None = None
        self._due: tuple[int, int, dict[str, Any]] | None = None

    async def start(self) -> None:
        """Reads back where the last checkpoint is."""
        self.last_seq = await self.store.last_checkpoint()

    def after_commit(self, state: State, ts_ms: int) -> None:
        """The ingest committed up to `state.seq` (at `ts_ms`): a checkpoint when due."""
        if state.seq - self.last_seq < self.every:
            return
        self.last_seq = state.seq
        self._due = (state.seq, ts_ms, state.dump())  # the newest wins if one is writing
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="checkpoint")

    async def _write(self) -> None:
        while self._due is not None:
            seq, ts_ms, dumped = self._due
            self._due = None
            try:
                data = await asyncio.to_thread(encode_state, dumped)
                await self.store.write_checkpoint(seq, ts_ms, data)
                self.taken += 1
            except Exception:  # a missed checkpoint costs a longer fold, never an event
                log.exception("could not keep the checkpoint at seq %d", seq)

    async def stop(self) -> None:
        """Waits for the checkpoint being written."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def encode_state(dumped: dict[str, Any]) -> bytes:
    """A checkpoint's data: a `State.dump()`, compressed."""
    return zlib.compress(orjson.dumps(dumped), 1)


def decode(data: bytes) -> State:
    """A checkpoint's state."""
    return State.restore(orjson.loads(zlib.decompress(data)))


async def state_at(store: SqlStore, seq: int, head: int, first_seq: int = 1) -> State:
    """The committed state right after event `seq` (0: before any), `head` being the last
    committed seq; OutOfRange outside what the log holds."""
    if seq < 0 or seq > head:
        raise OutOfRange(f"seq {seq} is beyond the log, which ends at seq {head}")
    if first_seq > 1 and seq < first_seq - 1:
        kept = await store.event_time(first_seq)
        since = f" ({kept[0]})" if kept else ""
        raise OutOfRange(
            f"seq {seq} is no longer kept: the oldest state is seq {first_seq - 1}{since}"
        )
    found = await store.checkpoint_before(seq)
    start = 0 if found is None else found[0]
    events = await store.bodies(start, seq)
    # Decoding and folding take a while: in a thread, so the loop keeps serving clients.
    return await asyncio.to_thread(_rebuild, None if found is None else found[1], events, seq)


def _rebuild(checkpoint: bytes | None, events: list[tuple[int, str, str]], seq: int) -> State:
    state = State() if checkpoint is None else decode(checkpoint)
    fold, loads = state.fold, orjson.loads
    for event_seq, type_, body in events:
        message = loads(body)
        fold(type_, message["payload"], event_seq, message["timestamp"])
    state.seq = seq
    return state


class Retention:
    """Prunes the log: events older than `keep_days`, or all but the last `keep_events`
    (0: no limit), cut at a checkpoint so that every state after the cut can still be
    rebuilt; so a little more than asked may be kept, never less."""

    def __init__(self, keep_days: float = 0.0, keep_events: int = 0) -> None:
        self.keep_days = keep_days
        self.keep_events = keep_events

    @property
    def enabled(self) -> bool:
        return self.keep_days > 0 or self.keep_events > 0

    async def prune(self, store: SqlStore, head: int, now_ms: int) -> int:
        """Prunes what is past the limits; the new first seq of the log (1: nothing cut)."""
        before = int(now_ms - self.keep_days * 86_400_000) if self.keep_days > 0 else None
        upto = head - self.keep_events if self.keep_events > 0 else None
        cut = await store.retention_cut(before, upto)
        if cut > 0:
            await store.prune(cut)
            log.info("pruned the log up to seq %d (retention)", cut)
        return cut + 1
