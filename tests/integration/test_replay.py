"""`since` replay, `reset`, and the snapshot handoff: no gap, no duplicate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, generic, settings_for


async def test_since_replays_missed_events_of_the_clients_rooms_in_order(hub: RunningHub) -> None:
    items = await hub.publish(
        generic("one"),
        {"type": "task:created", "payload": {"task": {"id": "t1"}}},
        generic("two"),
        {"type": "task:updated", "payload": {"task": {"id": "t1", "progress_percent": 5}}},
    )
    first = items[0]["seq"]
    client = await hub.connect(f"monitor=events&since={first}&epoch={hub.node.epoch}")
    await client.next_of("welcome")
    replayed = await client.events_until(items[2]["seq"])
    assert [e["payload"]["event"]["message"] for e in replayed] == ["two"]
    done = await client.next_of("replayed")
    assert done["payload"] == {"from_seq": first + 1, "to_seq": items[-1]["seq"], "count": 1}
    live = await hub.publish(generic("three"))
    assert (await client.events_until(live[0]["seq"]))[-1]["seq"] == live[0]["seq"]


async def test_replay_from_the_store_when_the_window_is_gone(tmp_path: Path) -> None:
    server = HubServer(settings_for(tmp_path, replay_window=5))
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            hub = RunningHub(server, session)
            items = await hub.publish(*[generic(f"m{n}") for n in range(40)])
            assert not server.node.window.covers(3)
            client = await hub.connect("since=3")
            await client.next_of("welcome")
            events = await client.events_until(items[-1]["seq"])
            assert [e["seq"] for e in events] == list(range(4, 41))
            assert (await client.next_of("replayed"))["payload"]["count"] == 37
    finally:
        await server.stop()


async def test_reset_when_the_epoch_is_not_this_logs(hub: RunningHub) -> None:
    await hub.publish(generic("x"))
    client = await hub.connect("since=1&epoch=somewhere-else&snapshot=1")
    await client.next_of("welcome")
    reset = await client.next()
    assert reset["type"] == "reset"
    assert "epoch" in reset["payload"]["reason"]
    assert reset["payload"]["epoch"] == hub.node.epoch
    snapshot = await client.next()
    assert snapshot["type"] == "snapshot"
    assert snapshot["payload"]["seq"] == 1


async def test_reset_when_since_is_ahead_of_the_log(hub: RunningHub) -> None:
    client = await hub.connect("since=999")
    await client.next_of("welcome")
    reset = await client.next_of("reset")
    assert "ahead" in reset["payload"]["reason"]


async def test_subscribe_with_since_replays_the_new_room(hub: RunningHub) -> None:
    client = await hub.connect("monitor=events")
    await client.next_of("welcome")
    items = await hub.publish({"type": "task:created", "payload": {"task": {"id": "t9"}}})
    await client.send("subscribe", {"rooms": ["task:t9"], "since": 0})
    events = await client.events_until(items[0]["seq"])
    assert [e["type"] for e in events] == ["task:created"]
    assert (await client.next_of("subscribed"))["payload"]["rooms"] == ["task:t9"]


async def test_snapshot_handoff_while_publishers_are_busy(hub: RunningHub) -> None:
    """Every task created is in the snapshot or arrives live after it, exactly once."""
    stop = asyncio.Event()

    async def publisher(n: int) -> int:
        count = 0
        while not stop.is_set():
            batch = [
                {"type": "task:created", "payload": {"task": {"id": f"p{n}-{count + i}"}}}
                for i in range(5)
            ]
            await hub.publish(*batch)
            count += 5
        return count

    workers = [asyncio.create_task(publisher(n)) for n in range(3)]
    busy = asyncio.Event()
    hub.node.add_listener(lambda event: busy.set() if event.seq >= 50 else None)
    await asyncio.wait_for(busy.wait(), 10)
    clients = []
    for _ in range(5):
        clients.append(await hub.connect("snapshot=1&monitor=tasks"))
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.gather(*workers)
    await hub.node.ingest.flushed()
    final = hub.node.state.seq
    all_ids = set(hub.node.state.tasks)
    for client in clients:
        await client.next_of("welcome")
        snap = await client.next()
        assert snap["type"] == "snapshot"
        seen = [t["id"] for t in snap["payload"]["tasks"]]
        live = await client.events_until(final) if snap["payload"]["seq"] < final else []
        assert [e["seq"] for e in live] == list(range(snap["payload"]["seq"] + 1, final + 1))
        seen += [e["payload"]["task"]["id"] for e in live]
        assert len(seen) == len(set(seen)), "an event doubled"
        assert set(seen) == all_ids, "an event missing"
