"""Shared fixtures: a real hub on port 0 with a real SQLite file, and WebSocket helpers."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skips a test whose tool is missing; under CI a missing tool is a failure."""
    if IN_CI:
        pytest.fail(f"CI must not skip: {reason}")
    pytest.skip(reason)


class WsClient:
    """A test client of /ws: flattens batched frames, waits on conditions with timeouts."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.buffer: list[dict[str, Any]] = []

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        while not self.buffer:
            frame = await asyncio.wait_for(self.ws.receive(), timeout)
            if frame.type is not aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket closed: {frame.type} {frame.data} {frame.extra}")
            data = orjson.loads(frame.data)
            self.buffer.extend(data if isinstance(data, list) else [data])
        return self.buffer.pop(0)

    async def next_of(self, type_: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of `type_`, skipping others."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.next(timeout)
                if msg["type"] == type_:
                    return msg

    async def events_until(self, seq: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Event messages up to and including `seq`."""
        out: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while not out or out[-1]["seq"] < seq:
                msg = await self.next(timeout)
                if "seq" in msg:
                    out.append(msg)
        return out

    async def send(self, type_: str, payload: dict[str, Any] | None = None) -> None:
        await self.ws.send_str(orjson.dumps({"type": type_, "payload": payload or {}}).decode())

    async def closed(self, timeout: float = 10.0) -> tuple[int | None, str]:
        """Reads until the server closes; returns its close code and reason."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.ws.receive()
                if frame.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.CLOSING,
                ):
                    return self.ws.close_code, str(frame.extra or "")


class RunningHub:
    def __init__(self, server: HubServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.url = server.url
        self.session = session

    @property
    def node(self) -> Any:
        return self.server.node

    async def connect(self, query: str = "", **kwargs: Any) -> WsClient:
        url = self.url.replace("http", "ws", 1) + "/ws" + (f"?{query}" if query else "")
        ws = await self.session.ws_connect(url, **kwargs)
        return WsClient(ws)

    async def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
        async with self.session.post(self.url + path, data=orjson.dumps(body), **kwargs) as r:
            return r.status, orjson.loads(await r.read())

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.get(self.url + path, **kwargs) as r:
            return r.status, orjson.loads(await r.read())

    async def publish(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        status, body = await self.post("/api/events", list(events))
        assert status == 200, body
        return list(body["items"])


@contextmanager
def refusing_writes(db: Path) -> Iterator[None]:
    """SQLite itself refuses every new event (as on a full disk) until the block ends."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_events BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    try:
        yield
    finally:
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TRIGGER refuse_events")


def raw_websocket(url: str, query: str) -> socket.socket:
    """A WebSocket handshake on a raw socket with a tiny receive buffer (blocking): a client
    that can be made to stop reading, which aiohttp's client cannot."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws?{query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]
    return sock


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(port=0, store=f"sqlite:///{tmp_path / 'harness.db'}", **overrides)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    server = HubServer(settings_for(tmp_path))
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield RunningHub(server, session)
    await server.stop()


def generic(message: str, **data: Any) -> dict[str, Any]:
    """A generic `event` to publish."""
    return {"type": "event", "payload": {"event": {"message": message, "data": data or None}}}


class HubProcess:
    """`harness serve` as a real subprocess on port 0; the URL is read from its first line."""

    def __init__(self, db: Path | str, *args: str) -> None:
        self.db = db
        self.store = db if isinstance(db, str) else f"sqlite:///{db}"
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""

    async def start(self, timeout: float = 20.0) -> str:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "parent_harness",
            "serve",
            "--port",
            "0",
            "--store",
            self.store,
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        match = re.search(rb"serving (http://\S+)", line)
        assert match, f"no URL in {line!r}"
        self.url = match.group(1).decode()
        return self.url

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def terminate(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return await self.proc.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Any]:
    """A throwaway redis-server (append-only, in tmp_path) on a free port."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """One throwaway PostgreSQL server for the whole test session, stopped at the end."""
    from bench.postgres import ClusterUnavailable, PostgresCluster

    try:
        cluster = PostgresCluster()
    except ClusterUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def pg_url(pg_cluster: Any) -> str:
    """A fresh PostgreSQL database of its own for each test."""
    return str(await pg_cluster.create_database())
