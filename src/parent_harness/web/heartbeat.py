"""The WebSocket heartbeat: one timer pings every client, rather than a timer per connection.

Every `interval_s` the hub writes a ping frame to each client it pinged and has heard from
since, and drops (aborts) each one it pinged and has not: a client has one interval to
answer, so a dead peer goes within two. Anything a client sends counts as an answer; /ws
clears `Subscriber.pinged` on every frame it reads.

aiohttp's own `heartbeat=` keeps timer handles and callbacks on every connection: with
10,000 idle connections (bench.fanout) it took them from 14.5 to 15.4-15.7 KB each, and it
gives a pong half an interval, so a busy client can be dropped. This costs a flag per
connection and one pass over the clients per interval, a slice at a time so that fan-out
runs between slices: 14.6-14.7 KB each, the rest being what answering pings churns.
"""

from __future__ import annotations

import asyncio
import contextlib

from parent_harness.hub.fanout import Hub

PING_FRAME = b"\x89\x00"
"""RFC 6455 section 5.5.2: a ping with no payload (FIN, opcode 0x9), unmasked from a server."""

SLICE = 500
"""Clients pinged between two turns of the event loop."""


class Heartbeat:
    """Pings the hub's clients every `interval_s` and drops those that did not answer the last."""

    def __init__(self, hub: Hub, interval_s: float) -> None:
        self.hub = hub
        self.interval_s = interval_s
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.beat()

    async def beat(self) -> None:
        """Drops every client still silent since the last ping; pings the others."""
        for n, sub in enumerate(list(self.hub.subscribers)):
            if n and not n % SLICE:
                await asyncio.sleep(0)
            transport = sub.transport
            if sub.closed or transport.is_closing():
                continue
            if sub.pinged:
                self.dropped += 1
                transport.abort()
            else:
                sub.pinged = True
                transport.write(PING_FRAME)
