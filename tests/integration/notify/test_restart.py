"""Nothing lost across a restart: open incidents, snoozes and pending deliveries are stored."""

from __future__ import annotations

import asyncio

from parent_harness.notify import ManualClock
from tests.integration.notify.conftest import StartNotifier, settings_for
from tests.integration.notify.servers import WebhookReceiver
from tests.unit.notify.fakes import FakeHub, agent, failed_task


async def test_a_delivery_pending_at_stop_is_sent_after_the_restart(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub, clock = FakeHub(), ManualClock()
    slow_retry = [{"url": receiver.hook_url, "retries": 5, "backoff_s": 30}]
    settings = settings_for(receiver=receiver, webhooks=slow_retry)
    receiver.statuses = [503]
    first = await start_notifier(settings, hub, clock=clock)
    hub.emit("task:failed", failed_task("t-1"))
    await receiver.until(lambda: receiver.attempts == 1)
    await first.stop()
    assert receiver.received == []

    clock.advance(31)
    second = await start_notifier(settings, hub, clock=clock)
    await receiver.until(lambda: len(receiver.received) == 1)
    assert receiver.received[0]["text"].startswith("🔴 Task failed: Fix t-1")

    hub.emit("task:failed", failed_task("t-1", attempt=2))
    hub.emit("task:completed", {"task": {"id": "t-1", "status": "completed"}})
    await asyncio.wait_for(second.settle(), 5)
    assert [d["kind"] for d in receiver.received] == ["incident.opened", "incident.resolved"]


async def test_what_happened_while_stopped_is_told_once(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    settings = settings_for(receiver=receiver)
    first = await start_notifier(settings, hub)
    hub.emit("task:created", {"task": {"id": "t-0", "title": "Before", "status": "running"}})
    await asyncio.wait_for(first.settle(), 5)
    await first.stop()

    hub.emit("task:failed", failed_task("t-9"))
    hub.emit("agent:status", agent("a-3", health_status="crashed"))
    second = await start_notifier(settings, hub)
    await receiver.until(lambda: len(receiver.received) == 2)
    subjects = sorted(d["incidents"][0]["subject"] for d in receiver.received)
    assert subjects == ["a-3", "t-9"]
    await second.stop()

    third = await start_notifier(settings, hub)
    hub.emit("task:failed", failed_task("t-9", attempt=2))
    await asyncio.wait_for(third.settle(), 5)
    assert len(receiver.received) == 2


async def test_a_snooze_outlives_a_restart(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    settings = settings_for(receiver=receiver)
    first = await start_notifier(settings, hub)
    first.snooze("task-failed", 3600, "test")
    await first.stop()

    second = await start_notifier(settings, hub)
    assert [s.scope for s in second.active_snoozes()] == ["task-failed"]
    hub.emit("task:failed", failed_task("t-1"))
    hub.emit("agent:status", agent("a-1", health_status="stuck"))
    await asyncio.wait_for(second.settle(), 5)
    assert [d["rule"] for d in receiver.received] == ["agent-unhealthy"]
