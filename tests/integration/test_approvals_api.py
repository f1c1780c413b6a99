"""Approvals over REST: pending ones in the snapshot and the list, answered once (the first
answer in the log's order wins, the others get 409 with it), kept across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, settings_for


def requested(ident: str, **fields: Any) -> dict[str, Any]:
    approval = {
        "id": ident,
        "agent_id": "claude-1",
        "session_id": "s1",
        "task_id": "t1",
        "kind": "permission",
        "tool": "Bash",
        "summary": "run the tests",
        "detail": "pytest -q",
        "options": ["allow", "deny"],
        "status": "pending",
        "requested_at": "2026-12-01T12:00:00.000Z",
        **fields,
    }
    return {"type": "approval:requested", "payload": {"approval": approval}, "id": f"req-{ident}"}


async def test_a_pending_approval_is_answered_once(hub: RunningHub) -> None:
    await hub.publish(requested("ap1"))
    status, snap = await hub.get("/api/snapshot")
    assert [a["id"] for a in snap["approvals"]] == ["ap1"]
    status, pending = await hub.get("/api/approvals?status=pending")
    assert (status, [a["id"] for a in pending["items"]]) == (200, ["ap1"])

    status, body = await hub.post("/api/approvals/ap1/answer", {"decision": "maybe"})
    assert (status, body["code"], body["options"]) == (400, "bad_decision", ["allow", "deny"])
    status, body = await hub.post("/api/approvals/nope/answer", {"decision": "allow"})
    assert (status, body["code"]) == (404, "not_found")

    status, body = await hub.post(
        "/api/approvals/ap1/answer", {"decision": "allow", "by": "ops", "via": "dashboard"}
    )
    assert status == 200, body
    decided = body["approval"]
    assert (decided["status"], decided["decision"], decided["by"], decided["via"]) == (
        "answered",
        "allow",
        "ops",
        "dashboard",
    )
    status, again = await hub.post("/api/approvals/ap1/answer", {"decision": "deny"})
    assert (status, again["code"]) == (409, "already_decided")
    assert again["approval"]["decision"] == "allow", "the 409 does not carry the winning answer"
    status, snap = await hub.get("/api/snapshot")
    assert snap["approvals"] == []
    status, one = await hub.get("/api/approvals/ap1")
    assert one["approval"]["decision"] == "allow"
    status, none = await hub.get("/api/approvals?status=waiting")
    assert (status, none["items"]) == (200, [])


async def test_answers_racing_from_two_channels_decide_once(hub: RunningHub) -> None:
    """A loop of races: every time, exactly one answer is accepted and the other is told
    which one won; the log holds one decision."""
    for n in range(50):
        ident = f"race{n}"
        await hub.publish(requested(ident))
        answers = [
            hub.post(f"/api/approvals/{ident}/answer", {"decision": "allow", "via": "dashboard"}),
            hub.post(f"/api/approvals/{ident}/answer", {"decision": "deny", "via": "telegram"}),
        ]
        (s1, b1), (s2, b2) = await asyncio.gather(*answers)
        assert sorted((s1, s2)) == [200, 409], (b1, b2)
        won, lost = (b1, b2) if s1 == 200 else (b2, b1)
        assert lost["approval"] == won["approval"], "the loser was not told the winning answer"
        status, stored = await hub.get(f"/api/approvals/{ident}")
        assert stored["approval"] == won["approval"]


async def test_a_pending_approval_survives_a_restart(tmp_path: Path) -> None:
    for round_ in range(2):
        server = HubServer(settings_for(tmp_path))
        await server.start()
        try:
            async with aiohttp.ClientSession() as session:
                hub = RunningHub(server, session)
                if round_ == 0:
                    await hub.publish(requested("kept"))
                else:
                    status, pending = await hub.get("/api/approvals?status=pending")
                    assert [a["id"] for a in pending["items"]] == ["kept"]
                    status, body = await hub.post(
                        "/api/approvals/kept/answer", {"decision": "deny"}
                    )
                    assert status == 200, body
        finally:
            await server.stop()


async def test_a_request_published_without_a_status_is_pending(hub: RunningHub) -> None:
    """A producer that only asks (no status, no time) still gets its request listed and
    answered: an approval first seen without a status waits for an answer."""
    event = requested("ap-bare")
    del event["payload"]["approval"]["status"], event["payload"]["approval"]["requested_at"]
    await hub.publish(event)
    status, pending = await hub.get("/api/approvals?status=pending")
    assert (status, [a["id"] for a in pending["items"]]) == (200, ["ap-bare"])
    assert pending["items"][0]["requested_at"], "the hub did not say when it was asked"
    status, snap = await hub.get("/api/snapshot")
    assert [a["id"] for a in snap["approvals"]] == ["ap-bare"]
    status, body = await hub.post("/api/approvals/ap-bare/answer", {"decision": "deny"})
    assert (status, body["approval"]["status"]) == (200, "answered"), body
