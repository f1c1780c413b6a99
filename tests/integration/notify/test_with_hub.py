"""The notifier wired to a real hub node (SQLite file): its events pass the real ingest."""

from __future__ import annotations

import asyncio
from pathlib import Path

from parent_harness.events.sink import Event
from parent_harness.hub.node import Node
from parent_harness.notify import Notifier
from tests.integration.notify.conftest import CHATS, settings_for
from tests.integration.notify.servers import FakeBotApi, WebhookReceiver
from tests.unit.notify.fakes import FakeControl, failed_task


async def test_alerts_and_the_conversation_go_through_the_hub(
    api: FakeBotApi, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    node = Node(f"sqlite:///{tmp_path / 'harness.db'}")
    await node.start()
    seen: list[Event] = []
    node.add_listener(seen.append)
    receiver.statuses = [500] * 10
    notifier = Notifier(
        settings_for(api, receiver), node, control=FakeControl(), state_path=tmp_path / "n.db"
    )
    await notifier.start()
    try:
        await node.publish("task:failed", failed_task("t-1"))
        await api.until(lambda: all(api.texts(chat) for chat in CHATS))
        await api.say(int(CHATS[0]), "/status")
        await api.until(lambda: len(api.texts(CHATS[0])) == 2)
        await asyncio.wait_for(notifier.settle(), 5)
    finally:
        await notifier.stop()
        await node.stop()

    messages = [e.payload["message"] for e in seen if e.type == "telegram:message"]
    assert [(m["direction"], m["chat_id"]) for m in messages].count(("out", CHATS[0])) == 2
    assert ("in", CHATS[0]) in [(m["direction"], m["chat_id"]) for m in messages]
    errors = [e.payload["event"] for e in seen if e.type == "event"]
    assert [e["source"] for e in errors] == ["notify.webhook"]
    assert errors[0]["level"] == "error"
