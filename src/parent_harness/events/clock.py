"""Time and ids, one home for the whole package.

Times on the wire are ISO 8601 in UTC with milliseconds and `Z` (`2026-03-01T19:30:00.123Z`):
`iso` writes one, `parse_iso` reads one back (raising), `read_iso` and `from_iso` read one
that may be absent or malformed (None). Event ids come from `new_id` (unique across
processes, cheap enough for every event); sessions, tasks and test runs take a short random
`short_id`. Code that waits or expires reads a `Clock`, so tests drive it with a
`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A datetime in the protocol's form (a naive one is taken as local time)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def now_iso() -> str:
    """Now, as the protocol writes times: ISO 8601 UTC with milliseconds and `Z`."""
    return iso(utc_now())


def later_iso(seconds: float) -> str:
    """The time `seconds` from now, in the protocol's form."""
    return iso(utc_now() + timedelta(seconds=seconds))


def to_iso(ts: float) -> str:
    """Seconds since the epoch as the protocol writes times."""
    return iso(datetime.fromtimestamp(ts, UTC))


def now_ms() -> tuple[str, int]:
    """Now as the protocol writes it, and as milliseconds since the Unix epoch.

    Called for every event: the text is reused while the millisecond lasts (a batch of
    events mostly shares one), and the formatted second until the second changes.
    """
    ms = time.time_ns() // 1_000_000
    last = _last_ms[0]
    if ms == last[1]:
        return last
    second = ms // 1000
    if second != _second[0]:
        _second[0], _second[1] = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    last = _last_ms[0] = (f"{_second[1]}.{ms % 1000:03d}Z", ms)
    return last


_second: list[Any] = [None, ""]
_last_ms: list[tuple[str, int]] = [("", -1)]


def parse_iso(text: str) -> datetime:
    """Reads a protocol time (or any ISO 8601 time; naive means UTC); ValueError if not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_iso(text: object) -> datetime | None:
    """Like `parse_iso`, for a value that may be absent or unreadable: None then."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        return None


def from_iso(text: object) -> float | None:
    """A protocol time as seconds since the epoch; None when absent or unreadable."""
    moment = read_iso(text)
    return None if moment is None else moment.timestamp()


def new_id() -> str:
    """A fresh event id, unique across processes: a random prefix drawn once per process
    (96 bits) and a counter. A random id per event cost a getrandom() syscall each."""
    return f"{_ID_PREFIX}{next(_id_counter):x}"


_ID_PREFIX = os.urandom(12).hex() + "-"
_id_counter = itertools.count(1)


def short_id(prefix: str) -> str:
    """A short random id such as `s-3f9a1c2b7d10`, for sessions, tasks, test runs and notes."""
    return f"{prefix}-{secrets.token_hex(6)}"


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
