"""What the orchestrator needs from the hub: the shared protocols of `events.sink`.

The hub's ``Node`` satisfies :class:`FleetHub` (``publish``, listeners, ``state``);
tests use a small in-memory fake. ``state`` is read once, at start, to recover
what a previous run left; from then on the listener keeps the orchestrator current.
"""

from __future__ import annotations

from typing import Protocol

from ..events.sink import EventSink as Sink
from ..events.sink import FleetState
from ..events.sink import LocalHub as FleetHub

__all__ = ["FleetHub", "FleetState", "Sink", "TaskClaims"]


class TaskClaims(Protocol):
    """Leases for the in-process orchestrator, so that workers on other machines and its
    own agents never both run a task (orchestrator/leasing.py's ``LocalClaims``; none:
    no worker can be attached, as in the tests' fake hub)."""

    async def recover(self) -> None:
        """Ends the leases a previous run of this process left."""

    async def take(self, task_id: str, session_id: str) -> bool:
        """Whether this process won the task."""

    async def settle(self, task_id: str) -> None:
        """The run ended and the task's outcome is published."""
