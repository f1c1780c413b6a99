"""How long an HTTP client may take to send a request, so that unfinished ones cannot pile up.

Heads: aiohttp's keep-alive timer (`keepalive_timeout`) starts when a connection opens and
again after each response, and bytes arriving do not push it back; when it fires on a
connection still waiting for a whole request head, the connection is closed. So it bounds a
head that is sent slowly or never (slowloris), as well as an idle keep-alive connection. An
upgrade to a WebSocket cancels it.

Bodies: aiohttp bounds nothing once the head is in. `bound_bodies` arms one timer per
request whose body is still arriving (none for a GET or a WebSocket) and cancels it when the
body is whole; a body still unfinished when it fires loses its connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import StreamReader, web

RequestFactory = Callable[..., web.BaseRequest]


def bound_bodies(server: web.Server, timeout_s: float) -> None:
    """Makes `server` drop a connection whose request body is not whole `timeout_s` after
    its head (through the server's request factory: no middleware, no cost per WebSocket)."""
    server.request_factory = _with_body_deadline(server.request_factory, timeout_s)


def _with_body_deadline(make: RequestFactory, timeout_s: float) -> RequestFactory:
    loop = asyncio.get_running_loop()

    def request(
        message: Any, payload: StreamReader, protocol: web.RequestHandler, *rest: Any
    ) -> web.BaseRequest:
        made = make(message, payload, protocol, *rest)
        if not payload.is_eof():
            deadline = loop.call_later(timeout_s, _drop_unfinished, payload, protocol)
            payload.on_eof(deadline.cancel)
        return made

    return request


def _drop_unfinished(payload: StreamReader, protocol: web.RequestHandler) -> None:
    if not payload.is_eof():
        protocol.force_close()
