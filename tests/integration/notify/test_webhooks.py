"""Webhooks against a receiver on 127.0.0.1: JSON with `text`, retries, no silent loss."""

from __future__ import annotations

import asyncio
import socket

from parent_harness.notify import ManualClock, load_settings
from tests.integration.notify.conftest import StartNotifier, settings_for
from tests.integration.notify.servers import WebhookReceiver
from tests.unit.notify.fakes import FakeHub, agent, failed_task


def errors(hub: FakeHub) -> list[dict[str, object]]:
    return [p["event"] for p in hub.of_type("event") if p["event"]["level"] == "error"]


async def test_a_5xx_is_retried_until_delivered(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    receiver.statuses = [500, 503]
    notifier = await start_notifier(settings_for(receiver=receiver), hub)
    opened = hub.emit("task:failed", failed_task("t-1"))
    await asyncio.wait_for(notifier.settle(), 5)

    assert receiver.attempts == 3
    (document,) = receiver.received
    assert document["text"].startswith("🔴 Task failed: Fix t-1")
    assert document["text"].endswith("http://dash.test/#/tasks/t-1")
    assert (document["kind"], document["rule"], document["about_seq"]) == (
        "incident.opened",
        "task-failed",
        opened.seq,
    )
    assert document["incidents"][0]["subject"] == "t-1"
    assert receiver.headers[0]["X-Key"] == "k"
    assert errors(hub) == []


async def test_a_delivery_that_finally_fails_becomes_an_error_event(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    receiver.statuses = [500] * 10
    notifier = await start_notifier(settings_for(receiver=receiver), hub)
    hub.emit("task:failed", failed_task("t-1"))
    await asyncio.wait_for(notifier.settle(), 5)

    assert receiver.attempts == 4 and receiver.received == []
    (error,) = errors(hub)
    assert error["source"] == "notify.webhook"
    assert "after 4 attempt(s): HTTP 500" in str(error["message"])
    assert "s3cret" not in str(error), "the URL's secret path must not leak into events"
    data = error["data"]
    assert isinstance(data, dict) and data["attempts"] == 4 and "Fix t-1" in data["text"]


async def test_a_4xx_is_not_retried(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    receiver.statuses = [404]
    notifier = await start_notifier(settings_for(receiver=receiver), hub)
    hub.emit("task:failed", failed_task("t-1"))
    await asyncio.wait_for(notifier.settle(), 5)
    assert receiver.attempts == 1
    assert "HTTP 404" in str(errors(hub)[0]["message"])


async def test_an_unreachable_url_is_retried_then_reported(start_notifier: StartNotifier) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hub = FakeHub()
    hook = {"url": f"http://127.0.0.1:{port}/x", "retries": 2, "backoff_s": 0.01, "name": "ops"}
    notifier = await start_notifier(load_settings({"webhooks": [hook], "tick_s": 0.05}), hub)
    hub.emit("task:failed", failed_task("t-1"))
    await asyncio.wait_for(notifier.settle(), 5)
    (error,) = errors(hub)
    assert str(error["message"]).startswith(
        "webhook message to ops not delivered after 3 attempt(s)"
    )


async def test_past_the_rate_limit_one_digest_follows(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub, clock = FakeHub(), ManualClock()
    rule = {
        "name": "task-failed",
        "on": "task:*",
        "when": {"task.status": "failed"},
        "rate_limit": "2/10m",
    }
    notifier = await start_notifier(settings_for(receiver=receiver, rules=[rule]), hub, clock=clock)
    for n in range(5):
        hub.emit("task:failed", failed_task(f"t-{n}"))
    await asyncio.wait_for(notifier.settle(), 5)
    assert len(receiver.received) == 2

    clock.advance(601)
    await receiver.until(lambda: len(receiver.received) == 3)
    digest = receiver.received[2]
    assert digest["kind"] == "incident.digest"
    assert "3 incidents opened while held back, still open" in digest["text"]
    assert [i["subject"] for i in digest["incidents"]] == ["t-2", "t-3", "t-4"]


async def test_snoozed_alerts_are_held_and_told_once_the_snooze_ends(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub, clock = FakeHub(), ManualClock()
    notifier = await start_notifier(settings_for(receiver=receiver), hub, clock=clock)
    notifier.snooze("all", 3600, "test")
    hub.emit("task:failed", failed_task("t-1"))
    hub.emit("task:failed", failed_task("t-2"))
    hub.emit("task:completed", {"task": {"id": "t-2", "status": "completed"}})
    await asyncio.wait_for(notifier.settle(), 5)
    assert receiver.received == []

    clock.advance(3601)
    await receiver.until(lambda: len(receiver.received) == 1)
    (digest,) = receiver.received
    assert "1 incident opened while snoozed, still open" in digest["text"]
    assert [i["subject"] for i in digest["incidents"]] == ["t-1"]


async def test_a_silent_agent_is_reported_by_the_timer(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub, clock = FakeHub(), ManualClock()
    notifier = await start_notifier(settings_for(receiver=receiver), hub, clock=clock)
    hub.emit("agent:status", agent("a-1", status="working"))
    await asyncio.wait_for(notifier.settle(), 5)
    clock.advance(301)
    await receiver.until(lambda: len(receiver.received) == 1)
    assert receiver.received[0]["text"].startswith("🟠 No heartbeat: worker a-1")
    hub.emit("agent:heartbeat", {"agent_id": "a-1"})
    await receiver.until(lambda: len(receiver.received) == 2)
    assert receiver.received[1]["text"].startswith("✅ Resolved: No heartbeat: worker a-1")
