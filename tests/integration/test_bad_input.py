"""Bad input gets a clear 400 naming what is wrong, never a 500, and leaves the hub working."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from parent_harness.protocol.connection import MAX_TYPES
from tests.conftest import RunningHub, generic


def _names(body: Any, name: str) -> bool:
    """Whether a problem names `name` (as the parameter, or in the field at fault)."""
    assert body["type"].startswith("urn:parent-harness:problem:"), body
    return bool(body.get("param") == name or name in str(body.get("field", "")))


@pytest.mark.parametrize("path", ["/api/events", "/api/tasks", "/api/sessions"])
async def test_a_cursor_that_is_not_a_seq_is_refused(hub: RunningHub, path: str) -> None:
    status, body = await hub.get(f"{path}?cursor=abc")
    assert status == 400, body
    assert body["code"] == "bad_params" and body["param"] == "cursor"


@pytest.mark.parametrize("path", ["/api/events", "/api/tasks", "/api/sessions"])
async def test_a_cursor_past_64_bits_is_refused(hub: RunningHub, path: str) -> None:
    status, body = await hub.get(f"{path}?cursor={2**63}")
    assert status == 400, body
    assert body["param"] == "cursor"


@pytest.mark.parametrize("name", ["after", "before"])
async def test_a_seq_past_64_bits_is_refused(hub: RunningHub, name: str) -> None:
    status, body = await hub.get(f"/api/events?{name}=100000000000000000000")
    assert status == 400, body
    assert _names(body, name)


async def test_the_largest_seq_is_still_a_seq(hub: RunningHub) -> None:
    await hub.publish(generic("one"))
    status, page = await hub.get(f"/api/events?before={2**63 - 1}")
    assert status == 200 and len(page["items"]) == 1
    status, page = await hub.get(f"/api/events?after={-(2**63)}&order=asc")
    assert status == 200 and len(page["items"]) == 1


async def test_one_event_by_a_seq_past_64_bits_is_refused(hub: RunningHub) -> None:
    status, body = await hub.get("/api/events/99999999999999999999")
    assert status == 400, body
    assert _names(body, "seq")
    status, body = await hub.get(f"/api/events/{2**63 - 1}")
    assert status == 404, body


async def test_too_many_type_globs_are_refused_naming_the_limit(hub: RunningHub) -> None:
    globs = ",".join("e*" for _ in range(1500))
    status, body = await hub.get(f"/api/events?type={globs}")
    assert status == 400, body
    assert body["param"] == "type" and body["limit"] == MAX_TYPES
    assert str(MAX_TYPES) in body["detail"]
    await hub.publish(generic("kept"))
    at_limit = ",".join(["event", *(f"t{i}:*" for i in range(MAX_TYPES - 1))])
    status, page = await hub.get(f"/api/events?type={at_limit}")
    assert status == 200 and [e["type"] for e in page["items"]] == ["event"]


@pytest.mark.parametrize("path", ["/api/tasks", "/api/events"])
async def test_a_body_that_is_not_utf8_is_refused(hub: RunningHub, path: str) -> None:
    headers = {"Content-Type": "application/json"}
    body = b'{"title": "caf\xe9"}'
    async with hub.session.post(hub.url + path, data=body, headers=headers) as response:
        status, answer = response.status, orjson.loads(await response.read())
    assert status == 400, answer
    assert answer["code"] == "bad_json" and "UTF-8" in answer["detail"]
    status, _ = await hub.get("/api/snapshot")
    assert status == 200


async def _post_text(hub: RunningHub, path: str, body: Any) -> tuple[int, Any]:
    """POSTs `body` encoded by the standard library, which writes integers of any size."""
    headers = {"Content-Type": "application/json"}
    async with hub.session.post(hub.url + path, data=json.dumps(body), headers=headers) as r:
        return r.status, orjson.loads(await r.read())


async def _still_serving(hub: RunningHub) -> dict[str, Any]:
    status, snap = await hub.get("/api/snapshot")
    assert status == 200, snap
    ws = await hub.connect("snapshot=1")
    first = await ws.next_of("snapshot")
    assert first["payload"]["seq"] == snap["seq"]
    await ws.ws.close()
    return dict(snap)


async def test_a_task_priority_past_the_bound_is_refused_and_the_hub_keeps_serving(
    hub: RunningHub,
) -> None:
    status, body = await _post_text(hub, "/api/tasks", {"title": "huge", "priority": 10**30})
    assert status in (400, 422), body
    assert _names(body, "priority")
    snap = await _still_serving(hub)
    assert snap["seq"] == 0 and snap["tasks"] == []
    status, body = await hub.post("/api/tasks", {"title": "big", "priority": 1_000_000})
    assert status == 201 and body["task"]["priority"] == 1_000_000
    status, body = await hub.post("/api/tasks", {"title": "too big", "priority": 1_000_001})
    assert status in (400, 422) and _names(body, "priority")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "task:created", "payload": {"task": {"id": "t", "priority": 2**63}}}, "priority"),
        (
            {"type": "task:updated", "payload": {"task": {"id": "t", "attempts": 10**30}}},
            "attempts",
        ),
        (
            {
                "type": "session:ended",
                "payload": {"session": {"id": "s", "exit_code": -(2**63) - 1}},
            },
            "exit_code",
        ),
        ({"type": "agent:status", "payload": {"agent": {"id": "a", "pid": 2**64}}}, "pid"),
        (
            {"type": "budget:updated", "payload": {"budget": {"period": "d", "tokens_in": 2**63}}},
            "tokens_in",
        ),
    ],
)
async def test_a_published_integer_past_64_bits_is_refused_and_state_is_untouched(
    hub: RunningHub, event: dict[str, Any], field: str
) -> None:
    status, body = await _post_text(hub, "/api/events", [generic("before"), event])
    assert status == 400, body
    assert body["index"] == 1 and body["field"].endswith(field)
    snap = await _still_serving(hub)
    assert snap["seq"] == 0 and snap["tasks"] == [] and snap["agents"] == []
