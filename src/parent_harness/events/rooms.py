"""Which rooms an event goes to: its class room and the room of every entity it names.

Both come from the event kind's descriptor (events/kinds.py): `room`, and `names`, the
payload fields that name entity rooms. A subscriber of `*` gets every event but the kinds
in `NOT_IN_ALL` (agent output), which go only to those who name one of their rooms.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from parent_harness.events.kinds import CLASS_ROOMS, ENTITY_ROOMS, KINDS, NOT_IN_ALL, EventKind

__all__ = [
    "ALL",
    "CLASS_ROOMS",
    "ENTITY_KINDS",
    "NOT_IN_ALL",
    "event_rooms",
    "is_valid_room",
    "owner_rooms",
    "reaches",
]

ENTITY_KINDS: frozenset[str] = ENTITY_ROOMS
ALL = "*"

_KINDS: dict[str, EventKind] = dict(KINDS)
_FAMILY_ROOM = {type_.split(":", 1)[0]: kind.room for type_, kind in KINDS.items()}
_ROOM_RE = re.compile(rf"^(\*|[a-z]+|({'|'.join(sorted(ENTITY_ROOMS))}):[^\s,]{{1,200}})$")


def is_valid_room(name: str) -> bool:
    """A room name is well formed: `*`, a class word, or `<entity>:<id>`.

    Well-formed names of rooms nobody publishes to are accepted and simply empty.
    """
    return bool(_ROOM_RE.match(name))


def event_rooms(type_: str, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The rooms of one (merged, valid) event, class room first."""
    kind = _KINDS.get(type_)
    if kind is None:  # not a catalogue type: its family's class room
        return (_FAMILY_ROOM[type_.split(":", 1)[0]],)
    rooms = [kind.room]
    for entity, path in kind.names:
        value: Any = payload
        for key in path:
            value = value.get(key)
            if value is None:
                break
        if value:
            rooms.append(f"{entity}:{value}")
    return tuple(dict.fromkeys(rooms))


def reaches(type_: str, rooms: tuple[str, ...], joined: Collection[str]) -> bool:
    """Whether an event of `type_` in `rooms` goes to a subscriber of the rooms `joined`."""
    if ALL in joined and type_ not in NOT_IN_ALL:
        return True
    return any(room in joined for room in rooms)


def owner_rooms(type_: str, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The rooms of what an event is about: its class room and its own entity's room (an
    `agent:status` is about its agent, not the task that agent works on)."""
    kind = _KINDS.get(type_)
    if kind is None:
        return (_FAMILY_ROOM.get(type_.split(":", 1)[0], "events"),)
    if not kind.names:
        return (kind.room,)
    entity, path = kind.names[0]
    value: Any = payload
    try:
        for key in path:
            value = value.get(key)
            if value is None:
                break
    except AttributeError:  # not yet validated: an entity that is not an object
        value = None
    if isinstance(value, str) and value:
        return (kind.room, f"{entity}:{value}")
    return (kind.room,)
