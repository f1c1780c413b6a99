"""Subscriber: an async iterator over a hub's events that reconnects and resumes by itself.

    async with Subscriber("http://127.0.0.1:3333", rooms=["tasks"]) as sub:
        async for msg in sub:
            print(msg["seq"], msg["type"])

It yields every event once, in seq order, across reconnects: it resumes with `since`
(and the epoch of its last welcome) and drops anything it already has. With
`snapshot=True` it first yields a `snapshot` message, and yields a fresh one after a
`reset` (the hub could not replay everything it missed).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from parent_harness.exceptions import HarnessError

PERMANENT_CLOSES = {
    4400: "bad parameters",
    4401: "missing or wrong token",
    4403: "room not allowed for this token",
}


class SubscribeRefused(HarnessError):
    """The hub refused the subscription for good (bad parameters or token)."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        super().__init__(f"{code} {PERMANENT_CLOSES.get(code, '')}: {reason}")


def ws_url(url: str) -> str:
    """The /ws URL of a hub given as http(s)://host:port or ws(s)://host:port[/ws]."""
    url = url.rstrip("/")
    if url.startswith("http"):
        url = "ws" + url[4:]
    return url if url.endswith("/ws") else f"{url}/ws"


class Subscriber:
    """Events of some rooms of a hub, as an async iterator that survives disconnects."""

    def __init__(
        self,
        url: str,
        *,
        rooms: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        since: int | None = None,
        snapshot: bool = False,
        token: str | None = None,
        client: str | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
    ) -> None:
        self.url = ws_url(url)
        self.rooms = list(rooms) if rooms else None
        self.types = list(types) if types else None
        self.last_seq = since
        self.epoch: str | None = None
        self.snapshot = snapshot
        self.token = token
        self.client = client
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.attempt = 0
        self.connected = False
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False

    async def __aenter__(self) -> Subscriber:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    def connect_url(self) -> str:
        """The /ws URL with the stream position; never the token (see `connect_headers`)."""
        query: dict[str, str] = {}
        if self.rooms:
            query["monitor"] = ",".join(self.rooms)
        if self.types:
            query["types"] = ",".join(self.types)
        if self.last_seq is not None:
            query["since"] = str(self.last_seq)
            if self.epoch:
                query["epoch"] = self.epoch
        if self.snapshot:
            query["snapshot"] = "1"
        if self.client:
            query["client"] = self.client
        return f"{self.url}?{urlencode(query)}" if query else self.url

    def connect_headers(self) -> dict[str, str]:
        """The token as a Bearer header: a URL ends up in proxy logs, a header does not."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def backoff(self) -> float:
        """Exponential backoff with jitter: the first retry well within a second."""
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * 2 ** max(0, self.attempt - 1))
        return float(ceiling * random.uniform(0.5, 1.0))

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        while not self._closed:
            try:
                async for msg in self._connection(self._session):
                    yield msg
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            finally:
                self.connected = False
            if self._closed:
                return
            self.attempt += 1
            await asyncio.sleep(self.backoff())

    async def _connection(self, session: aiohttp.ClientSession) -> AsyncIterator[dict[str, Any]]:
        async with session.ws_connect(
            self.connect_url(), headers=self.connect_headers(), max_msg_size=0
        ) as ws:
            self._ws = ws
            while True:
                frame = await ws.receive()
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = orjson.loads(frame.data)
                for msg in data if isinstance(data, list) else [data]:
                    out = self._absorb(msg)
                    if out is not None:
                        yield out
            if ws.close_code in PERMANENT_CLOSES:
                raise SubscribeRefused(ws.close_code, str(frame.extra or ""))

    def _absorb(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        """Keeps position (epoch, seq); returns what the caller should see."""
        kind = msg.get("type")
        if kind == "welcome":
            self.epoch = msg["payload"]["epoch"]
            self.connected = True
            self.attempt = 0
            return None
        if kind == "snapshot":
            self.last_seq = msg["payload"]["seq"]
            return msg
        if kind == "reset":
            self.epoch = msg["payload"].get("epoch", self.epoch)
            self.last_seq = None if self.snapshot else msg["payload"]["seq"]
            return msg
        seq = msg.get("seq")
        if seq is None:
            return msg if kind == "error" else None
        if self.last_seq is not None and seq <= self.last_seq:
            return None
        self.last_seq = seq
        return msg
