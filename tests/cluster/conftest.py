"""Three real hub processes on one Redis and one PostgreSQL, started by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import HubProcess


@pytest.fixture
async def nodes(pg_url: str, redis_server: Any) -> AsyncIterator[list[HubProcess]]:
    started = [HubProcess(pg_url, "--broker", redis_server.url) for _ in range(3)]
    try:
        await started[0].start()  # creates the schema; the others find it
        await asyncio.gather(*(node.start() for node in started[1:]))
        yield started
    finally:
        for node in started:
            await node.kill()
