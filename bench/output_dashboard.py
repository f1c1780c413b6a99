"""The dashboard following one session printing 2,000 lines/s: how busy its main thread is.

    .venv/bin/python -m bench.output_dashboard [--seconds 10] [--lines-per-s 2000]

A real hub (`harness serve --port 0`) and the system Chromium (headless). The session page
is open on its terminal, in follow mode; the driver publishes `session:output` at the rate
(10 events a second, 100-character lines with colours). Main-thread busy time is Chrome's
own `TaskDuration` (DevTools Performance.getMetrics) over the wall time of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
from playwright.async_api import CDPSession

from bench.dashboard_hub import chromium, machine, new_context, publish, running_hub

EVENTS_PER_S = 10


async def metric(cdp: CDPSession, name: str) -> float:
    found = await cdp.send("Performance.getMetrics")
    return float(next(m["value"] for m in found["metrics"] if m["name"] == name))


async def run(seconds: float, lines_per_s: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp) / "hub.db") as url, aiohttp.ClientSession() as http:
            session = {"id": "s-b", "agent_id": "a-b", "status": "running"}
            await publish(http, url, [{"type": "session:started", "payload": {"session": session}}])
            async with chromium() as browser:
                context = await new_context(browser)
                page = await context.new_page()
                await page.goto(f"{url}/#/sessions/s-b")
                await page.wait_for_selector("html[data-ready='true']")
                cdp = await context.new_cdp_session(page)
                await cdp.send("Performance.enable")
                per_event = lines_per_s // EVENTS_PER_S
                text = "\x1b[32mPASSED\x1b[0m tests/test_module.py::test_case " + "x" * 50
                busy0, wall0 = await metric(cdp, "TaskDuration"), time.monotonic()
                line, next_at = 1, time.monotonic()
                while time.monotonic() - wall0 < seconds:
                    lines = [
                        {"n": line + k, "stream": "stdout", "text": text} for k in range(per_event)
                    ]
                    payload = {"session_id": "s-b", "from_line": line, "lines": lines}
                    await publish(http, url, [{"type": "session:output", "payload": payload}])
                    line += per_event
                    next_at += 1 / EVENTS_PER_S
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                last = line - 1
                await page.wait_for_function(
                    f"() => window.harness.views.session.terminal.lastN >= {last}", timeout=30_000
                )
                busy, wall = await metric(cdp, "TaskDuration") - busy0, time.monotonic() - wall0
                shown = await page.evaluate(
                    "() => document.querySelectorAll('[data-testid=terminal-line]').length"
                )
                await context.close()
    return (
        f"{lines_per_s} lines/s for {seconds:g} s ({last} lines): main thread busy "
        f"{busy:.2f} s of {wall:.2f} s = {100 * busy / wall:.0f} %; {shown} rows in the DOM; "
        + machine()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lines-per-s", type=int, default=2000)
    args = parser.parse_args()
    print(asyncio.run(run(args.seconds, args.lines_per_s)))


if __name__ == "__main__":
    main()
