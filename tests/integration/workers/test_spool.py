"""The worker's on-disk spool across a real network cut (a TCP proxy between the worker's
link and the hub, closed, then opened again): events published meanwhile wait on disk,
survive a restart of the spool, and reach the hub once each, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from parent_harness.client.spool import EventSpool
from parent_harness.client.worker import WorkerLink
from parent_harness.web.app import HubServer
from tests.conftest import settings_for

ADMIN = {"Authorization": "Bearer admin"}


class Proxy:
    """A TCP proxy on a fixed port that can be cut (every connection closed, the port
    refused) and opened again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._writers -= {writer, up_writer}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubServer]:
    server = HubServer(settings_for(tmp_path, tokens=("admin",), worker_tokens=("wtok",)))
    await server.start()
    yield server
    await server.stop()


async def test_a_network_cut_delays_events_and_loses_or_doubles_none(
    tmp_path: Path, hub: HubServer
) -> None:
    port = int(hub.url.rsplit(":", 1)[1])
    proxy = Proxy(port)
    await proxy.open()
    async with aiohttp.ClientSession(headers=ADMIN) as admin:
        body = {"id": "t1", "title": "t1"}
        async with admin.post(f"{hub.url}/api/tasks", json=body) as resp:
            assert resp.status == 201
    spool_file = tmp_path / "spool.db"
    async with WorkerLink(f"http://127.0.0.1:{proxy.port}", "w1", token="wtok") as link:
        await link.register(["sim"], [], 1, "t")
        won = await link.claim(["sim"])
        assert won is not None
        spool = EventSpool(spool_file, link.send_events, max_backoff_s=0.2)
        await spool.start()

        async def progress(n: int) -> None:
            task = {"id": "t1", "progress_percent": float(n)}
            await spool.publish("task:updated", {"task": task}, id=f"p{n}")

        for n in range(5):
            await progress(n)
        await spool.flush()
        await proxy.cut()
        for n in range(5, 25):
            await progress(n)
        async with asyncio.timeout(10):
            while spool.unreachable_since is None:  # the sender found the hub gone
                await asyncio.sleep(0.02)
        assert await spool.pending() == 20
        await spool.stop()  # the worker restarts while the hub is unreachable
        await proxy.open()
        again = EventSpool(spool_file, link.send_events, max_backoff_s=0.2)
        await again.start()
        for n in range(25, 30):
            task = {"id": "t1", "progress_percent": float(n)}
            await again.publish("task:updated", {"task": task}, id=f"p{n}")
        await asyncio.wait_for(again.flush(), 10)
        assert await again.pending() == 0 and again.dropped == 0
        await again.stop()
    await proxy.cut()
    async with (
        aiohttp.ClientSession(headers=ADMIN) as admin,
        admin.get(f"{hub.url}/api/events?type=task:updated&order=asc&limit=1000") as resp,
    ):
        items = (await resp.json())["items"]
    sent = [e["payload"]["task"]["progress_percent"] for e in items]
    assert sent == [float(n) for n in range(30)]
    assert hub.node.committed_state.tasks["t1"]["progress_percent"] == 29.0
