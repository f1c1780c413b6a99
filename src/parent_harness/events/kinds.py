"""One descriptor per event kind: the one place that says what an event type is.

An `EventKind` holds what the rest of the hub needs to know about one event type: its
payload model (the catalogue's, which validation, OpenAPI and `GET /api/catalogue` read),
its class room, the entity object it carries (and the state folds), the payload fields that
name entity rooms, and how its level is found. `rooms.py` and `levels.py` read `KINDS`; so
does `GET /api/catalogue`, which gives the same rules to the dashboard as data.

Adding an event type: its payload model in `catalogue.PAYLOADS`, its descriptor here (see
docs/events.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel

from parent_harness.events.catalogue import PAYLOADS

PayloadModel = type[BaseModel]
"""A payload's pydantic model (named here: `EventKind.type` is the event type's name)."""

Path = tuple[str, ...]
"""Where a value is in a payload: `("task", "agent_id")` is `payload["task"]["agent_id"]`."""


@dataclass(frozen=True, slots=True)
class Case:
    """One level condition: when the value at `path` is (`op="in"`) or is not
    (`op="not_in"`) one of `values` (None standing for absent), the level is `level`."""

    path: Path
    op: Literal["in", "not_in"]
    values: tuple[str | None, ...]
    level: str


@dataclass(frozen=True, slots=True)
class Level:
    """How an event's level is found: `fixed`; else the value at `field` (the generic
    event's own level); else the first of `cases` that holds; else `default`."""

    fixed: str | None = None
    field: Path | None = None
    cases: tuple[Case, ...] = ()
    default: str = "info"


@dataclass(frozen=True, slots=True)
class EventKind:
    """What one event type is (see the module docstring)."""

    type: str
    payload: PayloadModel
    room: str
    """The class room every event of this type goes to."""
    entity: str | None
    """The payload key of the entity object it carries and the state folds (`"task"`), or
    None when it carries only ids (heartbeats, iterations)."""
    names: tuple[tuple[str, Path], ...]
    """The entity rooms it goes to: `(entity, path)`, the room `entity:<value at path>` in
    the merged payload (what the state's fold gives) when that value is set; the first is
    the event's own entity."""
    level: Level
    in_all: bool = True
    subject: Path | None = None
    """The payload field that names what an event is about (what a notification rule
    groups by): the entity's id (a budget's period, a generic event's source), else the
    first id it names; None when nothing does (`telegram:message`)."""
    """Whether a subscriber of every room (`*`) gets it. A kind as heavy as agent output is
    only sent to those who join one of its rooms by name (issue 16)."""


def lookup(payload: Mapping[str, Any], path: Path) -> Any:
    """The value at `path` in a payload, or None when a key on the way is absent."""
    value: Any = payload
    for key in path:
        value = value.get(key)
        if value is None:
            return None
    return value


INFO = Level(fixed="info")
DEBUG = Level(fixed="debug")


def _agent(key: str) -> tuple[tuple[str, Path], ...]:
    return (
        ("agent", (key, "id")),
        ("task", (key, "current_task_id")),
        ("session", (key, "current_session_id")),
    )


def _task(key: str) -> tuple[tuple[str, Path], ...]:
    return (("task", (key, "id")), ("agent", (key, "agent_id")), ("session", (key, "session_id")))


def _session(key: str) -> tuple[tuple[str, Path], ...]:
    return (("session", (key, "id")), ("agent", (key, "agent_id")), ("task", (key, "task_id")))


_WORKSPACE = (
    ("workspace", ("workspace", "id")),
    ("task", ("workspace", "task_id")),
    ("session", ("workspace", "session_id")),
)
_WORKSPACE_LEVEL = Level(
    cases=(
        Case(("workspace", "status"), "in", ("error",), "error"),
        Case(("workspace", "status"), "in", ("conflict",), "warning"),
    )
)
_TEST_RUN = (("task", ("test_run", "task_id")), ("session", ("test_run", "session_id")))
_BY_SESSION_ID = (("session", ("session_id",)), ("agent", ("agent_id",)), ("task", ("task_id",)))
"""An iteration or a session heartbeat names its session; the fold adds that session's
`agent_id` and `task_id` to the (merged) payload."""

_APPROVAL = (
    ("approval", ("approval", "id")),
    ("session", ("approval", "session_id")),
    ("agent", ("approval", "agent_id")),
    ("task", ("approval", "task_id")),
)
"""An approval has a room of its own and goes to its session's, agent's and task's."""

_AGENT_STATUS_LEVEL = Level(
    cases=(
        Case(("agent", "health_status"), "in", ("crashed",), "error"),
        Case(("agent", "status"), "in", ("error",), "error"),
        Case(("agent", "health_status"), "in", ("stuck", "stale"), "warning"),
    )
)

