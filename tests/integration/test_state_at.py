"""`GET /api/state?at=`: the fleet as it was after an event, by seq or by time, and clear
refusals for a point the log cannot answer for."""

from __future__ import annotations

from urllib.parse import quote

from tests.conftest import RunningHub


async def test_the_state_after_an_event_by_seq_and_by_time(hub: RunningHub) -> None:
    def task(type_: str, **fields: str) -> dict[str, object]:
        return {"type": type_, "payload": {"task": {"id": "t1", **fields}}}

    (first,) = await hub.publish(task("task:created", title="one", status="queued"))
    (second,) = await hub.publish(task("task:updated", status="running"))
    await hub.publish(task("task:completed", status="completed"))

    status, before = await hub.get("/api/state?at=0")
    assert (status, before["seq"], before["tasks"], before["at"]) == (200, 0, [], None), before
    status, at_first = await hub.get(f"/api/state?at={first['seq']}")
    assert status == 200, at_first
    assert [(t["id"], t["status"]) for t in at_first["tasks"]] == [("t1", "queued")]
    status, event = await hub.get(f"/api/events/{second['seq']}")
    status, by_time = await hub.get(f"/api/state?at={quote(event['timestamp'])}")
    assert status == 200, by_time
    # the last event at or before that time: the second, or the third in the same millisecond
    assert by_time["seq"] in (2, 3) and by_time["at"][:23] == event["timestamp"][:23]
    expected = {2: "running", 3: "completed"}[by_time["seq"]]
    assert [t["status"] for t in by_time["tasks"]] == [expected]
    status, now = await hub.get("/api/snapshot")
    status, latest = await hub.get(f"/api/state?at={now['seq']}")
    assert {k: latest[k] for k in now} == now, "the state at the head is not the snapshot"


async def test_points_the_log_cannot_answer_for_are_refused(hub: RunningHub) -> None:
    await hub.publish({"type": "event", "payload": {"event": {"message": "m"}}})
    for at, words in [
        ("2", "beyond the log"),
        ("abc", "neither a seq nor an ISO 8601 time"),
        ("1999-01-01T00:00:00Z", "before the log's first event"),
        ("99999999999999999999", "integer from"),
    ]:
        status, body = await hub.get(f"/api/state?at={quote(at)}")
        assert (status, body["code"], body["param"]) == (400, "bad_params", "at"), body
        assert words in body["detail"], body
    status, body = await hub.get("/api/state")
    assert status == 400, body
