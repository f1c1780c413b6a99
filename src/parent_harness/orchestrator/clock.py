"""Wall-clock helpers: the hub's time format and short random ids."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``moment`` as the hub writes times: ISO 8601, UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """The current time in the hub's format."""
    return iso(utc_now())


def parse_iso(text: str | None) -> datetime | None:
    """A time written by :func:`iso` (or any ISO 8601 string) back as an aware datetime."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def later_iso(seconds: float) -> str:
    """The time ``seconds`` from now, in the hub's format."""
    return iso(utc_now() + timedelta(seconds=seconds))


def new_id(prefix: str) -> str:
    """A short random id such as ``s-3f9a1c2b7d10`` for sessions, test runs and notes."""
    return f"{prefix}-{secrets.token_hex(6)}"
