"""Approvals, end to end: a request to visible in the dashboard's Inbox, and an answer to the
`approval:answered` reaching a subscriber. p50 and p99 over `--requests` (target: p99 under
50 ms each, issue 15).

    .venv/bin/python -m bench.approvals [--requests 200] [--gap-ms 250] [--background-per-s 0]

A real hub (`harness serve --port 0`, SQLite file) and the system Chromium (headless) open on
`#/inbox`; a WebSocket subscriber (aiohttp) on the `approvals` room. For each request, one
at a time:

1. **request -> visible**: the wall clock (epoch ms) just before `POST /api/events`
   publishes `approval:requested`, against the time a MutationObserver in the page saw the
   Inbox row of that approval added (`performance.timeOrigin + performance.now()`, the same
   system clock). It holds the publish round trip, the commit, the fan-out, the page's
   store flush and the render.
2. **answer -> subscriber**: the clock before `POST /api/approvals/{id}/answer` against the
   time the subscriber received that approval's `approval:answered`.

Beside them, the round trips of the two POSTs (the publish acknowledged once committed; the
answer's 200), which the legs include: what the rest adds is fan-out and rendering.

Requests are paced `--gap-ms` apart, counted from when the answered row left the page. With
`--background-per-s R`, generic events are published meanwhile at R a second (a busy fleet:
the page's store then draws at most five times a second, docs/dashboard.md, except for
approvals, which it draws on the next frame).

The third leg of the issue, **answer -> agent unblocked** (the agent reads its
`approval_response` line on stdin), needs the orchestrator's side of approvals; it plugs in
at `agent_unblocked_leg` and is reported as not measured until then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page

from bench.dashboard_hub import chromium, machine, new_context, percentile, publish, running_hub

WATCH_ROWS = """() => {
  window.__rows = {};
  const list = document.querySelector('[data-testid=inbox-list]');
  new MutationObserver((records) => {
    const at = performance.timeOrigin + performance.now();
    for (const r of records)
      for (const n of r.addedNodes)
        if (n.dataset?.approvalId && !(n.dataset.approvalId in window.__rows))
          window.__rows[n.dataset.approvalId] = at;
  }).observe(list, { childList: true });
}"""

NO_ROW = '(id) => !document.querySelector(`[data-approval-id="${id}"]`)'


def requested(ident: str) -> dict[str, Any]:
    approval = {
        "id": ident,
        "agent_id": "bench-agent",
        "session_id": "bench-session",
        "task_id": "bench-task",
        "kind": "permission",
        "tool": "Bash",
        "summary": "run the migrations",
        "detail": "alembic upgrade head",
        "options": ["allow", "deny"],
        "status": "pending",
    }
    return {"type": "approval:requested", "payload": {"approval": approval}}


class Subscriber:
    """A /ws client of the `approvals` room that notes when each approval's answer arrived."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.answered: dict[str, float] = {}
        self._arrived = asyncio.Condition()

    async def read(self) -> None:
        async for frame in self.ws:
            at = time.time() * 1000
            data = json.loads(frame.data)
            for msg in data if isinstance(data, list) else [data]:
                if msg.get("type") == "approval:answered":
                    self.answered.setdefault(msg["payload"]["approval"]["id"], at)
            async with self._arrived:
                self._arrived.notify_all()

    async def until_answered(self, ident: str) -> float:
        async with asyncio.timeout(10), self._arrived:
            await self._arrived.wait_for(lambda: ident in self.answered)
        return self.answered[ident]


async def row_seen(page: Page, ident: str) -> float:
    """When the page's observer saw the approval's row added (epoch ms)."""
    handle = await page.wait_for_function(
        "(id) => window.__rows[id]", arg=ident, timeout=10_000, polling="raf"
    )
    return float(await handle.json_value())


async def agent_unblocked_leg(url: str, requests: int) -> dict[str, Any]:
    """Answer -> the agent unblocked (its `approval_response` read on stdin): the hook for
    the orchestrator's side of approvals. Not measured until that side is on main."""
    return {"measured": False, "why": "needs the orchestrator's approval_response path"}


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values), 1),
    }


async def background(http: aiohttp.ClientSession, url: str, per_s: float) -> None:
    """Publishes a generic event every 1/per_s seconds until cancelled (a busy fleet)."""
    n = 0
    next_at = time.monotonic()
    while True:
        n += 1
        event = {"event": {"level": "info", "source": "bench", "message": f"busy {n}"}}
        await publish(http, url, [{"type": "event", "payload": event}])
        next_at += 1 / per_s
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def run(requests: int, gap_ms: float, background_per_s: float = 0.0) -> dict[str, Any]:
    visible: list[float] = []
    delivered: list[float] = []
    acked: list[float] = []  # the publish POST's round trip, part of `visible`
    posted: list[float] = []  # the answer POST's round trip (200 after the commit)
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp) / "hub.db") as url, aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url.replace("http", "ws", 1) + "/ws?monitor=approvals")
            subscriber = Subscriber(ws)
            reading = asyncio.create_task(subscriber.read())
            busy = (
                asyncio.create_task(background(http, url, background_per_s))
                if background_per_s > 0
                else None
            )
            async with chromium() as browser:
                context = await new_context(browser)
                page = await context.new_page()
                await page.goto(f"{url}/#/inbox")
                await page.wait_for_selector("html[data-ready='true']")
                await page.evaluate(WATCH_ROWS)
                for n in range(requests):
                    ident = f"bench-{n}"
                    asked_at = time.time() * 1000
                    await publish(http, url, [requested(ident)])
                    acked.append(time.time() * 1000 - asked_at)
                    visible.append(await row_seen(page, ident) - asked_at)
                    answer_at = time.time() * 1000
                    path = f"{url}/api/approvals/{ident}/answer"
                    async with http.post(path, json={"decision": "allow"}) as resp:
                        assert resp.status == 200, await resp.text()
                    posted.append(time.time() * 1000 - answer_at)
                    delivered.append(await subscriber.until_answered(ident) - answer_at)
                    await page.wait_for_function(NO_ROW, arg=ident, polling="raf")
                    await asyncio.sleep(gap_ms / 1000)  # pacing: a lone request each time
                await context.close()
            if busy is not None:
                busy.cancel()
            agent = await agent_unblocked_leg(url, requests)
            reading.cancel()
            await ws.close()
    return {
        "requests": requests,
        "gap_ms": gap_ms,
        "background_events_per_s": background_per_s,
        "request_to_visible_ms": summary(visible),
        "answer_to_subscriber_ms": summary(delivered),
        "request_publish_acked_ms": summary(acked),
        "answer_post_answered_ms": summary(posted),
        "answer_to_agent_unblocked": agent,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=250.0)
    parser.add_argument("--background-per-s", type=float, default=0.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.gap_ms, args.background_per_s))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
