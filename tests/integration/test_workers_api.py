"""Workers on other machines over REST (issue 19): registration, leases, labels, expiry,
late results, events under a lease, commands. A real hub on port 0 with a real SQLite file;
lease expiry is driven by the desk's wall clock moved forward, not by waiting."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from parent_harness.web.app import HubServer
from parent_harness.web.workers import DESK
from tests.conftest import RunningHub, settings_for

ADMIN = {"Authorization": "Bearer admin"}
W1 = {"Authorization": "Bearer w1-secret"}
W2 = {"Authorization": "Bearer w2-secret"}
READER = {"Authorization": "Bearer reader"}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    settings = settings_for(
        tmp_path,
        tokens=("admin",),
        read_tokens=("reader",),
        worker_tokens=("w1-secret", "w2-secret"),
        lease_s=30.0,
    )
    server = HubServer(settings)
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield RunningHub(server, session)
    await server.stop()


async def register(
    hub: RunningHub, name: str, headers: dict[str, str], labels: tuple[str, ...] = ()
) -> dict[str, Any]:
    body = {"name": name, "agents": ["sim"], "labels": list(labels), "version": "t"}
    status, answer = await hub.post("/api/workers/register", body, headers=headers)
    assert status == 201, answer
    return dict(answer["worker"])


async def add_task(hub: RunningHub, task_id: str, **fields: Any) -> None:
    status, body = await hub.post(
        "/api/tasks", {"id": task_id, "title": task_id, **fields}, headers=ADMIN
    )
    assert status == 201, body


async def claim(hub: RunningHub, worker: str, headers: dict[str, str]) -> dict[str, Any] | None:
    url = f"{hub.url}/api/workers/{worker}/claim"
    async with hub.session.post(url, json={"agents": ["sim"]}, headers=headers) as r:
        if r.status == 204:
            return None
        body = await r.json(content_type=None)
        assert r.status == 200, body
        return dict(body)


def advance(hub: RunningHub, seconds: float) -> None:
    """Moves the desk's wall clock forward: leases and heartbeats age without waiting."""
    hub.server.app[DESK]._wall = lambda: time.time() + seconds


async def test_a_worker_token_reaches_only_the_worker_routes(hub: RunningHub) -> None:
    await register(hub, "w1", W1)
    for path in ("/api/snapshot", "/api/tasks", "/api/events", "/metrics"):
        status, body = await hub.get(path, headers=W1)
        assert status == 403, (path, body)
        assert body["code"] == "forbidden"
    status, body = await hub.post("/api/tasks", {"title": "x"}, headers=W1)
    assert (status, body["code"]) == (403, "forbidden")
    event = {"type": "agent:status", "payload": {"agent": {"id": "sim@w1"}}}
    status, body = await hub.post("/api/events", event, headers=W1)
    assert (status, body["code"]) == (403, "forbidden")
    ws = await hub.connect(headers=W1)
    code, reason = await ws.closed()
    assert (code, reason) == (4403, "a worker token cannot subscribe")


async def test_read_tokens_cannot_register_and_tokens_cannot_act_for_others(
    hub: RunningHub,
) -> None:
    body = {"name": "w1", "agents": ["sim"]}
    status, answer = await hub.post("/api/workers/register", body, headers=READER)
    assert (status, answer["code"]) == (403, "forbidden")
    await register(hub, "w1", W1)
    status, answer = await hub.post("/api/workers/register", body, headers=W2)
    assert (status, answer["code"]) == (409, "name_taken")
    status, answer = await hub.post("/api/workers/w1/claim", {"agents": ["sim"]}, headers=W2)
    assert (status, answer["code"]) == (403, "not_registered")
    status, answer = await hub.post("/api/workers/w1/heartbeat", {}, headers=W2)
    assert (status, answer["code"]) == (403, "not_registered")


