"""Event kinds: one descriptor per catalogue type, and the rooms and levels read from them.

The table below holds the rooms and levels the hub gave before the descriptors (the
hand-written rules of rooms.py and levels.py, whose tests in test_catalogue.py pin them);
the descriptors give the same, and so do their rules as data (`GET /api/catalogue`)
applied by a client.
"""

from __future__ import annotations

from typing import Any

import pytest

from parent_harness.events import EVENT_TYPES, KINDS, PAYLOADS, validate_payload
from parent_harness.events.kinds import CLASS_ROOMS, describe
from parent_harness.events.levels import event_level
from parent_harness.events.rooms import ENTITY_KINDS, event_rooms, owner_rooms, reaches
from parent_harness.notify.config import subject_of

Sample = tuple[str, dict[str, Any], tuple[str, ...], tuple[str, ...], str]

SAMPLES: list[Sample] = [
    (
        "agent:status",
        {"agent": {"id": "a1", "current_task_id": "t1", "current_session_id": "s1"}},
        ("agents", "agent:a1", "task:t1", "session:s1"),
        ("agents", "agent:a1"),
        "info",
    ),
    (
        "agent:status",
        {"agent": {"id": "a1", "status": "error"}},
        ("agents", "agent:a1"),
        ("agents", "agent:a1"),
        "error",
    ),
    (
        "agent:status",
        {"agent": {"id": "a1", "health_status": "crashed"}},
        ("agents", "agent:a1"),
        ("agents", "agent:a1"),
        "error",
    ),
    (
        "agent:status",
        {"agent": {"id": "a1", "health_status": "stuck"}},
        ("agents", "agent:a1"),
        ("agents", "agent:a1"),
        "warning",
    ),
    (
        "agent:status",
        {"agent": {"id": "a1", "health_status": "stale"}},
        ("agents", "agent:a1"),
        ("agents", "agent:a1"),
        "warning",
    ),
    (
        "agent:status",
        {"agent": {"id": "a1", "health_status": "healthy", "status": "working"}},
        ("agents", "agent:a1"),
        ("agents", "agent:a1"),
        "info",
    ),
    (
        "agent:heartbeat",
        {"agent_id": "a1", "session_id": "s1"},
        ("agents", "agent:a1", "session:s1"),
        ("agents", "agent:a1"),
        "debug",
    ),
    (
        "agent:heartbeat",
        {"agent_id": "a1"},
        ("agents", "agent:a1"),
        ("agents", "agent:a1"),
        "debug",
    ),
    ("task:created", {"task": {"id": "t1"}}, ("tasks", "task:t1"), ("tasks", "task:t1"), "info"),
    (
        "task:updated",
        {"task": {"id": "t1", "agent_id": "a1", "session_id": "s1"}},
        ("tasks", "task:t1", "agent:a1", "session:s1"),
        ("tasks", "task:t1"),
        "info",
    ),
    (
        "task:assigned",
        {"task": {"id": "t1", "agent_id": "a1"}},
        ("tasks", "task:t1", "agent:a1"),
        ("tasks", "task:t1"),
        "info",
    ),
    (
        "task:completed",
        {"task": {"id": "t1", "agent_id": "a1", "session_id": "s1"}},
        ("tasks", "task:t1", "agent:a1", "session:s1"),
        ("tasks", "task:t1"),
        "info",
    ),
    (
        "task:failed",
        {"task": {"id": "t1", "agent_id": "a1", "session_id": "s1"}},
        ("tasks", "task:t1", "agent:a1", "session:s1"),
        ("tasks", "task:t1"),
        "error",
    ),
    ("task:failed", {"task": {"id": "t"}}, ("tasks", "task:t"), ("tasks", "task:t"), "error"),
    (
        "session:started",
        {"session": {"id": "s1", "agent_id": "a1", "task_id": "t1"}},
        ("sessions", "session:s1", "agent:a1", "task:t1"),
        ("sessions", "session:s1"),
        "info",
    ),
    (
        "session:updated",
        {"session": {"id": "s1", "agent_id": "a1"}},
        ("sessions", "session:s1", "agent:a1"),
        ("sessions", "session:s1"),
        "info",
    ),
    (
        "session:ended",
        {"session": {"id": "s1", "status": "completed"}},
        ("sessions", "session:s1"),
        ("sessions", "session:s1"),
        "info",
    ),
    (
        "session:ended",
        {"session": {"id": "s1"}},
        ("sessions", "session:s1"),
        ("sessions", "session:s1"),
        "info",
    ),
    (
        "session:ended",
        {"session": {"id": "s1", "status": "killed", "task_id": "t1"}},
        ("sessions", "session:s1", "task:t1"),
        ("sessions", "session:s1"),
        "warning",
    ),
    (
        "session:ended",
        {"session": {"id": "s1", "status": "failed"}},
        ("sessions", "session:s1"),
        ("sessions", "session:s1"),
        "warning",
    ),
    (
        "session:iteration",
        {"session_id": "s1", "iteration": 3},
        ("sessions", "session:s1"),
        ("sessions", "session:s1"),
        "info",
    ),
    (
        "session:heartbeat",
        {"session_id": "s"},
        ("sessions", "session:s"),
        ("sessions", "session:s"),
        "debug",
    ),
    (
        "session:tool",
        {"session_id": "s", "agent_id": "a", "tool": "Bash", "target": "ls", "status": "started"},
        ("sessions", "session:s", "agent:a"),
        ("sessions", "session:s"),
        "info",
    ),
    (
        "session:output",
        {
            "session_id": "s",
            "agent_id": "a",
            "from_line": 1,
            "lines": [{"n": 1, "stream": "stdout", "text": "hi"}],
        },
        ("output", "session:s"),
        ("output", "session:s"),
        "debug",
    ),
    (
        "test:started",
        {"test_run": {"id": "r", "task_id": "t"}},
        ("tests", "task:t"),
        ("tests", "task:t"),
        "info",
    ),
    (
        "test:completed",
        {"test_run": {"id": "r", "task_id": "t", "session_id": "s", "status": "passed"}},
        ("tests", "task:t", "session:s"),
        ("tests", "task:t"),
        "info",
    ),
    (
        "test:completed",
        {"test_run": {"id": "r", "status": "failed"}},
        ("tests",),
        ("tests",),
        "warning",
    ),
    (
        "test:completed",
        {"test_run": {"id": "r", "status": "error"}},
        ("tests",),
        ("tests",),
        "warning",
    ),
    ("test:completed", {"test_run": {"id": "r"}}, ("tests",), ("tests",), "info"),
    ("budget:updated", {"budget": {"period": "day"}}, ("budget",), ("budget",), "info"),
    (
        "workspace:created",
        {"workspace": {"id": "w1", "task_id": "t1", "session_id": "s1", "status": "active"}},
        ("workspaces", "workspace:w1", "task:t1", "session:s1"),
        ("workspaces", "workspace:w1"),
        "info",
    ),
    (
        "workspace:updated",
        {"workspace": {"id": "w1", "task_id": "t1", "status": "conflict", "conflicts": ["a"]}},
        ("workspaces", "workspace:w1", "task:t1"),
        ("workspaces", "workspace:w1"),
        "warning",
    ),
    (
        "workspace:updated",
        {"workspace": {"id": "w1", "status": "error", "error": "disk full"}},
        ("workspaces", "workspace:w1"),
        ("workspaces", "workspace:w1"),
        "error",
    ),
    (
        "workspace:merged",
        {"workspace": {"id": "w1"}},
        ("workspaces", "workspace:w1"),
        ("workspaces", "workspace:w1"),
        "info",
    ),
    (
        "workspace:removed",
        {"workspace": {"id": "w1"}},
        ("workspaces", "workspace:w1"),
        ("workspaces", "workspace:w1"),
        "info",
    ),
    (
        "telegram:message",
        {"message": {"id": "m", "direction": "in", "chat_id": "c", "text": "x"}},
        ("telegram",),
        ("telegram",),
        "info",
    ),
    ("event", {"event": {"level": "warning", "message": "m"}}, ("events",), ("events",), "warning"),
    (
        "event",
        {"event": {"level": "debug", "message": "m", "source": "a1"}},
        ("events",),
        ("events",),
        "debug",
    ),
    ("event", {"event": {"level": "info", "message": "m"}}, ("events",), ("events",), "info"),
    ("event", {"event": {"message": "no level"}}, ("events",), ("events",), "info"),
    (
        "approval:requested",
        {"approval": {"id": "ap1", "session_id": "s", "agent_id": "a", "task_id": "t"}},
        ("approvals", "approval:ap1", "session:s", "agent:a", "task:t"),
        ("approvals", "approval:ap1"),
        "warning",
    ),
    (
        "approval:answered",
        {"approval": {"id": "ap1", "status": "answered", "decision": "allow"}},
        ("approvals", "approval:ap1"),
        ("approvals", "approval:ap1"),
        "info",
    ),
    (
        "approval:expired",
        {"approval": {"id": "ap1", "status": "expired"}},
        ("approvals", "approval:ap1"),
        ("approvals", "approval:ap1"),
        "warning",
    ),
    (
        "plan:applied",
        {"plan": {"id": "p", "task_ids": ["a", "b"], "edges": [{"parent": "a", "child": "b"}]}},
        ("tasks",),
        ("tasks",),
        "info",
    ),
    (
        "worker:status",
        {"worker": {"id": "gpu-1", "status": "online", "labels": ["gpu"]}},
        ("workers", "worker:gpu-1"),
        ("workers", "worker:gpu-1"),
        "info",
    ),
    (
        "worker:status",
        {"worker": {"id": "gpu-1", "status": "offline"}},
        ("workers", "worker:gpu-1"),
        ("workers", "worker:gpu-1"),
        "warning",
    ),
]
"""(type, payload, event_rooms, owner_rooms, event_level) as the hand-written rules gave."""

