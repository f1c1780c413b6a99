"""The event catalogue and the envelope: what an event is, before anything stores or sends it."""

from parent_harness.events.catalogue import EVENT_TYPES, PAYLOADS, IncomingEvent
from parent_harness.events.clock import iso, now_iso, parse_iso
from parent_harness.events.envelope import validate_payload
from parent_harness.events.kinds import KINDS, EventKind
from parent_harness.events.rooms import CLASS_ROOMS, event_rooms, is_valid_room
from parent_harness.events.sink import Event, EventListener, EventSink, PublishResult

__all__ = [
    "CLASS_ROOMS",
    "EVENT_TYPES",
    "KINDS",
    "PAYLOADS",
    "Event",
    "EventKind",
    "EventListener",
    "EventSink",
    "IncomingEvent",
    "PublishResult",
    "event_rooms",
    "is_valid_room",
    "iso",
    "now_iso",
    "parse_iso",
    "validate_payload",
]
