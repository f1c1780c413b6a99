"""Validating an incoming event and shaping the outgoing one."""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from parent_harness.events.catalogue import EVENT_TYPES, PAYLOADS, SENT, first_error
from parent_harness.exceptions import InvalidEvent


def now_iso() -> str:
    """Now, as the protocol writes times: ISO 8601 UTC with milliseconds and `Z`."""
    return iso(datetime.now(UTC))


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


def new_id() -> str:
    """A fresh event id, unique across processes: a random prefix drawn once per process
    (96 bits) and a counter. A random id per event cost a getrandom() syscall each."""
    return f"{_ID_PREFIX}{next(_id_counter):x}"


_ID_PREFIX = os.urandom(12).hex() + "-"
_id_counter = itertools.count(1)


def iso(moment: datetime) -> str:
    """A datetime in the protocol's form."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_iso(text: str) -> datetime:
    """Reads a protocol time (or any ISO 8601 time; naive means UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def validate_payload(type_: str, payload: Any) -> dict[str, Any]:
    """Checks a payload against the catalogue; returns only the fields that were sent.

    Raises InvalidEvent naming the first bad field. The check runs for every event, so it
    goes first through the catalogue's derived validator (`SENT`), which returns the sent
    fields as plain dicts at once; whatever that refuses is left to the model, for its
    verdict and its message.
    """
    check = SENT.get(type_)
    if check is None:
        known = ", ".join(sorted(EVENT_TYPES))
        raise InvalidEvent("type", f"unknown event type {type_!r}; known types: {known}")
    try:
        return check(payload)
    except ValidationError:
        pass
    model = PAYLOADS[type_]
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise InvalidEvent(f"payload.{field}" if field else "payload", message) from None
    return parsed.model_dump(exclude_unset=True)