MERGED: list[Sample] = [
    (
        "session:iteration",
        {"session_id": "s1", "iteration": 3, "agent_id": "a1", "task_id": "t1"},
        ("sessions", "session:s1", "agent:a1", "task:t1"),
        ("sessions", "session:s1"),
        "info",
    ),
    (
        "session:heartbeat",
        {"session_id": "s1", "at": "2026-01-01T00:00:00Z", "agent_id": "a1", "task_id": None},
        ("sessions", "session:s1", "agent:a1"),
        ("sessions", "session:s1"),
        "debug",
    ),
    (
        "agent:heartbeat",
        {"agent_id": "a1", "session_id": "s1", "at": "2026-01-01T00:00:00Z"},
        ("agents", "agent:a1", "session:s1"),
        ("agents", "agent:a1"),
        "debug",
    ),
    (
        "event",
        {"event": {"id": "e", "level": "error", "message": "m", "source": None, "data": None}},
        ("events",),
        ("events",),
        "error",
    ),
]
"""The same for merged payloads, as the state's fold gives them (the rooms and the level
are found on these): an iteration or a session heartbeat gains its session's agent and
task, a generic event its defaults."""


def rooms_by_rule(kind: dict[str, Any], payload: dict[str, Any]) -> tuple[str, ...]:
    """A kind's rooms as a client computes them from its `GET /api/catalogue` entry."""
    rooms = [kind["room"]]
    for rule in kind["rooms"]:
        value: Any = payload
        for key in rule["path"]:
            value = value.get(key) if isinstance(value, dict) else None
        if value:
            rooms.append(f"{rule['entity']}:{value}")
    return tuple(dict.fromkeys(rooms))


