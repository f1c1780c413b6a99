"""A client that stops reading is closed with 4408; the others keep pace; memory stays bounded."""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import aiohttp

from parent_harness.client import HttpPublisher
from tests.conftest import HubProcess, WsClient, generic, raw_websocket

BOUND = 256 * 1024


def stalled_client(url: str) -> socket.socket:
    """A WebSocket client that never reads."""
    return raw_websocket(url, "client=stalled")


def read_until_close(sock: socket.socket) -> tuple[int, str]:
    """Reads server frames off the raw socket until the close frame: (code, reason)."""
    sock.settimeout(10)
    data = b""

    def need(n: int) -> None:
        nonlocal data
        while len(data) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a close frame")
            data += chunk

    while True:
        need(2)
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        offset = 2
        if length == 126:
            need(4)
            length, offset = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            need(10)
            length, offset = struct.unpack("!Q", data[2:10])[0], 10
        need(offset + length)
        body, data = data[offset : offset + length], data[offset + length :]
        if opcode == 0x8:
            return struct.unpack("!H", body[:2])[0], body[2:].decode()


async def test_a_stalled_client_is_closed_4408_and_the_others_keep_pace(tmp_path: Path) -> None:
    hub = HubProcess(
        tmp_path / "hub.db", "--max-client-buffer", str(BOUND), "--replay-window", "100"
    )
    url = await hub.start()
    stalled = stalled_client(url)
    try:
        async with aiohttp.ClientSession() as session, HttpPublisher(url) as pub:
            fast = [
                WsClient(await session.ws_connect(url.replace("http", "ws") + "/ws"))
                for _ in range(3)
            ]
            for client in fast:
                await client.next_of("welcome")
            rss_before = hub.rss_kib()
            filler = "x" * 900
            acked = []
            for _ in range(40):
                acked += await pub.publish_many([generic("bulk", pad=filler) for _ in range(100)])
                for client in fast:  # the fast clients read everything as it comes
                    got = await client.events_until(acked[-1].seq)
                    assert got[-1]["seq"] == acked[-1].seq
            async with session.get(url + "/api/health") as resp:
                health = await resp.json()
            assert health["clients"] == 3, "the stalled client should have been dropped"
            growth_mib = (hub.rss_kib() - rss_before) / 1024
            assert growth_mib < 32, f"hub grew {growth_mib:.1f} MiB for a stalled client"
            code, reason = await asyncio.to_thread(read_until_close, stalled)
            assert code == 4408
            assert 0 < int(reason) < acked[-1].seq
    finally:
        stalled.close()
        await hub.kill()
