"""REST: lists with their seq, filters before limits, cursor paging, publishing, tokens."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from parent_harness.notify.check import ChannelCheck
from parent_harness.web.app import HubServer
from parent_harness.web.keys import NOTIFIER
from tests.conftest import RunningHub, generic, settings_for


async def test_health_and_snapshot(hub: RunningHub) -> None:
    await hub.publish(
        {"type": "agent:status", "payload": {"agent": {"id": "a1", "status": "working"}}},
        {"type": "budget:updated", "payload": {"budget": {"period": "day", "limit_usd": 5}}},
    )
    status, health = await hub.get("/api/health")
    assert status == 200
    assert health["status"] == "ok" and health["seq"] == 2 and health["epoch"] == hub.node.epoch
    status, snap = await hub.get("/api/snapshot")
    assert snap["seq"] == 2
    assert [a["id"] for a in snap["agents"]] == ["a1"]
    assert snap["budget"]["limit_usd"] == 5


async def test_publish_is_idempotent_by_id(hub: RunningHub) -> None:
    first = await hub.publish({**generic("once"), "id": "k-1"})
    again = await hub.publish({**generic("once"), "id": "k-1"}, generic("new"))
    assert again[0] == {"id": "k-1", "seq": first[0]["seq"], "duplicate": True}
    assert again[1]["duplicate"] is False and again[1]["seq"] == first[0]["seq"] + 1
    status, page = await hub.get("/api/events?type=event")
    assert [e["payload"]["event"]["message"] for e in page["items"]] == ["new", "once"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "task:created", "payload": {"task": {"title": "no id"}}}, "payload.task.id"),
        ([generic("ok"), {"type": "task:boom", "payload": {}}], "type"),
        ({"payload": {}}, "type"),
        ({"type": "event", "payload": {"event": {"message": "m"}}, "extra": 1}, "extra"),
    ],
)
async def test_a_bad_event_is_refused_naming_the_field_and_nothing_is_kept(
    hub: RunningHub, body: object, field: str
) -> None:
    status, answer = await hub.post("/api/events", body)
    assert status == 400
    assert answer["field"] == field
    assert field in answer["detail"]
    assert hub.node.state.seq == 0


async def test_bad_json_body(hub: RunningHub) -> None:
    json_type = {"Content-Type": "application/json"}
    async with hub.session.post(hub.url + "/api/events", data=b"{nope", headers=json_type) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "bad_json"


async def test_task_lists_filter_before_limit_and_page_by_cursor(hub: RunningHub) -> None:
    events = []
    for n in range(25):
        status = "failed" if n % 5 == 0 else "running"
        events.append(
            {
                "type": "task:updated",
                "payload": {"task": {"id": f"t{n}", "title": f"task number {n}", "status": status}},
            }
        )
    await hub.publish(*events)
    status, page = await hub.get("/api/tasks?status=failed&limit=2")
    assert page["seq"] == 25
    assert [t["id"] for t in page["items"]] == ["t20", "t15"]
    status, page2 = await hub.get(f"/api/tasks?status=failed&limit=2&cursor={page['next_cursor']}")
    assert [t["id"] for t in page2["items"]] == ["t10", "t5"]
    status, page3 = await hub.get(f"/api/tasks?status=failed&limit=2&cursor={page2['next_cursor']}")
    assert [t["id"] for t in page3["items"]] == ["t0"] and page3["next_cursor"] is None
    status, found = await hub.get("/api/tasks?q=number%2013")
    assert [t["id"] for t in found["items"]] == ["t13"]


async def test_event_log_filters_and_one_event(hub: RunningHub) -> None:
    await hub.publish(
        {"type": "task:created", "payload": {"task": {"id": "t1"}}},
        {"type": "event", "payload": {"event": {"message": "disk full", "level": "error"}}},
        {"type": "task:failed", "payload": {"task": {"id": "t1", "status": "failed"}}},
        {"type": "event", "payload": {"event": {"message": "fine", "level": "info"}}},
    )
    _, by_glob = await hub.get("/api/events?type=*:failed,task:created&order=asc")
    assert [e["seq"] for e in by_glob["items"]] == [1, 3]
    _, by_level = await hub.get("/api/events?level=error")
    assert [e["seq"] for e in by_level["items"]] == [3, 2]  # the failure and the error event
    _, by_room = await hub.get("/api/events?room=task:t1&limit=1")
    assert [e["seq"] for e in by_room["items"]] == [3] and by_room["next_cursor"] == "3"
    _, by_text = await hub.get("/api/events?q=disk")
    assert [e["seq"] for e in by_text["items"]] == [2]
    _, after = await hub.get("/api/events?after=2&order=asc")
    assert [e["seq"] for e in after["items"]] == [3, 4]
    status, one = await hub.get("/api/events/3")
    assert one["type"] == "task:failed"
    status, _ = await hub.get("/api/events/99")
    assert status == 404


async def test_session_with_iterations_and_heartbeats(hub: RunningHub) -> None:
    await hub.publish(
        {"type": "session:started", "payload": {"session": {"id": "s1", "agent_id": "a"}}},
        {
            "type": "session:iteration",
            "payload": {"session_id": "s1", "iteration": 1, "summary": "read the code"},
        },
        {"type": "session:heartbeat", "payload": {"session_id": "s1", "progress_percent": 30}},
        {"type": "session:iteration", "payload": {"session_id": "s1", "iteration": 2}},
    )
    status, body = await hub.get("/api/sessions/s1")
    assert status == 200
    assert body["session"]["iteration"] == 2
    assert [i["iteration"] for i in body["iterations"]] == [1, 2]
    assert body["iterations"][0]["summary"] == "read the code"
    assert [h["progress_percent"] for h in body["heartbeats"]] == [30]
    status, _ = await hub.get("/api/sessions/nope")
    assert status == 404


async def test_errors_summary_groups_by_signature(hub: RunningHub) -> None:
    def failed(task: str, message: str) -> dict[str, object]:
        return {
            "type": "task:failed",
            "payload": {
                "task": {
                    "id": task,
                    "status": "failed",
                    "error_details": {"kind": "exit", "message": message},
                }
            },
        }

    await hub.publish(
        failed("t1", "exit code 2 at line 40"),
        failed("t2", "exit code 2 at line 7"),
        failed("t3", "timed out"),
    )
    _, summary = await hub.get("/api/errors/summary")
    top = summary["items"][0]
    assert top["count"] == 2 and top["task_ids"] == ["t1", "t2"]
    assert top["signature"] == "exit: exit code N at line N"
    assert summary["seq"] == 3


async def test_tasks_added_cancelled_and_retried(hub: RunningHub) -> None:
    status, created = await hub.post("/api/tasks", {"title": "Write docs", "priority": 3})
    assert status == 201
    task_id = created["task"]["id"]
    assert created["task"]["status"] == "queued" and created["task"]["priority"] == 3
    status, cancelled = await hub.post(f"/api/tasks/{task_id}/cancel", {})
    assert cancelled["task"]["status"] == "cancelled"
    status, retried = await hub.post(f"/api/tasks/{task_id}/retry", {})
    assert retried["task"]["status"] == "queued"
    _, detail = await hub.get(f"/api/tasks/{task_id}")
    assert detail["task"]["status"] == "queued"
    status, _ = await hub.post("/api/tasks/nope/cancel", {})
    assert status == 404
    status, bad = await hub.post("/api/tasks", {"priority": 1})
    assert status == 400


async def test_an_operator_sets_a_tasks_spending_cap(hub: RunningHub) -> None:
    _, created = await hub.post("/api/tasks", {"title": "Costly"})
    task_id = created["task"]["id"]
    status, body = await hub.post(f"/api/tasks/{task_id}/limit", {"limit_usd": 2.5})
    assert status == 200, body
    assert body["task"]["limit_usd"] == 2.5
    assert hub.node.state.tasks[task_id]["limit_usd"] == 2.5
    for bad in ({"limit_usd": 0}, {"limit_usd": -1}, {"limit_usd": "lots"}, {}):
        status, problem = await hub.post(f"/api/tasks/{task_id}/limit", bad)
        assert status == 400, (bad, problem)
        assert "limit_usd" in str(problem)
    assert hub.node.state.tasks[task_id]["limit_usd"] == 2.5  # refused changes lose nothing
    status, _ = await hub.post("/api/tasks/nope/limit", {"limit_usd": 1.0})
    assert status == 404
    _, spec = await hub.get("/docs/spec")
    operation = spec["paths"]["/api/tasks/{task_id}/limit"]["post"]
    assert {"200", "400", "404"} <= set(operation["responses"])


async def test_openapi_document(hub: RunningHub) -> None:
    status, spec = await hub.get("/docs/spec")
    assert status == 200
    for path in ("/api/tasks", "/api/events", "/api/sessions/{session_id}", "/api/health"):
        assert path in spec["paths"]
    publish = spec["paths"]["/api/events"]["post"]
    assert "all or nothing" in publish["description"]
    assert {"200", "400"} <= set(publish["responses"])


async def test_tokens_and_roles(tmp_path: Path) -> None:
    server = HubServer(
        settings_for(tmp_path, tokens=("pub-secret",), read_tokens=("read-secret", "scoped=tasks"))
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            hub = RunningHub(server, session)
            assert (await hub.get("/api/health"))[0] == 401
            spec = (await hub.get("/docs/spec"))[1]  # the documentation stays open
            readable = [p for p, ops in spec["paths"].items() if "{" not in p and "get" in ops]
            for path in [*readable, "/metrics"]:
                assert (await hub.get(path))[0] == 401, path
            assert (await hub.post("/api/notify/test", {}))[0] == 401
            assert spec["paths"]["/api/tasks"]["post"]["description"]  # wrapped, still described
            read = {"Authorization": "Bearer read-secret"}
            assert (await hub.get("/api/health", headers=read))[0] == 200
            assert (await hub.post("/api/events", generic("x"), headers=read))[0] == 403
            pub = {"Authorization": "Bearer pub-secret"}
            assert (await hub.post("/api/events", generic("x"), headers=pub))[0] == 200
            no_token = await hub.connect()
            assert (await no_token.closed())[0] == 4401
            wrong = await hub.connect("token=nope")
            assert (await wrong.closed())[0] == 4401
            scoped_wide = await hub.connect("token=scoped")
            assert (await scoped_wide.closed())[0] == 4403
            scoped = await hub.connect("token=scoped&monitor=tasks")
            assert (await scoped.next())["type"] == "welcome"
            reader = await hub.connect("token=read-secret")
            assert (await reader.next())["type"] == "welcome"
            # What a token may do, for the dashboard to show the buttons that act only to it.
            access = [(await hub.get("/api/access", headers=h))[1] for h in (read, pub)]
            assert access == [
                {"role": "read", "may_publish": False, "rooms": None},
                {"role": "publish", "may_publish": True, "rooms": None},
            ]
            scope = {"Authorization": "Bearer scoped"}
            assert (await hub.get("/api/access", headers=scope))[1]["rooms"] == ["tasks"]
    finally:
        await server.stop()


def test_refuses_another_address_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without a token"):
        HubServer(settings_for(tmp_path, host="0.0.0.0"))


async def test_task_events_say_the_status_they_left_and_the_snapshot_counts_them(
    hub: RunningHub,
) -> None:
    client = await hub.connect("monitor=tasks")
    await client.next_of("welcome")
    items = await hub.publish(
        {"type": "task:created", "payload": {"task": {"id": "t1", "status": "queued"}}},
        {"type": "task:failed", "payload": {"task": {"id": "t1", "status": "failed"}}},
        {"type": "task:created", "payload": {"task": {"id": "t2", "status": "queued"}}},
    )
    events = await client.events_until(items[-1]["seq"])
    assert [e["payload"]["previous_status"] for e in events] == [None, "queued", None]
    _, snap = await hub.get("/api/snapshot")
    assert snap["task_counts"] == {"failed": 1, "queued": 1}


async def test_notify_test_endpoint_reaches_the_running_notifier(hub: RunningHub) -> None:
    status, body = await hub.post("/api/notify/test", {})
    assert status == 409 and body["code"] == "no_channels"

    class Sender:
        async def send_test(self, text: str | None = None) -> list[ChannelCheck]:
            return [ChannelCheck("webhook", "https://hooks.example/x", True, f"sent {text}")]

    hub.server.app[NOTIFIER].notifier = Sender()
    status, body = await hub.post("/api/notify/test", {"text": "hello"})
    assert status == 200
    assert body["ok"] is True
    assert body["results"][0]["detail"] == "sent hello"