def level_by_rule(kind: dict[str, Any], payload: dict[str, Any]) -> str:
    """A kind's level as a client computes it from its `GET /api/catalogue` entry."""
    level = kind["level"]
    if level["fixed"] is not None:
        return str(level["fixed"])

    def at(path: list[str]) -> Any:
        value: Any = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    if level["field"] is not None:
        own = at(level["field"])
        return str(level["default"] if own is None else own)
    for case in level["cases"]:
        if (at(case["path"]) in case["values"]) == (case["op"] == "in"):
            return str(case["level"])
    return str(level["default"])


def test_every_catalogue_type_has_one_descriptor() -> None:
    assert set(KINDS) == EVENT_TYPES
    for type_, kind in KINDS.items():
        assert kind.type == type_
        assert kind.payload is PAYLOADS[type_]
        assert kind.room in CLASS_ROOMS
        assert all(entity in ENTITY_KINDS for entity, _ in kind.names)


def test_class_rooms_and_entities_are_the_published_ones() -> None:
    rooms = {"agents", "tasks", "sessions", "budget", "tests", "telegram", "events", "output"}
    assert rooms | {"approvals", "workspaces", "workers"} == CLASS_ROOMS
    assert {"agent", "task", "session", "approval", "workspace", "worker"} == ENTITY_KINDS


