"""A Node wires one hub together: the store, the ingest, the local fan-out and the replay window.

Positions in the log (`Node.positions`), and which edge reports which:

- **appended**: the last seq the order gave and this node folded into `state`. It runs
  ahead of the store; only producers in process see it (they must see what they just
  published). `replay_gap` names it when a client's `since` is ahead of the log.
- **committed**: the last seq in the store and dispatched to this node's clients, in one
  step (the ingest's `_advance`), so committed and dispatched are one position on a node.
  `Node.seq` is it, and every edge a client sees reports it: the welcome's `seq`, a
  snapshot's `seq` (live events follow from it), REST answers built from state, `/api/health`'s
  `seq`, `/metrics`' `harness_seq`.

REST lists read from the store report the store's own last event, read in the same
transaction as their rows: on a cluster it can be ahead of this node's committed position
by the events another node wrote and this one has not yet dispatched.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from parent_harness import __version__
from parent_harness.brokers import open_broker
from parent_harness.events.clock import now_iso
from parent_harness.events.rooms import ALL, NOT_IN_ALL, reaches
from parent_harness.events.sink import EventListener, PublishResult
from parent_harness.exceptions import RowRefused
from parent_harness.hub.bundles import (
    BadBundle,
    Bundle,
    Summary,
    event_line,
    filter_rooms,
    fold_bundle,
    header,
    line,
)
from parent_harness.hub.fanout import Hub
from parent_harness.hub.history import (
    CHECKPOINT_EVERY,
    Checkpoints,
    Retention,
    encode_state,
    state_at,
)
from parent_harness.hub.ingest import Draft, Ingest
from parent_harness.hub.replay import ReplayItem, ReplayWindow
from parent_harness.hub.stages import Stages
from parent_harness.hub.state import ACTIVE_SESSION, ACTIVE_TASK, State
from parent_harness.protocol.types import TypeFilter
from parent_harness.store.output import OutputRetention
from parent_harness.store.sql import SqlStore

SNAPSHOT_RECENT_TASKS = 200
SNAPSHOT_RECENT_SESSIONS = 100
SNAPSHOT_RECENT_WORKSPACES = 100
EXPORT_PAGE = 1000
"""Events read from the store per query while a bundle is exported."""
LIVE_WORKSPACE = frozenset({"active", "ready", "conflict", "error"})
"""Workspaces that still hold a worktree someone may look at, merge or discard."""


log = logging.getLogger(__name__)


class ImportRefused(Exception):
    """An import this node cannot take: `code` is `not_empty` (its log holds something) or
    `cluster` (its broker orders a log other nodes share)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Positions:
    """Where this node is in the log (see the module docstring)."""

    appended: int
    committed: int


