"""One client cannot starve the others: each attack replayed against a real hub on port 0,
with a bystander that must still be answered while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from parent_harness.client import HttpPublisher
from parent_harness.web.app import HubServer
from tests.conftest import (
    HubProcess,
    RunningHub,
    WsClient,
    generic,
    raw_websocket,
    settings_for,
)

WAIT_S = 30.0  # generous: these tests wait on conditions, never on the clock


@contextlib.asynccontextmanager
async def running(tmp_path: Path, **overrides: Any) -> AsyncIterator[RunningHub]:
    server = HubServer(settings_for(tmp_path, **overrides))
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield RunningHub(server, session)
    finally:
        await server.stop()


async def answers_ping(client: WsClient, ident: str) -> None:
    await client.send("ping", {"id": ident})
    assert (await client.next_of("pong", timeout=WAIT_S))["payload"]["id"] == ident


# Subscriptions: 20 frames of 1,000 rooms took 8.4 s and stalled a bystander for 4.2 s.


async def test_subscribing_past_the_room_limit_is_refused_and_a_bystander_is_answered(
    hub: RunningHub,
) -> None:
    bystander = await hub.connect("monitor=events")
    await bystander.next_of("welcome")
    attacker = await hub.connect("monitor=tasks")
    await attacker.next_of("welcome")
    await attacker.send("subscribe", {"rooms": [f"task:t{n}" for n in range(999)]})
    for frame in range(20):
        await attacker.send("subscribe", {"rooms": [f"task:f{frame}-{n}" for n in range(1000)]})
    await answers_ping(bystander, "while 20,000 rooms are asked for")
    first = await attacker.next(timeout=WAIT_S)
    assert first["type"] == "subscribed" and len(first["payload"]["rooms"]) == 999
    refusals = [await attacker.next(timeout=WAIT_S) for _ in range(20)]
    assert {r["type"] for r in refusals} == {"error"}
    assert {r["payload"]["code"] for r in refusals} == {"too_many_rooms"}
    assert "at most 1000 rooms per connection" in refusals[0]["payload"]["message"]
    await answers_ping(attacker, "still up")
    items = await hub.publish({"type": "task:created", "payload": {"task": {"id": "t998"}}})
    assert (await attacker.events_until(items[0]["seq"]))[-1]["seq"] == items[0]["seq"]


async def test_connecting_with_more_rooms_than_allowed_closes_4400(tmp_path: Path) -> None:
    async with running(tmp_path, max_rooms_per_client=5) as hub:
        client = await hub.connect("monitor=" + ",".join(f"task:t{n}" for n in range(6)))
        code, reason = await client.closed()
        assert code == 4400
        assert "at most 5 rooms" in reason
        within = await hub.connect("monitor=" + ",".join(f"task:t{n}" for n in range(5)))
        assert len((await within.next_of("welcome"))["payload"]["rooms"]) == 5


# Binary frames: 1,000 of them got 1,000 error replies and no 4429.


async def test_a_flood_of_binary_frames_is_closed_4429_like_text(hub: RunningHub) -> None:
    bystander = await hub.connect()
    await bystander.next_of("welcome")
    attacker = await hub.connect()
    await attacker.next_of("welcome")
    with contextlib.suppress(ConnectionError):
        for _ in range(1000):
            await attacker.ws.send_bytes(b"\x00\x01")
    errors = 0
    async with asyncio.timeout(WAIT_S):
        while True:
            frame = await attacker.ws.receive()
            if frame.type is not aiohttp.WSMsgType.TEXT:
                break
            errors += b'"error"' in frame.data.encode()
    assert attacker.ws.close_code == 4429
    assert errors <= 100 + 1  # the burst, not one reply per frame
    await answers_ping(bystander, "after the flood")


# Replays: 20 clients asking for everything (since=0) and reading nothing held 373 MB and
# 28 % of a core, for as long as they stayed connected.


def stuck_client(url: str, query: str) -> socket.socket:
    """A WebSocket client with a tiny receive buffer that reads nothing (non-blocking)."""
    sock = raw_websocket(url, query)
    sock.setblocking(False)
    return sock


async def read_to_close(sock: socket.socket) -> tuple[int, str, int]:
    """Reads a raw socket's frames up to the close frame: (code, reason, last event seq)."""
    reader, writer = await asyncio.open_connection(sock=sock)
    last_seq = 0
    try:
        while True:
            first, second = await reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", await reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", await reader.readexactly(8))[0]
            body = await reader.readexactly(length)
            if first & 0x0F == 0x8:
                return struct.unpack("!H", body[:2])[0], body[2:].decode(), last_seq
            data = orjson.loads(body)
            for msg in data if isinstance(data, list) else [data]:
                last_seq = msg.get("seq", last_seq)  # events carry seq, the welcome does not
    finally:
        writer.close()


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


async def clients_of(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url + "/api/health") as resp:
        return int((await resp.json())["clients"])


