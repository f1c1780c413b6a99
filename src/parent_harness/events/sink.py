"""What a producer of events needs: somewhere to publish them.

The hub's ingest, the HTTP publisher of the SDK and test doubles all satisfy
:class:`EventSink`, so the orchestrator and the notifiers never know which one
they talk to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(slots=True)
class PublishResult:
    """The hub's answer to one published event."""

    id: str
    seq: int
    duplicate: bool = False


@dataclass(slots=True)
class Event:
    """One committed event: its place in the order, its type and its merged payload."""

    seq: int
    type: str
    payload: Mapping[str, Any]
    timestamp: str
    rooms: tuple[str, ...] = ()

    def as_message(self) -> dict[str, Any]:
        """The wire form of the event (protocol v1)."""
        return {
            "type": self.type,
            "seq": self.seq,
            "payload": self.payload,
            "timestamp": self.timestamp,
        }


class EventSink(Protocol):
    """Publishes one event and returns once it is durably stored (and has its seq)."""

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult: ...


EventListener = Callable[[Event], None]
"""A synchronous callback the hub calls for each committed event, in seq order."""


class FleetState(Protocol):
    """The hub's folded state, read only: entities as plain dicts in the catalogue's shape."""

    @property
    def agents(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def tasks(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def sessions(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def budget(self) -> Mapping[str, Any] | None: ...

    @property
    def workspaces(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def approvals(self) -> Mapping[str, Mapping[str, Any]]: ...


class LocalHub(EventSink, Protocol):
    """A hub in this process, as the orchestrator and the notifier use it: publish into it,
    listen to its committed events, read its state. The hub's `Node` satisfies it."""

    def add_listener(self, listener: EventListener) -> None: ...

    def remove_listener(self, listener: EventListener) -> None: ...

    @property
    def state(self) -> FleetState: ...
