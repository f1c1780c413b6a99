"""How the controller publishes a batch of events into each kind of server.

Both kinds stamp every event with the controller's clock when the batch leaves it, so latency
is measured from the publisher's clock to each receiving client's, for every server alike.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import aiohttp
import orjson

from bench.events import event_payload


class PublishError(RuntimeError):
    """A server refused a batch."""


ATTEMPTS = 3


def session() -> aiohttp.ClientSession:
    """An HTTP client whose idle connections are dropped before any server drops them
    (uvicorn after 5 s, Node after 5 s), so a publish never meets a half-closed one."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(keepalive_timeout=1.0),
        timeout=aiohttp.ClientTimeout(total=None),
    )


async def post(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> None:
    """POSTs, again (up to three times) if the server dropped a kept-alive connection."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with session.post(url, **kwargs) as response:
                if response.status >= 300:
                    raise PublishError(f"POST {url}: {response.status} {await response.text()}")
                await response.read()
                return
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            if attempt == ATTEMPTS:
                raise


class Publisher(Protocol):
    """Publishes ``count`` events stamped ``stamp_ns`` and returns once the server has them."""

    async def publish(self, count: int, stamp_ns: int) -> None: ...


class IngestPublisher:
    """The hub's public way in: ``POST /api/events`` with a JSON array of events."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.url = f"{base_url}/api/events"
        self.numbers = itertools.count(1)

    async def publish(self, count: int, stamp_ns: int) -> None:
        body = orjson.dumps(
            [
                {"type": "event", "payload": event_payload(next(self.numbers), stamp_ns)}
                for _ in range(count)
            ]
        )
        headers = {"Content-Type": "application/json"}
        await post(self.session, self.url, data=body, headers=headers)


class ControlPublisher:
    """The bench route ``POST /bench/publish?n=K&pt=NS``: the server makes the K events."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.url = f"{base_url}/bench/publish"

    async def publish(self, count: int, stamp_ns: int) -> None:
        params = {"n": str(count), "pt": str(stamp_ns)}
        await post(self.session, self.url, params=params)


class SpreadPublisher:
    """Publishes each batch through the next of several publishers (one per hub), in turn: the
    publishes shared by the hubs, as a load balancer in front of them shares them."""

    def __init__(self, publishers: list[Publisher]) -> None:
        self.turns = itertools.cycle(publishers)

    async def publish(self, count: int, stamp_ns: int) -> None:
        await next(self.turns).publish(count, stamp_ns)
