"""Validating an incoming event and shaping the outgoing one."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from parent_harness.events.catalogue import EVENT_TYPES, PAYLOADS, SENT, first_error
from parent_harness.exceptions import InvalidEvent


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
