"""The /ws protocol v1 against a real hub on port 0 with a real SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, WsClient, generic, settings_for

# One event of every type, with the rooms it must reach (DESIGN.md: class room + entity rooms).
EVERY_TYPE: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "agent:status",
        {"agent": {"id": "a1", "status": "working", "current_task_id": "t1"}},
        {"agents", "agent:a1", "task:t1"},
    ),
    (
        "agent:heartbeat",
        {"agent_id": "a1", "session_id": "s1"},
        {"agents", "agent:a1", "session:s1"},
    ),
    ("task:created", {"task": {"id": "t1", "title": "x"}}, {"tasks", "task:t1"}),
    ("task:updated", {"task": {"id": "t1", "agent_id": "a1"}}, {"tasks", "task:t1", "agent:a1"}),
    (
        "task:assigned",
        {"task": {"id": "t1", "agent_id": "a1", "session_id": "s1"}},
        {"tasks", "task:t1", "agent:a1", "session:s1"},
    ),
    (
        "task:completed",
        {"task": {"id": "t1", "status": "completed"}},
        {"tasks", "task:t1", "agent:a1", "session:s1"},
    ),
    ("task:failed", {"task": {"id": "t2", "status": "failed"}}, {"tasks", "task:t2"}),
    (
        "session:started",
        {"session": {"id": "s1", "agent_id": "a1", "task_id": "t1"}},
        {"sessions", "session:s1", "agent:a1", "task:t1"},
    ),
    (
        "session:updated",
        {"session": {"id": "s1", "iteration": 2}},
        {"sessions", "session:s1", "agent:a1", "task:t1"},
    ),
    (
        "session:iteration",
        {"session_id": "s1", "iteration": 3},
        {"sessions", "session:s1", "agent:a1", "task:t1"},
    ),
    (
        "session:heartbeat",
        {"session_id": "s1", "progress_percent": 10},
        {"sessions", "session:s1", "agent:a1", "task:t1"},
    ),
    (
        "session:ended",
        {"session": {"id": "s1", "status": "completed"}},
        {"sessions", "session:s1", "agent:a1", "task:t1"},
    ),
    ("test:started", {"test_run": {"id": "r1", "task_id": "t1"}}, {"tests", "task:t1"}),
    (
        "test:completed",
        {"test_run": {"id": "r1", "status": "passed", "passed": 3}},
        {"tests", "task:t1"},
    ),
    ("budget:updated", {"budget": {"period": "day", "spent_usd": 1}}, {"budget"}),
    (
        "telegram:message",
        {"message": {"id": "m1", "direction": "in", "chat_id": "1", "text": "/status"}},
        {"telegram"},
    ),
    ("event", {"event": {"message": "hello"}}, {"events"}),
]
ROOMS = sorted(
    {
        "agents",
        "tasks",
        "sessions",
        "budget",
        "tests",
        "telegram",
        "events",
        "agent:a1",
        "task:t1",
        "task:t2",
        "session:s1",
        "agent:nobody",
    }
)


async def test_welcome(hub: RunningHub) -> None:
    await hub.publish(generic("before"))
    client = await hub.connect("monitor=tasks,agent:a1&client=probe")
    welcome = await client.next()
    assert welcome["type"] == "welcome"
    payload = welcome["payload"]
    assert payload["protocol"] == 1
    assert payload["rooms"] == ["tasks", "agent:a1"]
    assert payload["seq"] == 1
    assert payload["epoch"] == hub.node.epoch and len(payload["epoch"]) == 16
    assert payload["client_id"] and payload["server"].startswith("parent-harness/")
    assert payload["heartbeat_s"] > 0
    assert welcome["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("since=abc", "since must be an integer"),
        ("monitor=tasks,bad%20room", "malformed room"),
        ("snapshot=maybe", "snapshot must be 0 or 1"),
        ("colour=red", "unknown parameter"),
    ],
)
async def test_bad_parameters_close_4400_with_a_reason(
    hub: RunningHub, query: str, reason: str
) -> None:
    client = await hub.connect(query)
    code, text = await client.closed()
    assert code == 4400
    assert reason in text


async def test_every_event_type_reaches_its_rooms_and_no_other(hub: RunningHub) -> None:
    clients = {room: await hub.connect(f"monitor={room}") for room in ROOMS}
    for client in clients.values():
        await client.next_of("welcome")
    await hub.publish(*[{"type": t, "payload": p} for t, p, _ in EVERY_TYPE])
    received = {room: await _until_pong(client) for room, client in clients.items()}
    for type_, _payload, rooms in EVERY_TYPE:
        got = {room for room, types in received.items() if type_ in types}
        assert got == rooms, type_
    assert received["agent:nobody"] == []


async def _until_pong(client: WsClient) -> list[str]:
    """Event types received before a pong: the publish had returned, so its fan-out is written."""
    await client.send("ping", {"id": "barrier"})
    types = []
    while (msg := await client.next())["type"] != "pong":
        types.append(msg["type"])
    return types


async def test_client_counts_per_room_and_empty_rooms(hub: RunningHub) -> None:
    a = await hub.connect("monitor=tasks,agents")
    b = await hub.connect("monitor=tasks")
    await a.next_of("welcome")
    await b.next_of("welcome")
    await b.send("rooms")
    rooms = await b.next_of("rooms")
    assert rooms["payload"]["rooms"] == {"agents": 1, "tasks": 2}
    await b.send("subscribe", {"rooms": ["task:nobody-here", "agents"]})
    subscribed = await b.next_of("subscribed")
    assert subscribed["payload"]["clients_per_room"] == {"task:nobody-here": 1, "agents": 2}
    await b.send("unsubscribe", {"rooms": ["agents"]})
    gone = await b.next_of("unsubscribed")
    assert gone["payload"]["clients_per_room"] == {"agents": 1}
    status, body = await hub.get("/api/rooms")
    assert body["rooms"] == {"agents": 1, "task:nobody-here": 1, "tasks": 2}


async def test_ping_pong(hub: RunningHub) -> None:
    client = await hub.connect()
    await client.send("ping", {"id": 7, "ts": 1234.5})
    pong = await client.next_of("pong")
    assert pong["payload"]["id"] == 7
    assert pong["payload"]["client_ts"] == 1234.5
    assert pong["payload"]["server_ts"] > 1.7e12


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ('{"type":"subscribe","payload":{"rooms":["no good"]}}', "bad_rooms"),
        ('{"type":"teleport"}', "unknown_type"),
        ('["a list"]', "bad_frame"),
    ],
)
async def test_malformed_frames_get_an_error_and_the_socket_stays_up(
    hub: RunningHub, frame: str, code: str
) -> None:
    client = await hub.connect()
    await client.next_of("welcome")
    await client.ws.send_str(frame)
    err = await client.next_of("error")
    assert err["payload"]["code"] == code
    assert err["payload"]["message"]
    items = await hub.publish(generic("still here"))
    events = await client.events_until(items[0]["seq"])
    assert events[-1]["payload"]["event"]["message"] == "still here"
    await client.send("ping", {"id": 1})
    assert (await client.next_of("pong"))["payload"]["id"] == 1


async def test_binary_frames_are_refused_politely(hub: RunningHub) -> None:
    client = await hub.connect()
    await client.ws.send_bytes(b"\x00\x01")
    assert (await client.next_of("error"))["payload"]["code"] == "bad_frame"


async def test_a_frame_too_big_closes_1009(hub: RunningHub) -> None:
    client = await hub.connect()
    await client.next_of("welcome")
    await client.ws.send_str('{"type":"ping","payload":{"id":"' + "x" * 70_000 + '"}}')
    code, _ = await client.closed()
    assert code == 1009


async def test_too_many_messages_close_4429(tmp_path: Path) -> None:
    server = HubServer(settings_for(tmp_path, max_messages_per_s=5))
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = await RunningHub(server, session).connect()
            for n in range(30):
                await client.send("ping", {"id": n})
            code, reason = await client.closed()
            assert code == 4429
            assert "messages/s" in reason
    finally:
        await server.stop()


async def test_type_globs_filter_the_stream(hub: RunningHub) -> None:
    client = await hub.connect("types=task:*,*:ended")
    await client.next_of("welcome")
    items = await hub.publish(
        generic("skip me"),
        {"type": "task:created", "payload": {"task": {"id": "t"}}},
        {"type": "session:ended", "payload": {"session": {"id": "s"}}},
    )
    events = await client.events_until(items[-1]["seq"])
    assert [e["type"] for e in events] == ["task:created", "session:ended"]
