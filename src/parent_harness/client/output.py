"""Following one session's output: what is kept first (REST), then live (`session:output`).

    async for line in follow_output("http://127.0.0.1:3333", "s-1"):
        print(line["n"], line["stream"], line["text"])

It pages `GET /api/sessions/{id}/output` from `after`, then subscribes to the session's room
from the seq that page reflects, so no line falls between the two; lines come once each, in
order of their number (a line at or below the last one given is skipped: a replayed event
may repeat lines the page already had). It ends when the session ends, or at once when it
had ended already; a dropped connection resumes by itself (the `Subscriber`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp

from parent_harness.client.subscriber import Subscriber
from parent_harness.exceptions import HarnessError

PAGE = 5000
ENDED = frozenset({"completed", "failed", "killed"})


class OutputUnavailable(HarnessError):
    """The hub would not give the session's output (unknown session, token, hub down)."""


def _http_url(url: str) -> str:
    url = url.rstrip("/").removesuffix("/ws")
    return "http" + url[2:] if url.startswith("ws") else url


async def _get(http: aiohttp.ClientSession, path: str, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with http.get(path, headers=headers) as response:
            body: dict[str, Any] = await response.json(content_type=None)
            if response.status != 200:
                detail = body.get("detail") if isinstance(body, dict) else None
                raise OutputUnavailable(f"{response.status}: {detail or 'refused'}")
            return body
    except (aiohttp.ClientError, OSError) as exc:
        raise OutputUnavailable(f"cannot reach the hub: {exc}") from None


async def follow_output(
    url: str,
    session_id: str,
    *,
    after: int = 0,
    token: str | None = None,
    follow: bool = True,
) -> AsyncIterator[dict[str, Any]]:
    """Lines `{n, stream, text, at}` of a session after line `after`: the kept ones, then,
    with `follow`, the live ones until the session ends (see the module docstring)."""
    path = f"/api/sessions/{quote(session_id, safe='')}"
    kept = _Kept(after)
    async with aiohttp.ClientSession(_http_url(url)) as http:
        session = (await _get(http, path, token))["session"]
        async for line in kept.pages(http, path, token):
            yield line
        if not follow or session.get("status") in ENDED:
            return
        room = f"session:{session_id}"
        types = ["session:output", "session:ended"]
        since = kept.seq
        async with Subscriber(url, rooms=[room], types=types, since=since, token=token) as sub:
            async for msg in sub:
                kind = msg.get("type")
                if kind == "session:ended":
                    return
                if kind == "reset":  # the hub could not replay what was missed: page it
                    async for line in kept.pages(http, path, token):
                        yield line
                elif kind == "session:output":
                    for line in msg["payload"]["lines"]:
                        if kept.fresh(line):
                            yield line


class _Kept:
    """The last line given, and the kept lines after it; `seq`: what the first page read
    reflects (live events after it hold every line it did not)."""

    def __init__(self, last: int) -> None:
        self.last = last
        self.seq: int | None = None

    def fresh(self, line: dict[str, Any]) -> bool:
        if line["n"] <= self.last:
            return False
        self.last = line["n"]
        return True

    async def pages(
        self, http: aiohttp.ClientSession, path: str, token: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        while True:
            page = await _get(http, f"{path}/output?after={self.last}&limit={PAGE}", token)
            if self.seq is None:
                self.seq = page["seq"]
            for line in page["lines"]:
                if self.fresh(line):
                    yield line
            if page["next_after"] is None:
                return