async def test_replays_to_clients_that_never_read_are_paged_and_closed_4408(
    tmp_path: Path,
) -> None:
    hub = HubProcess(tmp_path / "hub.db", "--replay-window", "100")
    url = await hub.start()
    stuck: list[socket.socket] = []
    try:
        async with aiohttp.ClientSession() as session, HttpPublisher(url) as pub:
            for _ in range(20):  # 20,000 events of about 1 KB: 20 MB of history
                last = await pub.publish_many([generic("old", pad="x" * 900) for _ in range(1000)])
            assert last[-1].seq == 20_000
            bystander = WsClient(await session.ws_connect(url.replace("http", "ws") + "/ws"))
            await bystander.next_of("welcome")
            rss_before = hub.rss_kib()
            stuck = [stuck_client(url, "since=0") for _ in range(20)]
            await answers_ping(bystander, "while 20 replays wait")
            async with asyncio.timeout(WAIT_S):
                while await clients_of(session, url) > 1:  # the stuck ones were let go
                    await asyncio.sleep(0.05)
            closes = await asyncio.gather(*(read_to_close(sock) for sock in stuck))
            grown_mib = (peak_rss_kib(hub.pid) - rss_before) / 1024
            await answers_ping(bystander, "after")
        for code, reason, last_seq in closes:
            assert code == 4408
            assert int(reason) == last_seq  # the last seq it was sent: it resumes from there
            assert 0 < last_seq < 20_000
        # Each held a page (500 events), not the 20 MB history it asked for (373 MB in all).
        assert grown_mib < 128, f"the hub grew {grown_mib:.0f} MiB for 20 stuck replays"
    finally:
        for sock in stuck:
            sock.close()
        await hub.kill()


async def test_a_client_that_reads_gets_its_whole_replay_page_by_page(tmp_path: Path) -> None:
    async with running(tmp_path, replay_window=100) as hub:
        items = await hub.publish(*[generic("old", pad="x" * 900) for _ in range(1000)])
        items += await hub.publish(*[generic("old", pad="x" * 900) for _ in range(1000)])
        client = await hub.connect("since=0")
        await client.next_of("welcome")
        events = await client.events_until(items[-1]["seq"], timeout=WAIT_S)
        assert [e["seq"] for e in events] == list(range(1, 2001))
        assert (await client.next_of("replayed"))["payload"]["count"] == 2000


# Heartbeats: the welcome advertised heartbeat_s, but nothing pinged a dead peer. The hub
# now pings every client from one timer and answers (and counts) their ping frames itself.


async def test_a_peer_that_does_not_answer_pings_is_closed(tmp_path: Path) -> None:
    async with running(tmp_path, heartbeat_s=0.5) as hub:
        alive = await hub.connect()
        assert (await alive.next_of("welcome"))["payload"]["heartbeat_s"] == 0.5
        reading = asyncio.create_task(alive.next_of("pong", timeout=2 * WAIT_S))  # pongs too
        dead = await hub.connect(autoping=False)  # a peer that never answers a ping
        await dead.next_of("welcome")
        pinged = False
        async with asyncio.timeout(WAIT_S):
            while True:
                frame = await dead.ws.receive()
                if frame.type is aiohttp.WSMsgType.PING:
                    pinged = True
                elif frame.type is not aiohttp.WSMsgType.TEXT:
                    break
        assert pinged
        async with asyncio.timeout(WAIT_S):
            while len(hub.node.hub.subscribers) > 1:
                await asyncio.sleep(0.05)
        await alive.send("ping", {"id": "answers its pings"})
        assert (await reading)["payload"]["id"] == "answers its pings"


async def test_ping_frames_are_answered_and_a_flood_of_them_closed_4429(hub: RunningHub) -> None:
    client = await hub.connect(autoping=False)
    await client.next_of("welcome")
    await client.ws.ping(b"are you there")
    frame = await asyncio.wait_for(client.ws.receive(), WAIT_S)
    assert (frame.type, frame.data) == (aiohttp.WSMsgType.PONG, b"are you there")
    with contextlib.suppress(ConnectionError):
        for _ in range(1000):
            await client.ws.ping(b"flood")
    pongs = 0
    async with asyncio.timeout(WAIT_S):
        while (frame := await client.ws.receive()).type is aiohttp.WSMsgType.PONG:
            pongs += 1
    assert client.ws.close_code == 4429
    assert pongs <= 100  # the burst, not one answer per frame


# HTTP: 500 unfinished requests were still open after 22 s.


async def unfinished(
    port: int, request: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    return reader, writer


async def dropped(reader: asyncio.StreamReader) -> bool:
    """Whether the server closed the connection (it reads to the end, or is reset)."""
    with contextlib.suppress(ConnectionError):
        await reader.read()
    return True


@pytest.mark.parametrize(
    "request_",
    [
        b"",  # connects, sends nothing
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",  # a head never finished
        b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n[",  # a body never finished
    ],
    ids=["silent", "head", "body"],
)
async def test_unfinished_http_requests_are_dropped(tmp_path: Path, request_: bytes) -> None:
    async with running(tmp_path, http_timeout_s=0.5) as hub:
        port = int(hub.url.rsplit(":", 1)[1])
        connections = [await unfinished(port, request_) for _ in range(100)]
        try:
            fresh = aiohttp.TCPConnector(force_close=True)
            async with (
                aiohttp.ClientSession(connector=fresh) as s,
                s.get(hub.url + "/api/health") as r,
            ):
                assert r.status == 200  # a bystander is answered meanwhile
            async with asyncio.timeout(WAIT_S):
                assert all(await asyncio.gather(*(dropped(r) for r, _ in connections)))
        finally:
            for _, writer in connections:
                writer.close()


async def test_a_slow_but_whole_request_is_answered(tmp_path: Path) -> None:
    async with running(tmp_path, http_timeout_s=5.0) as hub:
        body = orjson.dumps([generic("slow")])
        reader, writer = await asyncio.open_connection("127.0.0.1", int(hub.url.rsplit(":", 1)[1]))
        writer.write(
            b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        for part in (body[:10], body[10:]):
            writer.write(part)
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), WAIT_S)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200")
