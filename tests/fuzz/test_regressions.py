"""What the fuzzers found, each pinned by a plain test (tests/fuzz/test_*_fuzz.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parent_harness.problems import MEDIA_TYPE
from parent_harness.protocol import connection as p
from tests.conftest import RunningHub, generic
from tests.integration.test_store_failures import refusing_writes


def test_a_payload_type_does_not_replace_the_frame_type() -> None:
    action = p.ClientSession().receive('{"type": "nope", "payload": {"type": "ping"}}')
    assert action == p.Reject("unknown_type", action.message)  # type: ignore[union-attr]
    ping = p.ClientSession().receive('{"type": "ping", "payload": {"type": "rooms", "id": 1}}')
    assert isinstance(ping, p.Ping) and ping.id == 1


@pytest.mark.parametrize(
    "query", ["after=0.0", "before=1e3", "limit=10.0", "after=1_000", "cursor=1.5"]
)
async def test_a_query_integer_is_decimal_digits(hub: RunningHub, query: str) -> None:
    status, body = await hub.get(f"/api/events?{query}")
    assert status == 400, body
    assert body["code"] in ("invalid_params", "bad_params")


async def test_a_path_integer_is_decimal_digits(hub: RunningHub) -> None:
    status, body = await hub.get("/api/events/1.0")
    assert status == 400, body


@pytest.mark.parametrize("body", [b"", b"{", b"\x00"])
async def test_a_new_task_that_is_not_json_is_bad_json(hub: RunningHub, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    async with hub.session.post(hub.url + "/api/tasks", data=body, headers=headers) as r:
        assert r.status == 400
        assert r.content_type == MEDIA_TYPE
        assert (await r.json(content_type=MEDIA_TYPE))["code"] == "bad_json"


async def test_the_spec_documents_every_answer_of_the_guard(hub: RunningHub) -> None:
    status, spec = await hub.get("/docs/spec")
    assert status == 200
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "500"} <= codes, (method, path)
            if method == "post":
                assert {"413", "415", "503"} <= codes, (method, path)
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == [MEDIA_TYPE], (method, path, code)


async def test_the_spec_describes_the_publish_body_and_keeps_bounds(hub: RunningHub) -> None:
    status, spec = await hub.get("/docs/spec")
    assert status == 200
    body = spec["paths"]["/api/events"]["post"]["requestBody"]
    assert body["required"] is True
    assert "PublishTaskCreated" in spec["components"]["schemas"]
    # `int | None` keeps its bounds (aiohttp-pydantic's own translation dropped them)
    (after,) = [
        x for x in spec["paths"]["/api/events"]["get"]["parameters"] if x["name"] == "after"
    ]
    assert after["schema"]["nullable"] is True
    assert after["schema"]["maximum"] == 2**63 - 1
    max_attempts = spec["components"]["schemas"]["NewTask"]["properties"]["max_attempts"]
    assert (max_attempts["minimum"], max_attempts["maximum"]) == (1, 100)


async def test_a_task_the_store_cannot_take_is_503_not_500(hub: RunningHub, tmp_path: Path) -> None:
    status, body = await hub.post("/api/tasks", {"title": "kept", "id": "t-kept"})
    assert status == 201, body
    with refusing_writes(tmp_path / "harness.db"):
        status, body = await hub.post("/api/tasks", {"title": "refused"})
        assert (status, body["code"]) == (503, "unavailable"), body
        status, body = await hub.post("/api/tasks/t-kept/cancel", {})
        assert (status, body["code"]) == (503, "unavailable"), body


NULLS = {
    "event-id": {"type": "event", "payload": {"event": {"message": "m", "id": None}}},
    "telegram-at": {
        "type": "telegram:message",
        "payload": {
            "message": {"id": "1", "direction": "in", "chat_id": "c", "text": "t", "at": None}
        },
    },
    "task-status": {"type": "task:created", "payload": {"task": {"id": "t1", "status": None}}},
}


@pytest.mark.parametrize("name", NULLS)
async def test_an_explicit_null_keeps_the_default_and_the_hub_writing(
    hub: RunningHub, name: str
) -> None:
    # Each was acknowledged, then refused by the store (NOT NULL) and retried forever:
    # every later publish was 503 until a restart.
    (first,) = await hub.publish(NULLS[name])
    (after,) = await hub.publish(generic("after"))
    assert after["seq"] == first["seq"] + 1
    status, event = await hub.get(f"/api/events/{first['seq']}")
    assert status == 200, event
    if name == "event-id":
        assert event["payload"]["event"]["id"] == f"evt-{first['seq']}"
    elif name == "telegram-at":
        assert event["payload"]["message"]["at"] == event["timestamp"]
    else:
        assert event["payload"]["task"]["status"] == "pending"


async def test_a_method_not_allowed_names_the_allowed_ones(hub: RunningHub) -> None:
    async with hub.session.delete(hub.url + "/api/tasks") as r:
        assert r.status == 405
        assert r.headers.get("Allow") == "GET, HEAD, POST"
