"""Which rooms an event goes to: its class room and the room of every entity it names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

CLASS_ROOMS: frozenset[str] = frozenset(
    {"agents", "tasks", "sessions", "budget", "tests", "telegram", "events"}
)
ENTITY_KINDS: frozenset[str] = frozenset({"agent", "task", "session"})
ALL = "*"

_CLASS_OF = {
    "agent": "agents",
    "task": "tasks",
    "session": "sessions",
    "test": "tests",
    "budget": "budget",
    "telegram": "telegram",
    "event": "events",
}
_ROOM_RE = re.compile(r"^(\*|[a-z]+|(agent|task|session):[^\s,]{1,200})$")


def is_valid_room(name: str) -> bool:
    """A room name is well formed: `*`, a class word, or `<entity>:<id>`.

    Well-formed names of rooms nobody publishes to are accepted and simply empty.
    """
    return bool(_ROOM_RE.match(name))


def event_rooms(type_: str, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The rooms of one (merged) event, class room first."""
    rooms = [_CLASS_OF[type_.split(":", 1)[0]]]
    named = _named_entities(type_, payload)
    rooms.extend(f"{kind}:{ident}" for kind, ident in named if ident)
    return tuple(dict.fromkeys(rooms))


def owner_rooms(type_: str, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The rooms of what an event is about: its class room and its own entity's room (an
    `agent:status` is about its agent, not the task that agent works on)."""
    rooms = [_CLASS_OF.get(type_.split(":", 1)[0], "events")]
    try:
        named = _named_entities(type_, payload)
    except AttributeError:  # not yet validated: an entity that is not an object
        named = []
    if named and isinstance(named[0][1], str) and named[0][1]:
        rooms.append(f"{named[0][0]}:{named[0][1]}")
    return tuple(rooms)


def _named_entities(type_: str, payload: Mapping[str, Any]) -> list[tuple[str, Any]]:
    if "agent" in payload:
        a = payload["agent"]
        return [
            ("agent", a.get("id")),
            ("task", a.get("current_task_id")),
            ("session", a.get("current_session_id")),
        ]
    if "task" in payload:
        t = payload["task"]
        return [
            ("task", t.get("id")),
            ("agent", t.get("agent_id")),
            ("session", t.get("session_id")),
        ]
    if "session" in payload:
        s = payload["session"]
        return [("session", s.get("id")), ("agent", s.get("agent_id")), ("task", s.get("task_id"))]
    if "test_run" in payload:
        r = payload["test_run"]
        return [("task", r.get("task_id")), ("session", r.get("session_id"))]
    if type_ == "agent:heartbeat":
        return [("agent", payload.get("agent_id")), ("session", payload.get("session_id"))]
    if type_.startswith("session:"):
        return [
            ("session", payload.get("session_id")),
            ("agent", payload.get("agent_id")),
            ("task", payload.get("task_id")),
        ]
    return []
