"""Time for the notifications: a clock that can be replaced, and the protocol's ISO form.

Absence rules, snoozes, rate limits and retries all read `Clock.now()` (seconds since the
epoch), so tests drive them with a `ManualClock` instead of waiting.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

from parent_harness.events.envelope import iso, parse_iso


class Clock(Protocol):
    """Tells the time in seconds since the epoch."""

    def now(self) -> float: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Seconds since the epoch, now."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to (for tests and simulations)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        """The time it was last set to."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Moves the clock forward."""
        self._now += seconds


def to_iso(ts: float) -> str:
    """Seconds since the epoch as the protocol writes times (`...T19:30:00.123Z`)."""
    return iso(datetime.fromtimestamp(ts, UTC))


def from_iso(text: object) -> float | None:
    """A protocol time as seconds since the epoch; None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_iso(text).timestamp()
    except ValueError:
        return None
