"""Wall-clock helpers and ids: the hub's time format, short random ids, safe task ids."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from ..events.catalogue import SAFE_TASK_ID, SAFE_TASK_ID_LENGTH


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


SAFE_ID_RULE = (
    "a task id is letters, digits, '_', '-' and single dots between them, starts with a "
    f"letter or a digit and has at most {SAFE_TASK_ID_LENGTH} characters"
)


def is_safe_task_id(task_id: str) -> bool:
    """Whether ``task_id`` may reach a path or an argv word (see ``SAFE_TASK_ID``)."""
    return len(task_id) <= SAFE_TASK_ID_LENGTH and re.fullmatch(SAFE_TASK_ID, task_id) is not None
