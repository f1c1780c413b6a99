"""A token limited to some rooms sees and does over REST what it may on /ws, nothing more.

The finding: `--read-token 'sread=task:t1'` read /api/snapshot, /api/agents, /api/tasks/t2
and /api/events?room=agents; a publish token limited to `tasks` published `agent:status`
and cancelled any task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, generic, settings_for

FLEET = [
    {
        "type": "agent:status",
        "payload": {"agent": {"id": "a1", "status": "working", "current_task_id": "t1"}},
    },
    {"type": "agent:status", "payload": {"agent": {"id": "a2", "status": "idle"}}},
    {
        "type": "task:created",
        "payload": {"task": {"id": "t1", "title": "one", "agent_id": "a1", "status": "running"}},
    },
    {"type": "task:created", "payload": {"task": {"id": "t2", "title": "two"}}},
    {"type": "session:started", "payload": {"session": {"id": "s1", "task_id": "t1"}}},
    {"type": "session:started", "payload": {"session": {"id": "s2", "task_id": "t2"}}},
    {"type": "budget:updated", "payload": {"budget": {"period": "day", "spent_usd": 3}}},
    {
        "type": "task:failed",
        "payload": {"task": {"id": "t2", "status": "failed", "error_details": {"message": "x"}}},
    },
    generic("fleet-wide"),
]

ADMIN = {"Authorization": "Bearer admin"}
T1_READER = {"Authorization": "Bearer sread"}
TASKS_WRITER = {"Authorization": "Bearer stasks"}
T1_WRITER = {"Authorization": "Bearer swrite"}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    settings = settings_for(
        tmp_path,
        tokens=("admin", "stasks=tasks", "swrite=task:t1"),
        read_tokens=("sread=task:t1",),
    )
    server = HubServer(settings)
    await server.start()
    async with aiohttp.ClientSession() as session:
        running = RunningHub(server, session)
        status, body = await running.post("/api/events", FLEET, headers=ADMIN)
        assert status == 200, body
        yield running
    await server.stop()


def _ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


async def test_a_task_reader_sees_only_that_task(hub: RunningHub) -> None:
    status, snap = await hub.get("/api/snapshot", headers=T1_READER)
    assert status == 200
    # Agent a1 works on t1 (its events reach task:t1), a2 does not; s1 belongs to t1.
    assert _ids(snap["agents"]) == {"a1"}
    assert _ids(snap["tasks"]) == {"t1"}
    assert _ids(snap["sessions"]) == {"s1"}
    assert snap["budget"] is None
    assert snap["task_counts"] == {"running": 1}
    assert _ids((await hub.get("/api/agents", headers=T1_READER))[1]["items"]) == {"a1"}
    assert _ids((await hub.get("/api/tasks", headers=T1_READER))[1]["items"]) == {"t1"}
    assert _ids((await hub.get("/api/sessions", headers=T1_READER))[1]["items"]) == {"s1"}
    assert (await hub.get("/api/tasks/t1", headers=T1_READER))[0] == 200
    assert (await hub.get("/api/errors/summary", headers=T1_READER))[1]["items"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/tasks/t2",
        "/api/agents/a2",
        "/api/sessions/s2",
        "/api/events?room=agents",
        "/api/events?room=task:t2",
        "/api/budget",
        "/api/stats/history",
        "/metrics",
    ],
)
async def test_a_task_reader_is_refused_the_rest(hub: RunningHub, path: str) -> None:
    async with hub.session.get(hub.url + path, headers=T1_READER) as response:
        assert response.status == 403, path
        assert response.content_type == "application/problem+json"
        assert (await response.json(content_type=None))["status"] == 403


async def test_the_event_log_is_filtered_to_the_token_rooms(hub: RunningHub) -> None:
    status, page = await hub.get("/api/events?limit=100", headers=T1_READER)
    assert status == 200
    types = [(m["type"], m["payload"]) for m in page["items"]]
    assert types and all("t1" in str(payload) for _, payload in types), types
    everything = (await hub.get("/api/events?limit=100", headers=ADMIN))[1]["items"]
    hidden = {m["seq"] for m in everything} - {m["seq"] for m in page["items"]}
    for seq in hidden:
        assert (await hub.get(f"/api/events/{seq}", headers=T1_READER))[0] == 403
    rooms = (await hub.get("/api/rooms", headers=T1_READER))[1]["rooms"]
    assert set(rooms) <= {"task:t1"}


async def test_a_tasks_writer_publishes_tasks_only(hub: RunningHub) -> None:
    agent = {"type": "agent:status", "payload": {"agent": {"id": "a1", "status": "error"}}}
    status, body = await hub.post("/api/events", agent, headers=TASKS_WRITER)
    assert status == 403, body
    assert body["index"] == 0
    assert hub.node.state.agents["a1"]["status"] == "working"
    mixed = [{"type": "task:updated", "payload": {"task": {"id": "t2", "priority": 5}}}, agent]
    assert (await hub.post("/api/events", mixed, headers=TASKS_WRITER))[0] == 403
    assert hub.node.state.tasks["t2"]["priority"] != 5  # all or nothing
    assert (await hub.post("/api/events", mixed[:1], headers=TASKS_WRITER))[0] == 200
    assert (await hub.post("/api/events", generic("x"), headers=TASKS_WRITER))[0] == 403


async def test_a_task_writer_acts_on_its_task_only(hub: RunningHub) -> None:
    assert (await hub.post("/api/tasks/t2/cancel", {}, headers=T1_WRITER))[0] == 403
    limit = {"limit_usd": 9.0}
    assert (await hub.post("/api/tasks/t2/limit", limit, headers=T1_WRITER))[0] == 403
    assert hub.node.state.tasks["t2"].get("limit_usd") is None
    assert hub.node.state.tasks["t2"]["status"] == "failed"
    status, body = await hub.post("/api/tasks/t1/cancel", {}, headers=T1_WRITER)
    assert status == 200, body
    assert hub.node.state.tasks["t1"]["status"] == "cancelled"
    new = {"title": "not mine", "id": "t9"}
    assert (await hub.post("/api/tasks", new, headers=T1_WRITER))[0] == 403
    assert "t9" not in hub.node.state.tasks


async def test_an_unlimited_token_sees_everything(hub: RunningHub) -> None:
    snap = (await hub.get("/api/snapshot", headers=ADMIN))[1]
    assert _ids(snap["agents"]) == {"a1", "a2"} and _ids(snap["tasks"]) == {"t1", "t2"}
    assert snap["budget"]["spent_usd"] == 3
    async with hub.session.get(hub.url + "/metrics", headers=ADMIN) as response:
        assert response.status == 200
