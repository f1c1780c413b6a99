"""The floor: a bare broadcast loop on the hub's stack (aiohttp on uvloop, orjson), no store,
no rooms, no per-client queue. Each event is encoded once and sent to each client in turn.

Run: ``python -m bench.servers.floor`` (prints ``http://127.0.0.1:PORT``).
"""

from __future__ import annotations

import asyncio
import sys

import orjson
import uvloop
from aiohttp import web

from bench.events import now_ns, wire_event

CLIENTS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("clients", set)
WELCOME = orjson.dumps({"type": "welcome", "payload": {}, "timestamp": ""}).decode()


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Holds one client: greets it, then keeps it in the broadcast set until it leaves."""
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    clients = request.app[CLIENTS]
    clients.add(ws)
    await ws.send_str(WELCOME)
    try:
        async for _ in ws:
            pass
    finally:
        clients.discard(ws)
    return ws


class Publisher:
    """Numbers the events and broadcasts each to every connected client."""

    def __init__(self) -> None:
        self.seq = 0

    async def publish(self, request: web.Request) -> web.Response:
        """``POST /bench/publish?n=K&pt=NS``: makes K events stamped NS (default: now) and
        broadcasts each, answers when sent."""
        clients = request.app[CLIENTS]
        stamp = int(request.query.get("pt", "0")) or now_ns()
        for _ in range(int(request.query.get("n", "1"))):
            self.seq += 1
            data = orjson.dumps(wire_event(self.seq, stamp)).decode()
            for ws in list(clients):
                if not ws.closed:
                    await ws.send_str(data)
        return web.json_response({"seq": self.seq})


def build_app() -> web.Application:
    """The floor's application: ``/ws`` and ``/bench/publish``."""
    app = web.Application()
    app[CLIENTS] = set()
    app.router.add_get("/ws", websocket)
    app.router.add_post("/bench/publish", Publisher().publish)
    return app


async def serve() -> None:
    """Serves on a free port of 127.0.0.1 until killed."""
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(uvloop.run(serve()))
