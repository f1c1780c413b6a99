"""Publishers: the same `publish` in process (a hub's Node) and over HTTP (`POST /api/events`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from parent_harness.client._http import HubClient
from parent_harness.credentials import mask_urls
from parent_harness.events.sink import EventSink, PublishResult
from parent_harness.exceptions import InvalidEvent, PublishError


class LocalPublisher:
    """Publishes into a hub running in this process (an EventSink over `Node.publish`)."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        return await self._sink.publish(type, payload, id=id)


class HttpPublisher(HubClient):
    """Publishes to a hub over HTTP; retries transient failures, safely when events carry an id.

    Use as an async context manager, or call `close()`.
    """

    def __init__(
        self, url: str, *, token: str | None = None, retries: int = 3, timeout_s: float = 10.0
    ) -> None:
        super().__init__(url, token=token, timeout_s=timeout_s)
        self.retries = retries

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        """Publishes one event; returns its id and seq once the hub has committed it."""
        (result,) = await self.publish_many([{"type": type, "payload": payload, "id": id}])
        return result

    async def publish_many(self, events: Sequence[Mapping[str, Any]]) -> list[PublishResult]:
        """Publishes a batch (all or nothing). Raises InvalidEvent or PublishError."""
        body = orjson.dumps([{k: v for k, v in e.items() if v is not None} for e in events])
        retry_safe = all(e.get("id") for e in events)
        for attempt in range(self.retries + 1):
            try:
                return await self._post(body)
            except (aiohttp.ClientConnectionError, TimeoutError, _Transient) as exc:
                if not retry_safe or attempt == self.retries:
                    failed = mask_urls(f"publish to {self.url} failed: {exc}")
                    raise PublishError(failed) from exc
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    async def _post(self, body: bytes) -> list[PublishResult]:
        async with self._session.post(
            f"{self.url}/api/events", data=body, headers={"Content-Type": "application/json"}
        ) as resp:
            data = orjson.loads(await resp.read())
            if resp.status >= 500:
                raise _Transient(f"HTTP {resp.status}")
            if resp.status == 400:  # a problem (parent_harness/problems.py)
                reason = data.get("reason", data.get("detail", "invalid"))
                raise InvalidEvent(data.get("field", ""), reason, index=data.get("index"))
            if resp.status != 200:
                raise PublishError(f"HTTP {resp.status}: {data.get('detail', data)}")
            return [PublishResult(i["id"], i["seq"], i["duplicate"]) for i in data["items"]]


class _Transient(Exception):
    """A server error worth retrying."""
