"""The popular Python peer: python-socketio (ASGI) on uvicorn, as its documentation sets it up.

Clients connect to ``/socket.io/`` (Engine.IO 4, WebSocket transport) and get every event as a
Socket.IO ``event`` message through ``sio.emit`` (a broadcast to the namespace).
``POST /bench/publish?n=K`` makes K events and emits each. Runs in ``bench/.peers/venv``:
``python -m bench.servers.sio_server`` (prints ``http://127.0.0.1:PORT``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import socketio  # type: ignore[import-untyped]
import uvicorn

from bench.events import now_ns, wire_event

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

sio = socketio.AsyncServer(async_mode="asgi")


async def connect(sid: str, environ: dict[str, Any]) -> None:
    """Greets a new client, so the driver knows it is in the broadcast."""
    await sio.emit("welcome", {}, to=sid)


sio.on("connect", connect)


class Publisher:
    """Numbers the events and emits each to every client."""

    def __init__(self) -> None:
        self.seq = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI app for ``POST /bench/publish?n=K&pt=NS``: emits K events stamped NS (default:
        now), answers when done."""
        if scope["type"] != "http" or scope["path"] != "/bench/publish":
            await _answer(send, 404, b"{}")
            return
        query = parse_qs(scope["query_string"].decode())
        stamp = int(query.get("pt", ["0"])[0]) or now_ns()
        for _ in range(int(query.get("n", ["1"])[0])):
            self.seq += 1
            await sio.emit("event", wire_event(self.seq, stamp))
        await _answer(send, 200, json.dumps({"seq": self.seq}).encode())


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = socketio.ASGIApp(sio, other_asgi_app=Publisher())


async def serve(config: uvicorn.Config) -> None:
    """Serves on a free port of 127.0.0.1 with uvicorn's defaults until killed."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event for it)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    await task


def main() -> None:
    """Runs the server on the event loop uvicorn picks by default (uvloop when installed)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", backlog=4096)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve(config))


if __name__ == "__main__":
    main()
