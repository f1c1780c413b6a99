"""The broker: gives every event its place in the one global order, and delivers them.

A node appends validated events to its broker and receives, through `deliver`, every
event of the whole order (its own and other nodes'), in seq order, exactly once. Every
node folds everything it receives; each event is written to the store once, by the node
that appended it (its origin), which then `confirm`s it: the other nodes send an event to
their clients once its origin confirmed it (or, if the origin stays silent, write it
themselves: the write is idempotent). Publishers wait for their seqs' commit.

Backends (one file each, chosen by URL): `memory://` (one process) and `redis://`
(Redis Streams: one order and one replay source for every node).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from parent_harness.credentials import mask_url


@dataclass(slots=True)
class Sequenced:
    """One event with its place in the order: what every node folds identically."""

    seq: int
    id: str
    type: str
    payload: dict[str, Any]
    ts: str
    ts_ms: int
    origin: str | None = None
    """The node that appended it and writes it to the store; None for this node."""
    stored: bool = False
    """Read back from the store: already written."""


@dataclass(slots=True)
class Appended:
    """A broker's answer for one appended event: its id, its seq, and whether it was known."""

    id: str
    seq: int
    duplicate: bool = False


@dataclass(slots=True)
class Outgoing:
    """A validated event for the broker: the publisher's idempotency key if it gave one."""

    type: str
    payload: dict[str, Any]
    key: str | None


Deliver = Callable[[list[Sequenced]], None]
Confirmed = Callable[[str, int], None]
"""(origin, upto): the node `origin` has written every event it appended up to seq `upto`."""
KnownIds = Callable[[Sequence[str]], Awaitable[dict[str, int]]]
Stored = Callable[[int, int], Awaitable[list[Sequenced]]]
"""Committed events with after < seq <= upto, read back from the shared store."""


class Broker(Protocol):
    """What a node needs from its broker."""

    url: str
    """Its URL as it may be shown: the password masked (`redis://:***@host:6379/0`)."""
    retries_commits: bool
    """True when the order is shared (a stream every node reads), so this node may be behind
    it for a moment; False for one node's own order (memory). Either way a sequenced event
    is never taken back: a failed commit is written again until the store takes it."""

    async def start(
        self,
        *,
        epoch: str,
        after_seq: int,
        deliver: Deliver,
        known: KnownIds,
        stored: Stored,
        confirmed: Confirmed | None = None,
    ) -> str:
        """Starts delivering events (and other nodes' confirmations) after `after_seq`;
        returns the log's epoch."""
        ...

    async def confirm(self, upto: int) -> None:
        """Tells the other nodes that this node wrote every event it appended up to `upto`."""
        ...

    async def append(self, events: Sequence[Outgoing]) -> list[Appended]:
        """Gives each event its seq (or finds its key already used); delivery follows."""
        ...

    async def stop(self) -> None: ...

    def status(self) -> dict[str, Any]:
        """{"ok": bool, ...}: whether this node receives the order; shown in /api/health."""
        ...


def open_broker(url: str) -> Broker:
    """The broker for a URL: `memory://` or `redis://host:port/db`."""
    if url.startswith("memory://"):
        from parent_harness.brokers.memory import MemoryBroker

        return MemoryBroker(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from parent_harness.brokers.redis import RedisBroker

        return RedisBroker(url)
    raise ValueError(
        f"unsupported broker URL {mask_url(url)!r}: use memory:// or redis://host:port/0"
    )
