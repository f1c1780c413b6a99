"""A hub killed with SIGKILL loses nothing it acknowledged; clients resume exactly once."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from parent_harness.client import HttpPublisher, Subscriber
from tests.conftest import HubProcess, WsClient, generic


async def test_resume_after_sigkill_gets_every_acknowledged_event_once_in_order(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    url = await hub.start()
    try:
        async with aiohttp.ClientSession() as session:
            ws = WsClient(await session.ws_connect(url.replace("http", "ws") + "/ws"))
            welcome = await ws.next_of("welcome")
            epoch = welcome["payload"]["epoch"]
            async with HttpPublisher(url) as pub:
                acked = [await pub.publish("event", generic(f"e{n}")["payload"]) for n in range(5)]
                got = await ws.events_until(acked[-1].seq)
                last_seen = got[-1]["seq"]
                await ws.ws.close()
                # Published while the client is away; every one of these is acknowledged.
                acked += await pub.publish_many([generic(f"gone{n}") for n in range(200)])
            await hub.kill()
            await hub.start()
            ws = WsClient(
                await session.ws_connect(
                    hub.url.replace("http", "ws") + f"/ws?since={last_seen}&epoch={epoch}"
                )
            )
            welcome = await ws.next_of("welcome")
            assert welcome["payload"]["epoch"] == epoch
            replay = await ws.events_until(acked[-1].seq)
            assert [e["seq"] for e in replay] == [a.seq for a in acked if a.seq > last_seen]
            assert (await ws.next_of("replayed"))["payload"]["count"] == len(replay)
    finally:
        await hub.kill()


async def test_sdk_subscriber_survives_a_restart_without_gap_or_duplicate(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    url = await hub.start()
    sub = Subscriber(url, since=0, backoff_initial_s=0.05, backoff_max_s=0.2)
    seen: list[int] = []
    try:
        stream = sub.__aiter__()
        async with HttpPublisher(url) as pub:
            first = await pub.publish_many([generic(f"a{n}") for n in range(10)])
        while not seen or seen[-1] < first[-1].seq:
            seen.append((await anext(stream))["seq"])
        await hub.kill()
        port = url.rsplit(":", 1)[1]
        restarted = HubProcess(db)
        await _start_on(restarted, port)
        async with HttpPublisher(url) as pub:
            second = await pub.publish_many([generic(f"b{n}") for n in range(10)])
        while seen[-1] < second[-1].seq:
            seen.append((await anext(stream))["seq"])
        assert seen == list(range(1, second[-1].seq + 1))
        await restarted.kill()
    finally:
        await sub.close()
        await hub.kill()


async def _start_on(proc: HubProcess, port: str) -> None:
    """Starts the hub again on the same port (the subscriber only knows that URL)."""
    import asyncio
    import sys

    proc.proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "parent_harness",
        "serve",
        "--port",
        port,
        "--store",
        f"sqlite:///{proc.db}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.proc.stdout is not None
    await asyncio.wait_for(proc.proc.stdout.readline(), 20)
