"""POST /api/notify/test sends a test message through each channel and reports each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from parent_harness.notify import Notifier, load_settings, routes
from tests.integration.notify.conftest import CHATS, StartNotifier, settings_for
from tests.integration.notify.servers import FakeBotApi, WebhookReceiver
from tests.unit.notify.fakes import FakeHub


async def client_for(notifier: Notifier) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    app.add_routes(routes(notifier))
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    return client


@pytest.fixture
async def clients() -> AsyncIterator[list[TestClient[web.Request, web.Application]]]:
    made: list[TestClient[web.Request, web.Application]] = []
    yield made
    for client in made:
        await client.close()


async def test_each_channel_gets_a_test_message(
    api: FakeBotApi,
    receiver: WebhookReceiver,
    start_notifier: StartNotifier,
    clients: list[TestClient[web.Request, web.Application]],
) -> None:
    hub = FakeHub()
    notifier = await start_notifier(settings_for(api, receiver), hub)
    clients.append(client := await client_for(notifier))
    response = await client.post("/api/notify/test", json={"text": "ping from the test"})
    assert response.status == 200
    body = await response.json()
    assert body["ok"] is True
    targets = [(r["channel"], r["target"], r["ok"]) for r in body["results"]]
    assert targets == [
        ("telegram", CHATS[0], True),
        ("telegram", CHATS[1], True),
        ("webhook", receiver.url, True),
    ]
    assert api.texts(CHATS[0]) == ["ping from the test"]
    assert receiver.received == [{"text": "ping from the test", "kind": "test"}]
    assert len(hub.of_type("telegram:message")) == 2


async def test_a_failing_channel_is_reported_not_retried(
    receiver: WebhookReceiver,
    start_notifier: StartNotifier,
    clients: list[TestClient[web.Request, web.Application]],
) -> None:
    receiver.statuses = [500]
    notifier = await start_notifier(settings_for(receiver=receiver), FakeHub())
    clients.append(client := await client_for(notifier))
    body = await (await client.post("/api/notify/test")).json()
    assert body["ok"] is False
    (result,) = body["results"]
    assert result["ok"] is False and result["detail"].startswith("HTTP 500")
    assert receiver.attempts == 1


async def test_no_channel_and_bad_bodies_are_explained(
    start_notifier: StartNotifier, clients: list[TestClient[web.Request, web.Application]]
) -> None:
    notifier = await start_notifier(load_settings({}), FakeHub())
    clients.append(client := await client_for(notifier))
    body = await (await client.post("/api/notify/test")).json()
    assert body["ok"] is False and "no channel configured" in body["message"]

    bad = await client.post("/api/notify/test", json={"text": 5})
    assert bad.status == 400
    assert (await bad.json())["field"] == "text"
    garbled = await client.post(
        "/api/notify/test", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert garbled.status == 400