def test_a_carried_entity_is_a_field_of_the_payload_model() -> None:
    for kind in KINDS.values():
        if kind.entity is not None:
            assert kind.entity in kind.payload.model_fields


def test_the_samples_cover_every_type() -> None:
    assert {sample[0] for sample in SAMPLES} == EVENT_TYPES


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s[0])
def test_samples_are_valid_payloads(sample: Sample) -> None:
    type_, payload = sample[0], sample[1]
    validate_payload(type_, payload)


@pytest.mark.parametrize("sample", SAMPLES + MERGED, ids=lambda s: s[0])
def test_rooms_and_levels_from_descriptors_are_the_old_answers(sample: Sample) -> None:
    type_, payload, rooms, owner, level = sample
    assert event_rooms(type_, payload) == rooms
    assert owner_rooms(type_, payload) == owner
    assert event_level(type_, payload) == level


@pytest.mark.parametrize("sample", SAMPLES + MERGED, ids=lambda s: s[0])
def test_the_rules_as_data_give_the_same_answers(sample: Sample) -> None:
    type_, payload, rooms, _, level = sample
    kind = describe(KINDS[type_])
    assert rooms_by_rule(kind, payload) == rooms
    assert level_by_rule(kind, payload) == level


def test_owner_rooms_of_what_is_not_yet_validated() -> None:
    assert owner_rooms("task:created", {"task": "not an object"}) == ("tasks",)
    assert owner_rooms("task:created", {}) == ("tasks",)
    assert owner_rooms("agent:status", {"agent": {"id": 7}}) == ("agents",)
    assert owner_rooms("nope", {"task": {"id": "t"}}) == ("events",)
    assert owner_rooms("task:nope", {"task": {"id": "t"}}) == ("tasks",)


def test_a_type_outside_the_catalogue_has_a_level() -> None:
    assert event_level("custom:heartbeat", {}) == "debug"
    assert event_level("custom", {}) == "info"


def test_each_kind_describes_itself_as_json_data() -> None:
    for kind in KINDS.values():
        data = describe(kind)
        assert data["type"] == kind.type
        assert data["schema"] == kind.payload.model_json_schema()
        assert data["entity"] == kind.entity


def test_agent_output_is_not_for_every_room_only_for_its_own() -> None:
    assert {t for t, kind in KINDS.items() if not kind.in_all} == {"session:output"}
    rooms = ("output", "session:s")
    assert not reaches("session:output", rooms, ("*",))
    assert reaches("session:output", rooms, ("*", "session:s"))
    assert reaches("session:output", rooms, ("output",))
    assert reaches("session:iteration", ("sessions", "session:s"), ("*",))
    assert not reaches("session:iteration", ("sessions", "session:s"), ("tasks",))


@pytest.mark.parametrize(
    ("on", "subject"),
    [
        ("task:*", "task.id"),
        ("task:failed", "task.id"),
        ("agent:status", "agent.id"),
        ("agent:heartbeat", "agent_id"),
        ("session:iteration", "session_id"),
        ("session:heartbeat", "session_id"),
        ("session:*", "session.id"),
        ("test:*", "test_run.id"),
        ("budget:updated", "budget.period"),
        ("event", "event.source"),
        ("telegram:message", None),
        ("plan:applied", "plan.id"),
        ("nothing:*", None),
    ],
)
def test_a_notification_rule_groups_by_the_subject_its_kind_names(
    on: str, subject: str | None
) -> None:
    """The subjects notify/config.py had as a table of its own, now read from the kinds."""
    assert subject_of(on) == subject
