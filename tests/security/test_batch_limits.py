"""One request cannot hold the hub: events per POST and bytes per body are bounded.

The finding: one 15 MB POST of 260,000 events took 16.5 s, stalled other clients up to
8.4 s and grew the hub by 1.1 GB. Past the bounds the answer is 413 in the problem shape,
naming the limit, and nothing of the request is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, generic, settings_for


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    server = HubServer(settings_for(tmp_path, max_batch_events=50, max_body_bytes=64 * 1024))
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield RunningHub(server, session)
    await server.stop()


async def test_too_many_events_in_one_request(hub: RunningHub) -> None:
    status, body = await hub.post("/api/events", [generic(f"e{n}") for n in range(51)])
    assert status == 413, body
    assert body["code"] == "batch_too_large"
    assert body["limit"] == 50
    assert "at most 50" in body["detail"]
    assert hub.node.state.seq == 0
    assert len(await hub.publish(*[generic(f"e{n}") for n in range(50)])) == 50


async def test_a_body_past_the_size_bound(hub: RunningHub) -> None:
    big = generic("x" * 70_000)
    status, body = await hub.post("/api/events", big)
    assert status == 413, body
    assert body["limit"] == 64 * 1024
    assert hub.node.state.seq == 0


async def test_a_chunked_body_past_the_size_bound(hub: RunningHub) -> None:
    """No Content-Length to check first: the read stops at the bound."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"type": "event", "payload": {"event": {"message": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}}'

    async with hub.session.post(
        hub.url + "/api/events", data=chunks(), headers={"Content-Type": "application/json"}
    ) as response:
        body = orjson.loads(await response.read())
        assert response.status == 413, body
    assert body["code"] == "too_large"
    assert hub.node.state.seq == 0


async def test_a_big_task_body_is_refused_in_the_problem_shape(hub: RunningHub) -> None:
    status, body = await hub.post("/api/tasks", {"title": "t", "description": "d" * 70_000})
    assert status == 413
    assert body["code"] == "too_large"