async def test_bad_registrations_are_refused_naming_the_field(hub: RunningHub) -> None:
    for body, field in (
        ({"name": "../x", "agents": ["sim"]}, "name"),
        ({"name": "w1", "agents": []}, "agents"),
        ({"name": "w1", "agents": ["sim"], "labels": ["a b"]}, "labels.0"),
        ({"name": "w1", "agents": ["sim"], "extra": 1}, "extra"),
    ):
        status, answer = await hub.post("/api/workers/register", body, headers=W1)
        assert status == 400, answer
        assert answer["field"] == field, answer


async def test_registration_shows_the_worker_in_the_snapshot_and_the_list(
    hub: RunningHub,
) -> None:
    await register(hub, "w1", W1, labels=("gpu",))
    status, listed = await hub.get("/api/workers", headers=READER)
    assert status == 200
    (worker,) = listed["items"]
    assert worker["status"] == "online"
    assert worker["labels"] == ["gpu"] and worker["agents"] == ["sim"]
    assert worker["last_seen_at"] and worker["version"] == "t"
    status, snap = await hub.get("/api/snapshot", headers=READER)
    assert [w["id"] for w in snap["workers"]] == ["w1"]


async def test_a_silent_worker_is_offline(hub: RunningHub) -> None:
    await register(hub, "w1", W1)
    desk = hub.server.app[DESK]
    await desk.sweep()
    assert hub.node.committed_state.workers["w1"]["status"] == "online"
    hub.server.app[DESK].lease_s = 0.0  # any silence is past the lease now
    await desk.sweep()
    assert hub.node.committed_state.workers["w1"]["status"] == "offline"
    status, _ = await hub.post("/api/workers/w1/heartbeat", {"running": 0}, headers=W1)
    assert status == 200
    assert hub.node.committed_state.workers["w1"]["status"] == "online"


async def test_a_claim_assigns_the_task_under_a_lease_once(hub: RunningHub) -> None:
    await register(hub, "w1", W1)
    await register(hub, "w2", W2)
    await add_task(hub, "t1")
    won = await claim(hub, "w1", W1)
    assert won is not None
    assert won["task"]["id"] == "t1" and won["lease_id"] and won["expires_at"]
    task = hub.node.committed_state.tasks["t1"]
    assert task["status"] == "assigned" and task["worker_id"] == "w1"
    assert task["agent_id"] == "sim@w1" and task["attempts"] == 1
    assert await claim(hub, "w2", W2) is None
    assert await claim(hub, "w1", W1) is None


async def test_concurrent_claims_give_each_task_to_one_worker(hub: RunningHub) -> None:
    workers = {"w1": W1, "w2": W2}
    for name, headers in workers.items():
        await register(hub, name, headers)
    for i in range(30):
        await add_task(hub, f"c{i}")

    async def drain(name: str) -> list[str]:
        got = []
        while (won := await claim(hub, name, workers[name])) is not None:
            got.append(won["task"]["id"])
        return got

    results = await asyncio.gather(*(drain(n) for n in workers for _ in range(3)))
    claimed = Counter(t for got in results for t in got)
    assert sorted(claimed) == sorted(f"c{i}" for i in range(30))
    assert set(claimed.values()) == {1}


async def test_labels_are_respected_and_a_task_no_worker_can_take_says_so(
    hub: RunningHub,
) -> None:
    await register(hub, "plain", W1)
    await add_task(hub, "needs-gpu", labels=["gpu"])
    assert await claim(hub, "plain", W1) is None
    await hub.server.app[DESK].sweep()
    reason = hub.node.committed_state.tasks["needs-gpu"]["waiting_reason"]
    assert reason == "no live worker carries the labels ['gpu']"
    await register(hub, "gpu-box", W2, labels=("gpu", "linux"))
    await hub.server.app[DESK].sweep()
    assert hub.node.committed_state.tasks["needs-gpu"]["waiting_reason"] is None
    won = await claim(hub, "gpu-box", W2)
    assert won is not None and won["task"]["id"] == "needs-gpu"


