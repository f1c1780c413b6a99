"""What the orchestrator needs from the hub, as narrow protocols.

The hub's ``Node`` satisfies :class:`FleetHub` (``publish``, listeners, ``state``);
tests use a small in-memory fake. ``state`` is read once, at start, to recover
what a previous run left; from then on the listener keeps the orchestrator current.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..events.sink import EventListener, PublishResult


class FleetState(Protocol):
    """The hub's folded state, read-only: entities as plain dicts, by id."""

    @property
    def agents(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def tasks(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def sessions(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def budget(self) -> Mapping[str, Any] | None: ...


class Sink(Protocol):
    """Publishes one event and returns once it is committed (an EventSink taking dicts)."""

    async def publish(
        self, type: str, payload: dict[str, Any], *, id: str | None = None
    ) -> PublishResult: ...


class FleetHub(Sink, Protocol):
    """A hub in this process: publish into it, listen to it, read its state."""

    def add_listener(self, listener: EventListener) -> None: ...

    def remove_listener(self, listener: EventListener) -> None: ...

    @property
    def state(self) -> FleetState: ...


__all__ = ["FleetHub", "FleetState", "Sink"]
