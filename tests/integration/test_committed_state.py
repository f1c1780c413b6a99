"""What a client is shown is in the store: while a real SQLite file refuses writes, the
events the hub has ordered but not committed are in no snapshot (REST or /ws) and no REST
answer built from state; once the store takes them, a /ws client that took its snapshot
meanwhile gets them live, right after its snapshot's seq, none lost or doubled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import RunningHub, refusing_writes


def agent(ident: str, status: str) -> dict[str, Any]:
    return {"type": "agent:status", "payload": {"agent": {"id": ident, "status": status}}}


BUDGET = {"type": "budget:updated", "payload": {"budget": {"period": "2026-12", "spent_usd": 3.5}}}


async def shown(hub: RunningHub) -> dict[str, Any]:
    """Everything a client can read of state, with the seqs they carry."""
    _, snap = await hub.get("/api/snapshot")
    _, agents = await hub.get("/api/agents")
    _, budget = await hub.get("/api/budget")
    a2_status, _ = await hub.get("/api/agents/a2")
    _, a1 = await hub.get("/api/agents/a1")
    return {
        "seqs": {snap["seq"], agents["seq"], budget["seq"], a1["seq"]},
        "snapshot": {a["id"]: a["status"] for a in snap["agents"]},
        "snapshot budget": snap["budget"],
        "agents": {a["id"]: a["status"] for a in agents["items"]},
        "a1": a1["agent"]["status"],
        "a2": a2_status,
        "budget": budget["budget"],
    }


async def test_state_the_store_has_not_taken_is_shown_to_no_client(
    hub: RunningHub, tmp_path: Path
) -> None:
    await hub.publish(agent("a1", "idle"))
    before = await shown(hub)
    assert before["seqs"] == {1}
    assert before["snapshot"] == before["agents"] == {"a1": "idle"}

    with refusing_writes(tmp_path / "harness.db"):
        batch = [agent("a1", "working"), agent("a2", "idle"), BUDGET]
        status, body = await hub.post("/api/events", batch)
        assert status == 503, body  # ordered (seqs 2..4), then the write failed
        assert await shown(hub) == before, "a client was shown events the store does not hold"
        ws = await hub.connect("snapshot=1")
        await ws.next_of("welcome")
        snap = (await ws.next_of("snapshot"))["payload"]
        assert snap["seq"] == 1
        assert [(a["id"], a["status"]) for a in snap["agents"]] == [("a1", "idle")]
        assert snap["budget"] is None
        status, events = await hub.get("/api/events")
        assert [e["seq"] for e in events["items"]] == [1]

    live = await ws.events_until(4, timeout=10.0)
    assert [(e["seq"], e["type"]) for e in live] == [
        (2, "agent:status"),
        (3, "agent:status"),
        (4, "budget:updated"),
    ], "the live events after the snapshot have a gap or a duplicate"
    after = await shown(hub)
    assert after["seqs"] == {4}
    assert after["snapshot"] == after["agents"] == {"a1": "working", "a2": "idle"}
    assert (after["a1"], after["a2"]) == ("working", 200)
    assert after["budget"] == after["snapshot budget"]
    assert after["budget"]["spent_usd"] == 3.5


async def test_a_snapshot_never_runs_ahead_of_the_events_a_client_can_read(
    hub: RunningHub,
) -> None:
    """However the publishes and reads interleave, every seq a snapshot reflects is readable
    from the log, and a /ws snapshot is followed by the very next seq."""
    for n in range(20):
        await hub.publish(agent(f"b{n}", "idle"))
        _, snap = await hub.get("/api/snapshot")
        status, event = await hub.get(f"/api/events/{snap['seq']}")
        assert status == 200, event
        assert len(snap["agents"]) == snap["seq"]
    ws = await hub.connect("snapshot=1")
    await ws.next_of("welcome")
    snap = (await ws.next_of("snapshot"))["payload"]
    (published,) = await hub.publish(agent("c", "working"))
    (event,) = await ws.events_until(published["seq"])
    assert event["seq"] == snap["seq"] + 1


async def test_every_edge_reports_the_committed_position(hub: RunningHub, tmp_path: Path) -> None:
    """Welcome, snapshot, health and metrics name one position, the committed one; health
    and metrics also show the appended one, which runs ahead while the store refuses."""
    await hub.publish(agent("a1", "idle"))
    with refusing_writes(tmp_path / "harness.db"):
        status, _ = await hub.post("/api/events", [agent("a1", "working"), BUDGET])
        assert status == 503  # ordered (seqs 2 and 3), not committed
        ws = await hub.connect("snapshot=1")
        welcome = (await ws.next_of("welcome"))["payload"]
        snap = (await ws.next_of("snapshot"))["payload"]
        _, health = await hub.get("/api/health")
        async with hub.session.get(hub.url + "/metrics") as response:
            metrics = await response.text()
        assert welcome["seq"] == snap["seq"] == health["seq"] == 1
        assert health["code"] == "degraded"
        assert health["positions"] == {"appended": 3, "committed": 1}
        assert "harness_seq 1.0" in metrics and "harness_seq_appended 3.0" in metrics
    await ws.events_until(3, timeout=10.0)
    _, health = await hub.get("/api/health")
    assert health["positions"] == {"appended": 3, "committed": 3} and health["seq"] == 3