async def test_release_settles_the_task_and_a_second_release_is_refused(
    hub: RunningHub,
) -> None:
    await register(hub, "w1", W1)
    await add_task(hub, "t1")
    won = await claim(hub, "w1", W1)
    assert won is not None
    ref = {"task_id": "t1", "lease_id": won["lease_id"]}
    status, body = await hub.post("/api/workers/w1/renew", ref, headers=W1)
    assert status == 200, body
    release = {**ref, "outcome": "completed"}
    status, body = await hub.post("/api/workers/w1/release", release, headers=W1)
    assert status == 200, body
    assert hub.node.committed_state.tasks["t1"]["status"] == "completed"
    status, body = await hub.post("/api/workers/w1/release", release, headers=W1)
    assert (status, body["code"], body["task_id"]) == (409, "lease_lost", "t1")
    assert await claim(hub, "w1", W1) is None  # a completed task is not handed out again


async def test_a_failed_run_is_requeued_by_the_retry_policy(hub: RunningHub) -> None:
    await register(hub, "w1", W1)
    await add_task(hub, "t1", max_attempts=2)
    won = await claim(hub, "w1", W1)
    assert won is not None
    failure = {"kind": "exit_code", "message": "exit 1", "exit_code": 1}
    release = {"task_id": "t1", "lease_id": won["lease_id"], "outcome": "failed"}
    status, body = await hub.post(
        "/api/workers/w1/release", {**release, "failure": failure}, headers=W1
    )
    assert status == 200, body
    task = hub.node.committed_state.tasks["t1"]
    assert task["status"] == "queued" and task["attempts"] == 1
    assert task["error_details"]["kind"] == "exit_code"


async def test_an_expired_lease_is_requeued_once_and_its_late_result_refused(
    hub: RunningHub,
) -> None:
    await register(hub, "w1", W1)
    await register(hub, "w2", W2)
    await add_task(hub, "t1")
    first = await claim(hub, "w1", W1)
    assert first is not None
    desk = hub.server.app[DESK]
    advance(hub, 60)
    await asyncio.gather(desk.sweep(), desk.sweep())  # two sweeps race: one requeue
    task = hub.node.committed_state.tasks["t1"]
    assert task["status"] == "queued"
    assert task["error_details"]["kind"] == "lease_expired"
    ended = hub.node.committed_state.sessions[first["task"]["session_id"]]
    assert ended["status"] == "killed"
    requeues = [
        e
        for e in (await hub.get("/api/events?type=task:updated&limit=100", headers=ADMIN))[1][
            "items"
        ]
        if e["payload"]["task"]["id"] == "t1" and e["payload"]["task"]["status"] == "queued"
    ]
    assert len(requeues) == 1
    advance(hub, 0)
    second = await claim(hub, "w2", W2)
    assert second is not None and second["task"]["id"] == "t1"
    late = {"task_id": "t1", "lease_id": first["lease_id"], "outcome": "completed"}
    status, body = await hub.post("/api/workers/w1/release", late, headers=W1)
    assert status == 409, body
    assert body["code"] == "lease_lost" and body["holder"] == "w2"
    assert "w2" in body["detail"] and "t1" in body["detail"]
    status, body = await hub.post(
        "/api/workers/w1/renew", {"task_id": "t1", "lease_id": first["lease_id"]}, headers=W1
    )
    assert (status, body["code"], body["holder"]) == (409, "lease_lost", "w2")
    progress = {"type": "task:updated", "payload": {"task": {"id": "t1", "progress_percent": 5}}}
    status, body = await hub.post("/api/workers/w1/events", [progress], headers=W1)
    assert (status, body["code"], body["holder"]) == (409, "lease_lost", "w2")
    assert hub.node.committed_state.tasks["t1"]["worker_id"] == "w2"


