"""A whole hub on each store: publish over REST, read back through REST and /ws replay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings
from tests.conftest import RunningHub, generic
from tests.contract.log import FLEET


@asynccontextmanager
async def running(store_url: str, **settings: Any) -> AsyncIterator[RunningHub]:
    server = HubServer(Settings(port=0, store=store_url, **settings))
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield RunningHub(server, session)
    finally:
        await server.stop()


def fleet_events() -> list[dict[str, Any]]:
    return [{"type": type_, "payload": payload} for type_, payload in FLEET]


async def test_a_hub_serves_what_was_published_through_rest_and_replay(store_url: str) -> None:
    async with running(store_url) as hub:
        items = await hub.publish(*fleet_events())
        assert [i["seq"] for i in items] == list(range(1, len(FLEET) + 1))
        status, failed = await hub.get("/api/tasks?status=failed")
        assert status == 200 and failed["seq"] == len(FLEET)
        assert [t["id"] for t in failed["items"]] == ["t1"]
        _, found = await hub.get("/api/tasks?q=write%20docs")
        assert [t["id"] for t in found["items"]] == ["t2"]
        _, detail = await hub.get("/api/tasks/t1")
        assert [r["id"] for r in detail["test_runs"]] == ["r1"]
        assert [s["id"] for s in detail["sessions"]] == ["s1"]
        client = await hub.connect("monitor=tasks&since=0")
        await client.next_of("welcome")
        replayed = await client.events_until(19)
        assert [e["seq"] for e in replayed] == [3, 4, 5, 8, 14, 19]
        assert (await client.next_of("replayed"))["payload"]["count"] == 6


async def test_a_restarted_hub_replays_from_the_store(store_url: str) -> None:
    async with running(store_url) as hub:
        await hub.publish(*fleet_events())
        epoch = hub.node.epoch
    async with running(store_url, replay_window=5) as hub:
        assert hub.node.epoch == epoch
        _, snapshot = await hub.get("/api/snapshot")
        assert snapshot["seq"] == len(FLEET) and snapshot["budget"]["spent_usd"] == 0.02
        more = await hub.publish(*[generic(f"m{n}") for n in range(10)])
        assert not hub.node.window.covers(2)
        client = await hub.connect(f"monitor=session:s1,events&since=2&epoch={epoch}")
        await client.next_of("welcome")
        replayed = await client.events_until(more[-1]["seq"])
        assert [e["seq"] for e in replayed] == [*range(6, 16), 18, *range(20, 30)]
        assert (await client.next_of("replayed"))["payload"]["count"] == 21
