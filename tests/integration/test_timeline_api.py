"""`GET /api/history/timeline`: the scrubber's density over a real hub, and clear refusals."""

from __future__ import annotations

from urllib.parse import quote

from tests.conftest import RunningHub


async def test_the_density_of_the_log_with_its_head_and_oldest_moment(hub: RunningHub) -> None:
    def task(type_: str, **fields: str) -> dict[str, object]:
        return {"type": type_, "payload": {"task": {"id": "t1", **fields}}}

    await hub.publish(task("task:created", title="one", status="queued"))
    await hub.publish(task("task:failed", status="failed"))
    (last,) = await hub.publish({"type": "event", "payload": {"event": {"message": "m"}}})
    status, body = await hub.get("/api/history/timeline?buckets=5")
    assert status == 200, body
    assert len(body["buckets"]) == 5
    assert sum(b["events"] for b in body["buckets"]) == 3
    assert sum(b["failures"] for b in body["buckets"]) == 1
    assert body["head"] == {"seq": last["seq"], "at": body["end"]}, body
    assert body["oldest"]["seq"] == 0 and body["oldest"]["at"] == body["start"]
    assert body["buckets"][-1]["last_seq"] == last["seq"]


async def test_bad_input_is_refused_naming_the_parameter(hub: RunningHub) -> None:
    await hub.publish({"type": "event", "payload": {"event": {"message": "m"}}})
    backwards = f"start={quote('2026-12-02T00:00:00Z')}&end={quote('2026-12-01T00:00:00Z')}"
    status, body = await hub.get(f"/api/history/timeline?{backwards}")
    assert (status, body["code"], body.get("param")) == (400, "bad_params", "end"), body
    assert "before start" in body["detail"], body
    for query in ("buckets=0", "buckets=2001", "buckets=many", "start=yesterday", "end=2026-13-01"):
        status, body = await hub.get(f"/api/history/timeline?{query}")
        assert status == 400 and body["type"].endswith("invalid_params"), body
        assert query.split("=")[0] in str(body), body
