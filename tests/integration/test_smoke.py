from __future__ import annotations

from tests.conftest import RunningHub, generic


async def test_publish_and_receive(hub: RunningHub) -> None:
    client = await hub.connect()
    welcome = await client.next()
    assert welcome["type"] == "welcome"
    items = await hub.publish(
        generic("hello"), {"type": "task:created", "payload": {"task": {"id": "t1", "title": "x"}}}
    )
    events = await client.events_until(items[-1]["seq"])
    assert [e["type"] for e in events] == ["event", "task:created"]
    assert events[1]["payload"]["task"]["status"] == "pending"