_SPECS: dict[str, tuple[str, str | None, tuple[tuple[str, Path], ...], Level]] = {
    "agent:status": ("agents", "agent", _agent("agent"), _AGENT_STATUS_LEVEL),
    "agent:heartbeat": (
        "agents",
        None,
        (("agent", ("agent_id",)), ("session", ("session_id",))),
        DEBUG,
    ),
    "task:created": ("tasks", "task", _task("task"), INFO),
    "task:updated": ("tasks", "task", _task("task"), INFO),
    "task:assigned": ("tasks", "task", _task("task"), INFO),
    "task:completed": ("tasks", "task", _task("task"), INFO),
    "task:failed": ("tasks", "task", _task("task"), Level(fixed="error")),
    "session:started": ("sessions", "session", _session("session"), INFO),
    "session:updated": ("sessions", "session", _session("session"), INFO),
    "session:ended": (
        "sessions",
        "session",
        _session("session"),
        Level(cases=(Case(("session", "status"), "not_in", (None, "completed"), "warning"),)),
    ),
    "session:iteration": ("sessions", None, _BY_SESSION_ID, INFO),
    "session:heartbeat": ("sessions", None, _BY_SESSION_ID, DEBUG),
    "session:tool": ("sessions", None, _BY_SESSION_ID, INFO),
    "session:output": ("output", None, (("session", ("session_id",)),), DEBUG),
    "test:started": ("tests", "test_run", _TEST_RUN, INFO),
    "test:completed": (
        "tests",
        "test_run",
        _TEST_RUN,
        Level(cases=(Case(("test_run", "status"), "not_in", (None, "passed"), "warning"),)),
    ),
    "budget:updated": ("budget", "budget", (), INFO),
    "workspace:created": ("workspaces", "workspace", _WORKSPACE, INFO),
    "workspace:updated": ("workspaces", "workspace", _WORKSPACE, _WORKSPACE_LEVEL),
    "workspace:merged": ("workspaces", "workspace", _WORKSPACE, INFO),
    "workspace:removed": ("workspaces", "workspace", _WORKSPACE, INFO),
    "telegram:message": ("telegram", "message", (), INFO),
    "event": ("events", "event", (), Level(field=("event", "level"))),
    "plan:applied": ("tasks", "plan", (), INFO),
    "approval:requested": ("approvals", "approval", _APPROVAL, Level(fixed="warning")),
    "approval:answered": ("approvals", "approval", _APPROVAL, INFO),
    "approval:expired": ("approvals", "approval", _APPROVAL, Level(fixed="warning")),
    "worker:status": (
        "workers",
        "worker",
        (("worker", ("worker", "id")),),
        Level(cases=(Case(("worker", "status"), "in", ("offline",), "warning"),)),
    ),
}
"""Per event type: class room, entity key, entity rooms, level (the payload model is the
catalogue's)."""

_NOT_IN_ALL = frozenset({"session:output"})
"""Kinds a `*` subscriber does not get (`EventKind.in_all`)."""

_SUBJECT_KEY: dict[str, str | None] = {"budget": "period", "event": "source", "message": None}
"""The field of an entity that names it, where it is not `id` (None: nothing does)."""


def _subject(entity: str | None, names: tuple[tuple[str, Path], ...]) -> Path | None:
    if entity is not None:
        key = _SUBJECT_KEY.get(entity, "id")
        return None if key is None else (entity, key)
    return names[0][1] if names else None


def _kinds() -> dict[str, EventKind]:
    if set(_SPECS) != set(PAYLOADS):
        raise RuntimeError(f"kinds and payload models differ: {set(_SPECS) ^ set(PAYLOADS)}")
    out = {}
    for type_, model in PAYLOADS.items():
        room, entity, names, level = _SPECS[type_]
        in_all = type_ not in _NOT_IN_ALL
        subject = _subject(entity, names)
        out[type_] = EventKind(type_, model, room, entity, names, level, in_all, subject)
    return out


KINDS: Mapping[str, EventKind] = MappingProxyType(_kinds())
"""Every event type's descriptor, in the catalogue's order."""

CLASS_ROOMS: frozenset[str] = frozenset(kind.room for kind in KINDS.values())
"""Every class room an event goes to."""

ENTITY_ROOMS: frozenset[str] = frozenset(
    entity for kind in KINDS.values() for entity, _ in kind.names
)
"""Every entity with rooms of its own (`agent:<id>`, ...)."""

NOT_IN_ALL: frozenset[str] = frozenset(t for t, kind in KINDS.items() if not kind.in_all)
"""Event types a subscriber of every room (`*`) does not get: only a room named."""


def describe(kind: EventKind) -> dict[str, Any]:
    """One kind as data (`GET /api/catalogue`): the same rules `rooms.py` and `levels.py`
    apply, so a client can apply them without re-deriving them."""
    level = kind.level
    return {
        "type": kind.type,
        "room": kind.room,
        "entity": kind.entity,
        "in_all": kind.in_all,
        "subject": list(kind.subject) if kind.subject else None,
        "rooms": [{"entity": entity, "path": list(path)} for entity, path in kind.names],
        "level": {
            "fixed": level.fixed,
            "field": list(level.field) if level.field else None,
            "cases": [
                {"path": list(c.path), "op": c.op, "values": list(c.values), "level": c.level}
                for c in level.cases
            ],
            "default": level.default,
        },
        "schema": kind.payload.model_json_schema(),
    }
