"""Tokens travel in headers (or the WebSocket subprotocol), never in a URL the SDK builds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from parent_harness.client import Subscriber
from parent_harness.web.app import HubServer
from parent_harness.web.auth import SUBPROTOCOL, token_protocol
from tests.conftest import RunningHub, generic, settings_for

TOKEN = "s3cret-token"
JSON = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


class SeenRequests:
    """What the hub saw of each /ws request: its query string and its Authorization header."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.authorization: list[str | None] = []

    async def __call__(self, request: web.Request, response: web.StreamResponse) -> None:
        if request.path == "/ws":
            self.queries.append(request.query_string)
            self.authorization.append(request.headers.get("Authorization"))


@pytest.fixture
async def tokened(tmp_path: Path) -> AsyncIterator[tuple[RunningHub, SeenRequests]]:
    """A hub that needs TOKEN, recording the /ws requests it answers."""
    server = HubServer(settings_for(tmp_path, tokens=(TOKEN,)))
    seen = SeenRequests()
    server.app.on_response_prepare.append(seen)
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield RunningHub(server, session), seen
    await server.stop()


def test_the_subscriber_url_carries_no_token() -> None:
    sub = Subscriber("http://127.0.0.1:1", rooms=["tasks"], since=3, token=TOKEN, client="me")
    assert TOKEN not in sub.connect_url()
    assert "token" not in sub.connect_url()


async def test_subscriber_sends_its_token_as_a_bearer_header(
    tokened: tuple[RunningHub, SeenRequests],
) -> None:
    hub, seen = tokened
    status, body = await hub.post("/api/events", [generic("through the header")], headers=JSON)
    assert status == 200, body
    async with Subscriber(hub.url, token=TOKEN, rooms=["events"], since=0) as sub:
        first = await asyncio.wait_for(anext(sub.__aiter__()), 5)
    assert first["seq"] == body["items"][0]["seq"]
    assert seen.authorization == [f"Bearer {TOKEN}"]
    assert all(TOKEN not in query for query in seen.queries)


async def test_a_browser_socket_presents_its_token_as_a_subprotocol(
    tokened: tuple[RunningHub, SeenRequests],
) -> None:
    hub, seen = tokened
    client = await hub.connect(protocols=(SUBPROTOCOL, token_protocol(TOKEN)))
    welcome = await client.next_of("welcome")
    assert welcome["payload"]["protocol"] == 1
    # A browser fails the connection unless the hub picks one of the offered protocols.
    assert client.ws.protocol == SUBPROTOCOL
    assert seen.queries == [""]


async def test_a_wrong_token_subprotocol_is_refused_with_4401(
    tokened: tuple[RunningHub, SeenRequests],
) -> None:
    hub, _ = tokened
    client = await hub.connect(protocols=(SUBPROTOCOL, token_protocol("wrong")))
    assert (await client.closed())[0] == 4401
