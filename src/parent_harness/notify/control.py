"""What the notifications need from the rest of the harness, as narrow protocols.

- `FleetControl`: pause and resume spawning, and a one-glance summary; the orchestrator
  implements it, tests use a fake.
- `FleetState`: read-only current state (the hub's `hub.state` satisfies it).
- `Publisher`: where the notifications' own events go (an `EventSink`, or the hub).
- `NotifyHub`: where events come from and go to (the hub satisfies it).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from parent_harness.events.sink import EventListener, PublishResult


class FleetControl(Protocol):
    """Control over spawning, for /pause, /resume and /status.

    `pause_spawning` and `resume_spawning` may be plain or async methods. `summary()` returns a
    flat dict of facts worth one glance (e.g. `{"paused_reason": ..., "queue_depth": 4}`); its
    scalar values are shown as lines of /status.
    """

    @property
    def paused(self) -> bool: ...

    def pause_spawning(self, reason: str) -> Awaitable[None] | None: ...

    def resume_spawning(self) -> Awaitable[None] | None: ...

    def summary(self) -> Mapping[str, Any]: ...


class FleetState(Protocol):
    """Current folded state, read only (entities are dicts in the catalogue's shape)."""

    @property
    def agents(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def tasks(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def sessions(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def budget(self) -> Mapping[str, Any] | None: ...


class Publisher(Protocol):
    """Publishes one event and returns once it is committed.

    An `EventSink` satisfies it, and so does a publisher that takes only dicts (the hub's node).
    """

    async def publish(
        self, type: str, payload: dict[str, Any], *, id: str | None = None
    ) -> PublishResult: ...


class NotifyHub(Publisher, Protocol):
    """The hub as the notifications use it: a publisher, a listener list, the state."""

    @property
    def state(self) -> FleetState: ...

    def add_listener(self, listener: EventListener) -> None: ...

    def remove_listener(self, listener: EventListener) -> None: ...


async def settle(result: Awaitable[None] | None) -> None:
    """Awaits what a FleetControl method returned, if it is awaitable."""
    if inspect.isawaitable(result):
        await result
