"""Several hubs on one Redis and one PostgreSQL: one order, nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp

from parent_harness.client import HttpPublisher
from parent_harness.exceptions import PublishError
from tests.conftest import HubProcess, WsClient, generic


def ws(url: str, query: str = "") -> str:
    return url.replace("http", "ws", 1) + "/ws" + (f"?{query}" if query else "")


async def all_events(url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = 0
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{url}/api/events?order=asc&limit=1000&after={after}") as r:
                page = await r.json()
            out += page["items"]
            if not page["next_cursor"]:
                return out
            after = int(page["next_cursor"])


async def metric(session: aiohttp.ClientSession, url: str, name: str) -> float:
    async with session.get(f"{url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in {url}/metrics")


async def until_metric(
    session: aiohttp.ClientSession, url: str, name: str, value: float, timeout: float = 5.0
) -> None:
    async with asyncio.timeout(timeout):
        while await metric(session, url, name) < value:
            await asyncio.sleep(0.05)  # polling /metrics: nothing to wait on across processes


async def test_a_client_on_one_node_gets_the_others_events_in_order(
    nodes: list[HubProcess],
) -> None:
    a, b, c = nodes
    async with aiohttp.ClientSession() as session:
        client = WsClient(await session.ws_connect(ws(a.url)))
        await client.next_of("welcome")
        acked = []
        async with HttpPublisher(b.url) as on_b, HttpPublisher(c.url) as on_c:
            for n in range(20):
                pub = on_b if n % 2 else on_c
                acked += await pub.publish_many([generic(f"n{n}-{i}") for i in range(5)])
        events = await client.events_until(max(r.seq for r in acked))
        assert [e["seq"] for e in events] == list(range(1, 101))
        assert sorted(r.seq for r in acked) == list(range(1, 101))
        stored = await all_events(a.url)
        assert [e["seq"] for e in stored] == list(range(1, 101))
        # Each event was written once, by the node that took it in: B and C 50 each, A none.
        for node in nodes:  # A's clients got everything: B's and C's writes were confirmed
            await until_metric(session, node.url, "harness_events_committed_total", 100)
        written = [await metric(session, n.url, "harness_events_written_total") for n in nodes]
        assert written == [0, 50, 50]
        taken = [await metric(session, n.url, "harness_events_taken_over_total") for n in nodes]
        assert taken == [0, 0, 0]


async def test_clients_of_a_killed_node_resume_on_another_without_gap_or_double(
    nodes: list[HubProcess],
) -> None:
    a, b, c = nodes
    stop = asyncio.Event()
    acked: list[int] = []

    async def publish_on(node: HubProcess) -> None:
        async with HttpPublisher(node.url) as pub:
            for n in itertools.count():
                if stop.is_set():
                    return
                results = await pub.publish_many(
                    [
                        {**generic(f"{node.url}-{n}-{i}"), "id": f"{node.url}-{n}-{i}"}
                        for i in range(3)
                    ]
                )
                acked.extend(r.seq for r in results)

    async with aiohttp.ClientSession() as session:
        client = WsClient(await session.ws_connect(ws(a.url, "client=follower")))
        epoch = (await client.next_of("welcome"))["payload"]["epoch"]
        publishers = [asyncio.create_task(publish_on(n)) for n in (b, c)]
        seen = await client.events_until(30)
        await a.kill()  # SIGKILL, mid-stream
        while True:  # what A wrote before it died is still readable
            try:
                seen.append(await client.next(timeout=2))
            except (ConnectionError, TimeoutError):
                break
        last = max(m["seq"] for m in seen if "seq" in m)
        resumed = WsClient(await session.ws_connect(ws(b.url, f"since={last}&epoch={epoch}")))
        await resumed.next_of("welcome")
        seen += await resumed.events_until(last + 30, timeout=20)  # publishers run on
        stop.set()
        await asyncio.gather(*publishers)
        final = max(acked)
        if seen[-1]["seq"] < final:
            seen += await resumed.events_until(final, timeout=20)
    seqs = [m["seq"] for m in seen if "seq" in m]
    assert seqs == list(range(1, final + 1)), "a gap or a double across the failover"
    assert set(acked) <= set(seqs)


async def test_redis_restart_mid_stream(nodes: list[HubProcess], redis_server: Any) -> None:
    a, b, _ = nodes
    acked: list[int] = []
    refused = 0
    async with aiohttp.ClientSession() as session, HttpPublisher(b.url, retries=0) as pub:
        client = WsClient(await session.ws_connect(ws(a.url)))
        await client.next_of("welcome")
        acked += [r.seq for r in await pub.publish_many([generic(f"before{i}") for i in range(10)])]
        redis_server.stop()
        # While Redis is down: publishers get a clear error, health says so.
        try:
            await pub.publish("event", generic("during")["payload"], id="during-1")
        except PublishError as exc:
            refused += 1
            assert "redis" in str(exc) or "503" in str(exc)
        async with asyncio.timeout(15):
            while True:
                async with session.get(a.url + "/api/health") as resp:
                    if resp.status == 503:
                        body = await resp.json(content_type=None)  # a problem
                        assert body["code"] == "degraded" and body["broker"]["ok"] is False
                        break
                await asyncio.sleep(0.1)
        redis_server.start()
        async with asyncio.timeout(20):
            while True:
                async with session.get(a.url + "/api/health") as resp:
                    if resp.status == 200:
                        break
                await asyncio.sleep(0.1)
        async with asyncio.timeout(20):
            while True:
                try:
                    results = await pub.publish_many([generic(f"after{i}") for i in range(10)])
                    break
                except PublishError:
                    await asyncio.sleep(0.2)
        acked += [r.seq for r in results]
        events = await client.events_until(max(acked), timeout=20)
        seqs = [e["seq"] for e in events]
        assert set(acked) <= set(seqs)
        assert seqs == sorted(set(seqs))
    assert refused == 1
