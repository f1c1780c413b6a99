"""What the orchestrator needs from the hub: the shared protocols of `events.sink`.

The hub's ``Node`` satisfies :class:`FleetHub` (``publish``, listeners, ``state``);
tests use a small in-memory fake. ``state`` is read once, at start, to recover
what a previous run left; from then on the listener keeps the orchestrator current.
"""

from __future__ import annotations

from ..events.sink import EventSink as Sink
from ..events.sink import FleetState
from ..events.sink import LocalHub as FleetHub

__all__ = ["FleetHub", "FleetState", "Sink"]