async def test_events_under_a_lease_only(hub: RunningHub) -> None:
    await register(hub, "w1", W1)
    await add_task(hub, "t1")
    await add_task(hub, "t2")
    won = await claim(hub, "w1", W1)
    assert won is not None
    task_id, session_id = won["task"]["id"], won["task"]["session_id"]
    other = "t2" if task_id == "t1" else "t1"
    ok = [
        {
            "type": "session:started",
            "payload": {"session": {"id": session_id, "task_id": task_id, "agent_id": "sim@w1"}},
            "id": f"{session_id}:started",
        },
        {"type": "task:updated", "payload": {"task": {"id": task_id, "status": "running"}}},
        {"type": "session:iteration", "payload": {"session_id": session_id, "iteration": 1}},
        {"type": "agent:status", "payload": {"agent": {"id": "sim@w1", "status": "working"}}},
    ]
    status, body = await hub.post("/api/workers/w1/events", ok, headers=W1)
    assert status == 200, body
    assert hub.node.committed_state.tasks[task_id]["status"] == "running"
    refused = [
        ({"type": "task:updated", "payload": {"task": {"id": other}}}, 409, "lease_lost"),
        (
            {"type": "task:completed", "payload": {"task": {"id": task_id}}},
            403,
            "forbidden",
        ),
        (
            {"type": "task:updated", "payload": {"task": {"id": task_id, "status": "failed"}}},
            403,
            "forbidden",
        ),
        ({"type": "agent:status", "payload": {"agent": {"id": "sim@w2"}}}, 403, "forbidden"),
        (
            {"type": "task:updated", "payload": {"task": {"id": task_id, "worker_id": "w9"}}},
            403,
            "forbidden",
        ),
        (
            {"type": "task:updated", "payload": {"task": {"id": task_id, "priority": 99}}},
            403,
            "forbidden",
        ),
        ({"type": "budget:updated", "payload": {"budget": {"period": "d"}}}, 403, "forbidden"),
        ({"type": "event", "payload": {"event": {"message": "hi"}}}, 403, "forbidden"),
    ]
    for event, code, name in refused:
        status, body = await hub.post("/api/workers/w1/events", [event], headers=W1)
        assert (status, body["code"]) == (code, name), (event, body)
    assert hub.node.committed_state.tasks[other]["status"] == "queued"


async def test_a_cancel_reaches_the_worker_holding_the_task(hub: RunningHub) -> None:
    await register(hub, "w1", W1)
    await register(hub, "w2", W2)
    await add_task(hub, "t1")
    won = await claim(hub, "w1", W1)
    assert won is not None

    async def poll(name: str, headers: dict[str, str], wait: float) -> Any:
        return await hub.get(f"/api/workers/{name}/commands?wait={wait}", headers=headers)

    waiting = asyncio.create_task(poll("w1", W1, 10))
    status, body = await hub.post("/api/tasks/t1/cancel", {}, headers=ADMIN)
    assert status == 200, body
    status, commands = await asyncio.wait_for(waiting, 5)
    assert status == 200 and commands == {"cancel": ["t1"], "approvals": []}
    status, other = await poll("w2", W2, 0)
    assert other == {"cancel": [], "approvals": []}


async def test_an_approval_answer_reaches_the_worker_holding_the_run(hub: RunningHub) -> None:
    await register(hub, "w1", W1)
    await register(hub, "w2", W2)
    await add_task(hub, "t1")
    won = await claim(hub, "w1", W1)
    assert won is not None
    session_id = won["task"]["session_id"]
    request = {
        "type": "approval:requested",
        "payload": {
            "approval": {
                "id": "ap1",
                "task_id": "t1",
                "session_id": session_id,
                "agent_id": "sim@w1",
                "kind": "permission",
                "status": "pending",
                "options": ["allow", "deny"],
            }
        },
    }
    status, body = await hub.post("/api/workers/w1/events", [request], headers=W1)
    assert status == 200, body
    waiting = asyncio.create_task(hub.get("/api/workers/w1/commands?wait=10", headers=W1))
    status, body = await hub.post("/api/approvals/ap1/answer", {"decision": "allow"}, headers=ADMIN)
    assert status == 200, body
    status, commands = await asyncio.wait_for(waiting, 5)
    assert status == 200 and commands["cancel"] == []
    (answer,) = commands["approvals"]
    assert (answer["id"], answer["decision"], answer["status"]) == ("ap1", "allow", "answered")
    status, other = await hub.get("/api/workers/w2/commands?wait=0", headers=W2)
    assert other == {"cancel": [], "approvals": []}
