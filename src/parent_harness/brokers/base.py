"""The broker: gives every event its place in the one global order, and delivers them.

A node appends validated events to its broker and receives, through `deliver`, every
event of the whole order (its own and other nodes'), in seq order, exactly once. Every
node folds everything it receives; each event is written to the store once, by the node
that appended it (its origin), which then `confirm`s it: the other nodes send an event to
their clients once its origin confirmed it (or, if the origin stays silent, write it
themselves: the write is idempotent). Publishers wait for their seqs' commit.

The node is the broker's `BrokerHandler`: one object, handed to `start`, that receives the
order and answers the broker's questions about the store. What a backend does beyond the
protocol it states in its `capabilities`, never through its type.

Backends (one file each, found by URL scheme in `registry`): `memory://` (one process) and
`redis://` (Redis Streams: one order and one replay source for every node). This module
imports none of them; they import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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


class BrokerHandler(Protocol):
    """What a broker calls back: the node it orders events for (its ingest).

    `deliver` and `on_confirmed` are called in order, once per batch or confirmation, and
    must not block; `known_ids` and `stored_events` read the node's store.
    """

    def deliver(self, events: list[Sequenced]) -> None:
        """Receives the next events of the whole order, in seq order, each once."""
        ...

    def on_confirmed(self, origin: str, upto: int) -> None:
        """The node `origin` has written every event it appended up to seq `upto`."""
        ...

    async def known_ids(self, ids: Sequence[str]) -> dict[str, int]:
        """The seqs of the ids (idempotency keys) already in the store."""
        ...

    async def stored_events(self, after: int, upto: int) -> list[Sequenced]:
        """Committed events with after < seq <= upto, read back from the shared store."""
        ...


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend does beyond the protocol, for the node to ask instead of its type."""

    shared_order: bool
    """The order is shared by several nodes (a stream every node reads), so this node may be
    behind it for a moment; False for one node's own order (memory). Either way a sequenced
    event is never taken back: a failed commit is written again until the store takes it."""


class Broker(Protocol):
    """What a node needs from its broker. Backends are opened by URL through
    `parent_harness.brokers.registry.open_broker`."""

    url: str
    """Its URL as it may be shown: the password masked (`redis://:***@host:6379/0`)."""
    capabilities: Capabilities

    async def start(
        self,
        handler: BrokerHandler,
        *,
        epoch: str,
        after_seq: int,
        recent_keys: Mapping[str, int] | None = None,
        keys_complete: bool = True,
    ) -> str:
        """Starts delivering events (and other nodes' confirmations) to `handler` after
        `after_seq`; returns the log's epoch.

        `recent_keys` are the idempotency keys the store holds for its latest events (with
        their seqs), `keys_complete` whether they are all of them; a backend that keeps its
        own keys (Redis) ignores them.
        """
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
