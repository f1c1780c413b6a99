"""What the notifications need from the rest of the harness, as narrow protocols.

- `FleetControl`: pause and resume spawning, and a one-glance summary; the orchestrator
  implements it, tests use a fake.
- `FleetState`, `Publisher` (an `EventSink`) and `NotifyHub` (a `LocalHub`): the hub's
  shared protocols from `events.sink`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from parent_harness.events.sink import EventSink, FleetState, LocalHub


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


Publisher = EventSink
NotifyHub = LocalHub


async def settle(result: Awaitable[None] | None) -> None:
    """Awaits what a FleetControl method returned, if it is awaitable."""
    if inspect.isawaitable(result):
        await result


__all__ = ["FleetControl", "FleetState", "NotifyHub", "Publisher", "settle"]