class Node:
    """One hub process: publish into it, subscribe to it, ask it for state and history."""

    def __init__(
        self,
        store_url: str,
        *,
        broker_url: str = "memory://",
        replay_window: int = 10_000,
        output: OutputRetention | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        retention: Retention | None = None,
        prune_every_s: float = 600.0,
    ) -> None:
        self.store = SqlStore(store_url, output=output)
        self.stages = Stages()
        """Where a publish spends its time, GC pauses, event-loop lag (hub/stages.py)."""
        self.hub = Hub(stages=self.stages)
        self.window = ReplayWindow(replay_window)
        self.broker = open_broker(broker_url)
        self.checkpoints = Checkpoints(self.store, checkpoint_every)
        self.retention = retention or Retention()
        self.prune_every_s = prune_every_s
        self._pruning: asyncio.Task[None] | None = None
        self._importing = asyncio.Lock()
        self.ingest = Ingest(
            self.store,
            self.hub,
            self.window,
            self.broker,
            checkpoints=self.checkpoints,
            stages=self.stages,
        )

    async def start(self) -> None:
        self.stages.start()
        await self.ingest.start()
        await self.checkpoints.start()
        if self.retention.enabled:
            self._pruning = asyncio.create_task(self._prune_loop(), name="retention")

    async def prune(self) -> int:
        """Applies the retention limits now; the log's first seq after it."""
        now_ms = int(time.time() * 1000)
        first = await self.retention.prune(self.store, self.seq, now_ms)
        self.ingest.first_seq = max(self.ingest.first_seq, first)
        return self.ingest.first_seq

    async def _prune_loop(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:  # the next round tries again; nothing is lost meanwhile
                log.exception("could not prune the log")
            await asyncio.sleep(self.prune_every_s)

    async def stop(self) -> None:
        if self._pruning is not None:
            self._pruning.cancel()
            await asyncio.gather(self._pruning, return_exceptions=True)
        await self.ingest.stop()
        await self.checkpoints.stop()
        await self.store.close()
        self.stages.stop()

    async def state_at(self, seq: int) -> State:
        """The committed state right after event `seq` (OutOfRange past the head or before
        what the log keeps)."""
        return await state_at(self.store, seq, self.seq, self.ingest.first_seq)

    async def export_bundle(
        self, start: State, low: int, high: int, *, task: str | None, session: str | None
    ) -> AsyncIterator[bytes]:
        """The lines of a bundle of events `low` to `high` (hub/bundles.py), `start` being
        the state after `low - 1`; with `task` or `session`, only the events of its room."""
        times = [await self.store.event_time(s) for s in (low, high)]
        head = header(
            hub_version=__version__,
            exported_at=now_iso(),
            epoch=self.epoch,
            from_seq=low,
            to_seq=high,
            from_time=times[0][0] if times[0] else None,
            to_time=times[1][0] if times[1] else None,
            task=task,
            session=session,
        )
        yield line(head) + line({"state": start.dump()})
        summary = Summary(start)
        rooms, after = filter_rooms(task, session), low - 1
        while page := await self.store.events_with_ids(after, high, rooms, EXPORT_PAGE):
            chunk = []
            for seq, id_, body in page:
                ev = event_line(seq, id_, orjson.loads(body))
                summary.add(ev["event"]["type"], ev["event"]["payload"], ev["event"]["timestamp"])
                chunk.append(line(ev))
            yield b"".join(chunk)
            after = page[-1][0]
        yield line({"summary": summary.markdown(head), "events": summary.events})

    async def import_bundle(self, bundle: Bundle) -> int:
        """Loads a bundle into this node's empty log, in one transaction: its events at
        their own seqs, the state at its start as the checkpoint they follow (so the state
        at any point of it is rebuilt as on the hub it came from). Publishes are refused
        (503, retry) while it loads. ImportRefused when the log holds anything, or on a
        cluster. Returns the number of events imported."""
        if self.broker.status().get("kind") != "memory":
            raise ImportRefused(
                "cluster", "import into a single hub (memory:// broker), not a node of a cluster"
            )
        async with self._importing:
            self.ingest.paused = "a bundle is being imported"
            try:
                if self.ingest.state.seq or not await self.store.is_empty():
                    raise ImportRefused(
                        "not_empty", f"this hub's log is not empty (it ends at seq {self.seq})"
                    )
                await self._load_bundle(bundle)
            finally:
                self.ingest.paused = None
        return len(bundle.events)

    async def _load_bundle(self, bundle: Bundle) -> None:
        start = bundle.start.dump()
        records = await asyncio.to_thread(fold_bundle, bundle)
        checkpoint = None
        if bundle.start_seq > 0:
            ts_ms = bundle.events[0].ts_ms if bundle.events else int(time.time() * 1000)
            checkpoint = (ts_ms, await asyncio.to_thread(encode_state, start))
        try:
            await self.store.import_log(start["tables"], bundle.start_seq, records, checkpoint)
        except (KeyError, TypeError, RowRefused) as exc:  # rows a fold would not have made
            message = f"the state at the start or the events cannot be stored ({exc!r})"
            raise BadBundle(2, message) from None
        await self.ingest.reload()
        await self.checkpoints.start()

    @property
    def seq(self) -> int:
        """The committed position: what every client-facing edge reports."""
        return self.hub.seq

    @property
    def positions(self) -> Positions:
        return Positions(appended=self.ingest.appended_seq, committed=self.hub.seq)

    @property
    def state(self) -> State:
        """Folded up to the last seq given: may hold events not yet in the store."""
        return self.ingest.state

    @property
    def committed_state(self) -> State:
        """As of the last committed and dispatched seq: what clients are shown."""
        return self.ingest.committed_state

    @property
    def epoch(self) -> str:
        return self.ingest.epoch

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        """Publishes one event in process (an EventSink); returns once it is committed."""
        return await self.ingest.publish(type, payload, id=id)

    async def publish_many(self, drafts: list[Draft]) -> list[PublishResult]:
        return await self.ingest.publish_many(drafts)

    def add_listener(self, fn: EventListener) -> None:
        self.ingest.add_listener(fn)

    def remove_listener(self, fn: EventListener) -> None:
        self.ingest.remove_listener(fn)

    def snapshot(self) -> dict[str, Any]:
        """Committed state: every agent, active and recent tasks and sessions, the budget,
        as of `seq`, the last event dispatched (attach live clients after it)."""
        return snapshot_of(self.committed_state, self.epoch)

    async def catch_up(self, seq: int, timeout_s: float = 3.0) -> None:
        """On a shared order (Redis), waits a moment for this node to reach `seq`.

        A client failing over from a node that was a little ahead must not get a `reset`
        only because this node's reader is a few events behind.
        """
        if seq <= self.ingest.appended_seq or not self.broker.capabilities.shared_order:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ingest.until_committed(seq), timeout_s)

    def replay_gap(self, since: int, epoch: str | None) -> str | None:
        """Why a replay from `since` cannot be complete, or None when it can."""
        if epoch is not None and epoch != self.epoch:
            return f"epoch {epoch!r} is not this log's ({self.epoch!r}): its history is gone"
        if since > self.ingest.appended_seq:
            return f"since={since} is ahead of this log (last seq {self.ingest.appended_seq})"
        if since + 1 < self.ingest.first_seq:
            return f"history before seq {self.ingest.first_seq} is gone"
        return None

    async def history_pages(
        self, after: int, upto: int, rooms: Iterable[str], types: TypeFilter | None, *, page: int
    ) -> AsyncIterator[list[ReplayItem]]:
        """Events of `rooms` with after < seq <= upto, in order, in pages of at most `page`.

        Each page is read when the one before has been taken: from memory while the window
        still holds it, else from the store, `page` rows a query. A replay holds one page,
        never the whole history (a client that asked for everything and stopped reading
        held all of it).
        """
        asked = frozenset(rooms)
        wanted = None if ALL in asked else asked
        while after < upto:
            found, after = await self._history_page(after, upto, wanted, page)
            if wanted is None:
                found = [i for i in found if i[1] not in NOT_IN_ALL or reaches(i[1], i[3], asked)]
            if types is not None:
                found = [i for i in found if types(i[1])]
            if found:
                yield found

    async def _history_page(
        self, after: int, upto: int, wanted: frozenset[str] | None, page: int
    ) -> tuple[list[ReplayItem], int]:
        """The events of `wanted` rooms (None: every room) among the next `page` after `after`,
        and the seq the next page starts after."""
        if self.window.covers(after):
            items = self.window.since(after, upto, page)
            found = items if wanted is None else [i for i in items if not wanted.isdisjoint(i[3])]
        else:
            items = found = await self.store.replay(
                None, after=after, upto=upto, rooms=wanted, limit=page
            )
        return found, upto if len(items) < page else items[-1][0]


