from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from parent_harness.events import EVENT_TYPES, PAYLOADS, event_rooms, validate_payload
from parent_harness.events.catalogue import INT64_MAX, INT64_MIN
from parent_harness.events.levels import event_level
from parent_harness.exceptions import InvalidEvent


def test_partial_entity_keeps_only_sent_fields() -> None:
    assert validate_payload("task:updated", {"task": {"id": "t1", "progress_percent": 40}}) == {
        "task": {"id": "t1", "progress_percent": 40.0}
    }


@pytest.mark.parametrize(
    ("type_", "payload", "field"),
    [
        ("task:updated", {"task": {"progress_percent": 4}}, "payload.task.id"),
        ("task:updated", {"task": {"id": "t", "colour": "red"}}, "payload.task.colour"),
        ("agent:status", {"agent": {"id": "a", "status": "sleeping"}}, "payload.agent.status"),
        (
            "task:failed",
            {"task": {"id": "t", "progress_percent": 140}},
            "payload.task.progress_percent",
        ),
        ("budget:updated", {"budget": {"spent_usd": 1}}, "payload.budget.period"),
        ("event", {"event": {"level": "info"}}, "payload.event.message"),
        ("session:iteration", {"session_id": "s"}, "payload.iteration"),
        ("task:created", {"task": {"id": "t", "priority": 2**63}}, "payload.task.priority"),
        ("session:ended", {"session": {"id": "s", "pid": -(2**63) - 1}}, "payload.session.pid"),
        (
            "session:iteration",
            {"session_id": "s", "iteration": 10**30},
            "payload.iteration",
        ),
    ],
)
def test_bad_payload_names_the_field(type_: str, payload: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        validate_payload(type_, payload)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_unknown_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidEvent, match="unknown event type 'task:exploded'") as caught:
        validate_payload("task:exploded", {})
    assert caught.value.field == "type"
    assert "task:failed" in caught.value.message


def test_catalogue_is_complete() -> None:
    assert {
        "agent:status",
        "agent:heartbeat",
        "task:created",
        "task:updated",
        "task:assigned",
        "task:completed",
        "task:failed",
        "session:started",
        "session:updated",
        "session:ended",
        "session:iteration",
        "session:heartbeat",
        "session:tool",
        "session:output",
        "test:started",
        "test:completed",
        "budget:updated",
        "workspace:created",
        "workspace:updated",
        "workspace:merged",
        "workspace:removed",
        "telegram:message",
        "event",
        "plan:applied",
        "approval:requested",
        "approval:answered",
        "approval:expired",
        "worker:status",
    } == EVENT_TYPES


def test_rooms_name_every_entity() -> None:
    payload = {"task": {"id": "t1", "agent_id": "a1", "session_id": "s1"}}
    assert event_rooms("task:failed", payload) == ("tasks", "task:t1", "agent:a1", "session:s1")
    assert event_rooms("budget:updated", {"budget": {"period": "day"}}) == ("budget",)
    tool = {"session_id": "s1", "agent_id": "a1", "tool": "Bash", "status": "started"}
    assert event_rooms("session:tool", tool) == ("sessions", "session:s1", "agent:a1")
    assert event_rooms("test:started", {"test_run": {"id": "r", "task_id": "t"}}) == (
        "tests",
        "task:t",
    )


@pytest.mark.parametrize(
    ("type_", "payload", "level"),
    [
        ("task:failed", {"task": {"id": "t"}}, "error"),
        ("agent:status", {"agent": {"id": "a", "health_status": "crashed"}}, "error"),
        ("agent:status", {"agent": {"id": "a", "health_status": "stuck"}}, "warning"),
        ("agent:status", {"agent": {"id": "a", "health_status": "healthy"}}, "info"),
        ("session:ended", {"session": {"id": "s", "status": "killed"}}, "warning"),
        ("test:completed", {"test_run": {"id": "r", "status": "failed"}}, "warning"),
        ("session:heartbeat", {"session_id": "s"}, "debug"),
        ("session:tool", {"session_id": "s", "agent_id": "a", "tool": "Bash"}, "info"),
        ("event", {"event": {"level": "warning", "message": "m"}}, "warning"),
    ],
)
def test_every_event_has_a_level(type_: str, payload: dict[str, object], level: str) -> None:
    assert event_level(type_, payload) == level


def _int_schemas(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer in a core schema, with where it is."""
    if isinstance(schema, dict):
        if schema.get("type") == "int":
            yield path, schema
        for key, value in schema.items():
            yield from _int_schemas(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _int_schemas(value, f"{path}[{index}]")


@pytest.mark.parametrize("type_", sorted(PAYLOADS))
def test_every_integer_a_client_sends_fits_in_64_bits(type_: str) -> None:
    found = list(_int_schemas(PAYLOADS[type_].__pydantic_core_schema__))
    unbounded = [
        path
        for path, schema in found
        if schema.get("ge", INT64_MIN - 1) < INT64_MIN
        or schema.get("le", INT64_MAX + 1) > INT64_MAX
    ]
    assert not unbounded
    no_integer = (
        "event",
        "plan:applied",
        "session:tool",
        *(t for t in PAYLOADS if t.startswith("approval:")),
    )
    if type_ not in no_integer:  # those carry no integer
        assert found


def test_the_ends_of_the_64_bit_range_are_taken() -> None:
    payload = {"task": {"id": "t", "priority": INT64_MAX, "attempts": INT64_MAX}}
    assert validate_payload("task:updated", payload) == payload
    assert validate_payload("session:ended", {"session": {"id": "s", "exit_code": INT64_MIN}})
