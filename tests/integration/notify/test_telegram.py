"""Telegram against a fake Bot API on 127.0.0.1: alerts out, commands in, all recorded."""

from __future__ import annotations

import asyncio

from tests.integration.notify.conftest import CHATS, StartNotifier, settings_for
from tests.integration.notify.servers import FakeBotApi
from tests.unit.notify.fakes import FakeControl, FakeHub, agent, failed_task


async def test_one_message_per_incident_not_per_event(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    notifier = await start_notifier(settings_for(api), hub)
    first = hub.emit("task:failed", failed_task("t-1"))
    for attempt in (2, 3):
        hub.emit("task:updated", {"task": {"id": "t-1", "status": "running"}})
        hub.emit("task:failed", failed_task("t-1", attempt))
    hub.emit("agent:status", agent("a-1", health_status="stuck"))
    hub.emit("agent:status", agent("a-1", health_status="crashed"))
    await asyncio.wait_for(notifier.settle(), 5)

    for chat in CHATS:
        task_alert, agent_alert = api.texts(chat)
        assert task_alert.startswith("🔴 Task failed: Fix t-1")
        assert task_alert.endswith("http://dash.test/#/tasks/t-1")
        assert agent_alert.startswith("🔴 Agent unhealthy: worker a-1")
        assert agent_alert.endswith("http://dash.test/#/agents/a-1")
    recorded = [p["message"] for p in hub.of_type("telegram:message")]
    assert len(recorded) == 4 and {m["direction"] for m in recorded} == {"out"}
    assert {m["chat_id"] for m in recorded} == set(CHATS)
    assert recorded[0]["about_seq"] == first.seq


async def test_a_resolved_incident_is_told_once(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    notifier = await start_notifier(settings_for(api), hub)
    hub.emit("task:failed", failed_task("t-1"))
    hub.emit("task:updated", {"task": {"id": "t-1", "status": "running"}})
    hub.emit("task:completed", {"task": {"id": "t-1", "status": "completed"}})
    hub.emit("task:updated", {"task": {"id": "t-1", "progress_percent": 100.0}})
    await asyncio.wait_for(notifier.settle(), 5)
    opened, resolved = api.texts("111")
    assert resolved.startswith("✅ Resolved: Task failed: Fix t-1")


async def test_commands_are_obeyed_only_from_allowed_chats(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    hub, control = FakeHub(), FakeControl()
    await start_notifier(settings_for(api), hub, control)
    await api.say(999, "/pause let me in")
    await api.say(111, "/status")
    await api.until(lambda: len(api.texts("111")) == 1)

    assert not control.paused
    assert api.texts("999") == []
    assert "Spawning: running" in api.texts("111")[0]
    refused = await hub.wait_for("event", lambda p: p["event"]["source"] == "notify.telegram")
    assert refused["event"]["level"] == "warning" and refused["event"]["data"]["chat_id"] == "999"

    await api.say(222, "/pause deploy")
    await api.until(lambda: len(api.texts("222")) == 1)
    assert control.paused and control.reason == "deploy"
    await api.say(222, "/resume")
    await api.until(lambda: len(api.texts("222")) == 2)
    assert not control.paused


async def test_the_conversation_is_recorded_as_events(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    hub.emit("task:created", {"task": {"id": "t-5", "title": "Ship it", "status": "running"}})
    await start_notifier(settings_for(api), hub, FakeControl())
    await api.say(111, "/tasks")
    reply = await hub.wait_for("telegram:message", lambda p: p["message"]["direction"] == "out")
    asked = hub.of_type("telegram:message")[0]["message"]
    assert (asked["direction"], asked["chat_id"], asked["text"]) == ("in", "111", "/tasks")
    asked_seq = next(e.seq for e in hub.events if e.type == "telegram:message")
    assert reply["message"]["about_seq"] == asked_seq
    assert "Ship it" in reply["message"]["text"] and "#/tasks/t-5" in reply["message"]["text"]


async def test_a_5xx_is_retried_and_a_refusal_becomes_an_error_event(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    api.fail_next = [
        (500, {"description": "Internal Server Error"}),
        (502, {"description": "Bad Gateway"}),
        (400, {"description": "Bad Request: chat not found"}),
    ]
    notifier = await start_notifier(settings_for(api), hub)
    hub.emit("task:failed", failed_task("t-1"))
    await asyncio.wait_for(notifier.settle(), 5)

    # Lanes run side by side, so which chat drew which failure varies: count outcomes instead.
    assert len(api.sent) == 1
    (error,) = [p["event"] for p in hub.of_type("event") if p["event"]["level"] == "error"]
    assert error["source"] == "notify.telegram" and "chat not found" in error["message"]
    assert error["data"]["attempts"] >= 1 and "Task failed" in error["data"]["text"]
    assert api.calls.count("sendMessage") == 4


async def test_a_restart_does_not_handle_a_command_twice(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    hub, control = FakeHub(), FakeControl()
    first = await start_notifier(settings_for(api), hub, control)
    await api.say(111, "/pause once")
    await api.until(lambda: len(api.texts("111")) == 1)
    await first.stop()
    control.paused = False

    second = await start_notifier(settings_for(api), hub, control)
    await api.say(111, "/status")
    await api.until(lambda: len(api.texts("111")) == 2)
    await asyncio.wait_for(second.settle(), 5)
    assert not control.paused
    assert "/pause once" not in api.texts("111")[1]
    assert [
        m["message"]["text"]
        for m in hub.of_type("telegram:message")
        if m["message"]["direction"] == "in"
    ] == ["/pause once", "/status"]


class BrokenControl(FakeControl):
    async def pause_spawning(self, reason: str) -> None:
        raise RuntimeError("orchestrator unreachable")


async def test_a_failing_command_is_answered_and_the_bot_keeps_going(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    await start_notifier(settings_for(api), FakeHub(), BrokenControl())
    await api.say(111, "/pause")
    await api.say(111, "/resume")
    await api.until(lambda: len(api.texts("111")) == 2)
    failed, answered = api.texts("111")
    assert failed == "That failed: RuntimeError: orchestrator unreachable"
    assert answered == "Spawning is not paused."
