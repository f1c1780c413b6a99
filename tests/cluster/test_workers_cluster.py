"""Workers against two hub processes on one Redis and one PostgreSQL (issue 19): claims on
both nodes at once win each task once; an expired lease is requeued once though both nodes
sweep; its late result is refused on either node, naming the new holder."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from parent_harness.client.worker import LeaseLost, WorkerLink
from tests.conftest import HubProcess

ADMIN = {"Authorization": "Bearer admin"}


@pytest.fixture
async def two_hubs(pg_url: str, redis_server: Any) -> AsyncIterator[list[str]]:
    args = ("--broker", redis_server.url, "--token", "admin", "--worker-token", "wtok")
    nodes = [HubProcess(pg_url, *args, "--lease-s", "1") for _ in range(2)]
    try:
        await nodes[0].start()  # creates the schema; the other finds it
        await nodes[1].start()
        yield [node.url for node in nodes]
    finally:
        for node in nodes:
            await node.kill()


async def tasks_on(url: str) -> dict[str, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(headers=ADMIN) as admin,
        admin.get(f"{url}/api/tasks?limit=1000") as resp,
    ):
        return {t["id"]: t for t in (await resp.json())["items"]}


async def add_tasks(url: str, count: int) -> None:
    async with aiohttp.ClientSession(headers=ADMIN) as admin:
        for i in range(count):
            async with admin.post(f"{url}/api/tasks", json={"id": f"t{i}", "title": "x"}) as r:
                assert r.status == 201, await r.text()


async def test_claims_on_two_nodes_win_each_task_once(two_hubs: list[str]) -> None:
    await add_tasks(two_hubs[0], 30)
    async with asyncio.timeout(20):  # both nodes have every task
        while len(await tasks_on(two_hubs[1])) < 30:
            await asyncio.sleep(0.05)
    links = [WorkerLink(two_hubs[i % 2], f"w{i}", token="wtok") for i in range(4)]

    async def drain(link: WorkerLink) -> list[str]:
        await link.register(["sim"], [], 4, "t")
        won: list[str] = []
        while (lease := await link.claim(["sim"])) is not None:
            task_id = lease["task"]["id"]
            won.append(task_id)
            await link.release(task_id, lease["lease_id"], "completed")
        return won

    try:
        results = await asyncio.gather(*(drain(link) for link in links))
    finally:
        for link in links:
            await link.close()
    counts = Counter(t for got in results for t in got)
    assert sorted(counts) == sorted(f"t{i}" for i in range(30))
    assert set(counts.values()) == {1}
    assert results[0] + results[2] and results[1] + results[3]  # both nodes handed out tasks
    async with asyncio.timeout(20):
        while any(t["status"] != "completed" for t in (await tasks_on(two_hubs[1])).values()):
            await asyncio.sleep(0.05)


async def test_an_expired_lease_is_requeued_once_across_nodes(two_hubs: list[str]) -> None:
    await add_tasks(two_hubs[0], 1)
    async with (
        WorkerLink(two_hubs[0], "silent", token="wtok") as silent,
        WorkerLink(two_hubs[1], "alive", token="wtok") as alive,
    ):
        await silent.register(["sim"], [], 1, "t")
        await alive.register(["sim"], [], 1, "t")
        async with asyncio.timeout(20):
            while (first := await silent.claim(["sim"])) is None:
                await asyncio.sleep(0.05)  # the node may not have folded the task yet
        async with asyncio.timeout(20):  # never renewed: it expires, a node requeues it
            second = await alive.claim(["sim"], wait_s=15)
        assert second is not None and second["task"]["id"] == "t0"
        with pytest.raises(LeaseLost) as lost:
            await silent.release("t0", first["lease_id"], "completed")
        assert lost.value.problem["holder"] == "alive"
        assert lost.value.problem["task_id"] == "t0"
    async with (
        aiohttp.ClientSession(headers=ADMIN) as admin,
        admin.get(f"{two_hubs[1]}/api/events?type=task:updated&limit=100") as resp,
    ):
        items = (await resp.json())["items"]
    requeued = [e for e in items if e["payload"]["task"].get("status") == "queued"]
    assert len(requeued) == 1
    assert requeued[0]["payload"]["task"]["error_details"]["kind"] == "lease_expired"
