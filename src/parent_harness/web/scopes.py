"""What a token limited to some rooms may see and do over REST: the same rooms as on /ws.

A token given as `TOKEN=task:t1,agents` sees, on /ws, the events of those rooms. Over REST
it sees an entity when an event carrying that entity would reach one of its rooms (a task
`t1`, the agents, a session of task `t1`), the events of its rooms, and the budget only
with `budget`. It may publish an event, or act on an entity, only when the event's own
rooms (its class room, or the room of the entity it is about) are among its rooms: a token
for `task:t1` may cancel t1, not t2, and may not publish `agent:status`.

Whole-fleet figures (history charts, metrics) need a token with no room limit.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from parent_harness.events.kinds import KINDS
from parent_harness.events.rooms import event_rooms, owner_rooms
from parent_harness.problems import problem
from parent_harness.web.auth import OPEN, Grant

GRANT = web.RequestKey("grant", Grant)
"""Where `app.guarded` leaves the request's grant."""

_ENTITY_EVENT = {
    kind.entity: type_ for type_, kind in reversed(list(KINDS.items())) if kind.entity is not None
}
"""For each entity, an event type that carries it (the first in the catalogue): an entity
is seen where an event carrying it would go."""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def whole_fleet(handler: Handler) -> Handler:
    """`handler` refused (403) to a token limited to some rooms: figures of the whole fleet."""

    @functools.wraps(handler)
    async def check(request: web.Request) -> web.StreamResponse:
        if grant_of(request).rooms is not None:
            return problem(
                403, "forbidden", "this needs a token for every room, not one limited to some"
            )
        return await handler(request)

    return check


def grant_of(request: web.Request) -> Grant:
    grant = request.get(GRANT)
    return OPEN if grant is None else grant


def sees_room(grant: Grant, room: str) -> bool:
    return grant.rooms is None or room in grant.rooms


def sees_any(grant: Grant, rooms: Iterable[str]) -> bool:
    return grant.rooms is None or any(room in grant.rooms for room in rooms)


def sees_entity(grant: Grant, kind: str, entity: Mapping[str, Any]) -> bool:
    """Whether the events that carry this agent, task or session reach the grant's rooms."""
    if grant.rooms is None:
        return True
    return sees_any(grant, event_rooms(_ENTITY_EVENT[kind], {kind: entity}))


def visible(grant: Grant, kind: str, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entities of a list that the grant sees, in order."""
    if grant.rooms is None:
        return list(items)
    return [item for item in items if sees_entity(grant, kind, item)]


def sees_message(grant: Grant, message: Mapping[str, Any]) -> bool:
    """Whether a stored event message (type, payload) reaches the grant's rooms."""
    return sees_any(grant, event_rooms(message["type"], message["payload"]))


def may_publish(grant: Grant, type_: str, payload: Mapping[str, Any]) -> bool:
    """Whether the grant's rooms hold the event's own rooms (class, or its entity's)."""
    return grant.rooms is None or sees_any(grant, owner_rooms(type_, payload))


def snapshot_for(
    grant: Grant, snap: dict[str, Any], all_tasks: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """A snapshot with only what the grant sees (the budget only with the `budget` room);
    `all_tasks` are every task of the state, for the counts by status."""
    if grant.rooms is None:
        return snap
    return {
        **snap,
        "agents": visible(grant, "agent", snap["agents"]),
        "tasks": visible(grant, "task", snap["tasks"]),
        "sessions": visible(grant, "session", snap["sessions"]),
        "approvals": visible(grant, "approval", snap.get("approvals", [])),
        "workspaces": visible(grant, "workspace", snap.get("workspaces", [])),
        "workers": visible(grant, "worker", snap.get("workers", [])),
        "budget": snap["budget"] if sees_room(grant, "budget") else None,
        "task_counts": dict(Counter(t["status"] for t in visible(grant, "task", all_tasks))),
    }
