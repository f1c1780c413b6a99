"""The example HAProxy configuration in front of three hubs, as docs/deployment.md runs it."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import aiohttp

from parent_harness.client import HttpPublisher, Subscriber
from tests.conftest import HubProcess, generic, skip_or_fail
from tests.redis_server import free_port

CONFIG = Path(__file__).parents[2] / "deploy" / "haproxy.cfg"


async def test_clients_behind_haproxy_fail_over_without_gap_or_double(
    nodes: list[HubProcess], tmp_path: Path
) -> None:
    binary = shutil.which("haproxy", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if binary is None:
        skip_or_fail("haproxy is not installed (apt-get install haproxy)")
    lb_port = free_port()
    env = {**os.environ, "HARNESS_LB_PORT": str(lb_port)}
    for n, node in enumerate(nodes, 1):
        env[f"HARNESS_NODE{n}_PORT"] = node.url.rsplit(":", 1)[1]
    proxy = await asyncio.create_subprocess_exec(
        str(binary),
        "-f",
        str(CONFIG),
        "-db",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{lb_port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(10):
                while True:
                    try:
                        async with session.get(url + "/api/health") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
        sub = Subscriber(url, since=0, backoff_initial_s=0.1, backoff_max_s=0.5)
        stream = sub.__aiter__()
        seen: list[int] = []
        async with HttpPublisher(nodes[2].url) as pub:
            first = await pub.publish_many([generic(f"a{i}") for i in range(20)])
            while not seen or seen[-1] < first[-1].seq:
                seen.append((await asyncio.wait_for(anext(stream), 10))["seq"])
            # Kill every node but the publisher's: whichever the client was on, it moves.
            for node in nodes[:2]:
                await node.kill()
            second = await pub.publish_many([generic(f"b{i}") for i in range(20)])
            while seen[-1] < second[-1].seq:
                seen.append((await asyncio.wait_for(anext(stream), 20))["seq"])
        await sub.close()
        assert seen == list(range(1, second[-1].seq + 1))
    finally:
        proxy.terminate()
        await proxy.wait()
