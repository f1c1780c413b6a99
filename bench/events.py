"""The benchmark's event: one shape and one clock for every server and the load driver.

Each event is about 200 bytes on the wire and carries its publish time ``pt`` (nanoseconds of
``CLOCK_MONOTONIC``, which every process on the machine shares, Node's ``process.hrtime`` too),
so a receiving client computes publish-to-receive latency against its own clock. The driver
counts events by counting :data:`MARK` in a frame, so a frame holding a JSON array of several
events counts each of them.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

MARK = b'"pt":'
"""Appears exactly once in every benchmark event, whatever server framed it."""

PUBLISH_TIME = re.compile(rb'"pt": ?(\d+)')
"""Finds each event's publish time in a frame."""

MESSAGE = "fan-out benchmark event"


def now_ns() -> int:
    """The shared clock: ``CLOCK_MONOTONIC`` in nanoseconds."""
    return time.monotonic_ns()


def iso_now() -> str:
    """The current UTC time as the hub writes it: ISO 8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_payload(number: int, published_ns: int) -> dict[str, Any]:
    """The payload of an ``event`` message (the hub's catalogue), stamped with its publish time."""
    return {
        "event": {
            "id": f"bench-{number}",
            "level": "info",
            "source": "bench",
            "message": MESSAGE,
            "data": {"pt": published_ns},
        }
    }


def wire_event(seq: int, published_ns: int) -> dict[str, Any]:
    """A whole wire message in protocol v1's shape, for servers that frame their own events."""
    return {
        "type": "event",
        "seq": seq,
        "payload": event_payload(seq, published_ns),
        "timestamp": iso_now(),
    }


def ingest_batch(first: int, count: int) -> list[dict[str, Any]]:
    """A ``POST /api/events`` body of ``count`` events, stamped now."""
    stamp = now_ns()
    return [{"type": "event", "payload": event_payload(first + i, stamp)} for i in range(count)]
