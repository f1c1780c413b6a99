"""Shared by the dashboard benchmarks: a hub subprocess, publishing over REST, Chromium.

The hub is the real one (`harness serve --port 0`) on a fresh SQLite file; the browser is
the system Chromium driven by Playwright (async API), with a long-task observer installed
before the dashboard's own scripts run.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, async_playwright

HARNESS = Path(sys.executable).with_name("harness")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # headless, and nothing that reaches for the network (closed here)
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
URL_RE = re.compile(rb"serving (http://\S+)")

# Counts long tasks (> 50 ms on the main thread) from the very start of the page.
LONGTASK_OBSERVER = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
}).observe({ type: 'longtask', buffered: true });
"""

Event = dict[str, Any]


@asynccontextmanager
async def running_hub(db: Path) -> AsyncIterator[str]:
    """Runs `harness serve --port 0 --store sqlite:///db` until the block ends; yields its URL."""
    proc = await asyncio.create_subprocess_exec(
        str(HARNESS),
        "serve",
        "--port",
        "0",
        "--store",
        f"sqlite:///{db}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        found = URL_RE.search(line)
        if not found:
            raise RuntimeError(f"the hub printed no URL: {line!r}")
        yield found.group(1).decode()
    finally:
        proc.terminate()
        await proc.wait()


async def publish(http: aiohttp.ClientSession, url: str, events: Sequence[Event]) -> int:
    """POSTs a batch; returns the last seq."""
    async with http.post(
        f"{url}/api/events",
        data=json.dumps(list(events)),
        headers={"Content-Type": "application/json"},
    ) as resp:
        body = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"publish failed: {resp.status} {body}")
        return int(body["items"][-1]["seq"])


async def publish_all(url: str, events: Sequence[Event], batch: int = 1000) -> int:
    """Publishes many events in batches; returns the last seq."""
    last = 0
    async with aiohttp.ClientSession() as http:
        for start in range(0, len(events), batch):
            last = await publish(http, url, events[start : start + batch])
    return last


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The system Chromium, headless."""
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_context(browser: Browser) -> BrowserContext:
    """A 1280x800 context whose pages record their long tasks."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.add_init_script(LONGTASK_OBSERVER)
    return context


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return float(ordered[rank])


def machine() -> str:
    """One line on what ran the benchmark."""
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