def snapshot_of(state: State, epoch: str) -> dict[str, Any]:
    """A state as a snapshot: every agent, active and recent tasks and sessions, the budget,
    the count of tasks by status, as of `state.seq`."""
    return {
        "seq": state.seq,
        "epoch": epoch,
        "agents": list(state.agents.values()),
        "tasks": _active_and_recent(state.tasks, ACTIVE_TASK, SNAPSHOT_RECENT_TASKS),
        "sessions": _active_and_recent(state.sessions, ACTIVE_SESSION, SNAPSHOT_RECENT_SESSIONS),
        "workspaces": _active_and_recent(
            state.workspaces, LIVE_WORKSPACE, SNAPSHOT_RECENT_WORKSPACES
        ),
        "budget": state.budget,
        "task_counts": dict(Counter(t["status"] for t in state.tasks.values())),
        "approvals": [a for a in state.approvals.values() if a.get("status") == "pending"],
        "workers": list(state.workers.values()),
    }


def _active_and_recent(
    entities: dict[str, dict[str, Any]], active: frozenset[str], recent: int
) -> list[dict[str, Any]]:
    """Active entities, plus the `recent` most recently updated others."""
    live = [e for e in entities.values() if e.get("status") in active]
    done = (e for e in entities.values() if e.get("status") not in active)
    return live + heapq.nlargest(recent, done, key=_recency)


def _recency(entity: dict[str, Any]) -> str:
    return str(
        entity.get("updated_at")
        or entity.get("ended_at")
        or entity.get("started_at")
        or entity.get("created_at")
        or ""
    )
