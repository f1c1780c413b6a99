"""The dashboard under a storm of events: how busy is the page's main thread?

Seeds a fleet (agents, tasks, sessions, a budget), opens a page, then publishes a paced
storm (default 500 events/s for 20 s, a realistic mix) over REST while it measures, in the
page: the main thread's busy share (CDP `Performance.getMetrics` TaskDuration over wall
time), long tasks (> 50 ms), frames drawn per second, the event loop's lag (a 50 ms timer's
drift), and the delay from an event's commit (its timestamp) to its render.

    .venv/bin/python -m bench.dashboard_storm [--rate 500] [--seconds 20] [--page '#/']
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import CDPSession, Page

from bench.dashboard_hub import (
    Event,
    chromium,
    machine,
    new_context,
    percentile,
    publish,
    publish_all,
    running_hub,
)

AGENTS = 20
TASKS = 2000
BATCH_EVERY_S = 0.05

# Runs in the page: frames, timer drift, and commit-to-render delay of every event.
PROBES = """() => {
  const probe = window.__probe = { frames: 0, lags: [], delays: [], applied: 0 };
  const frame = () => { probe.frames += 1; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  let expected = performance.now() + 50;
  setInterval(() => {
    const now = performance.now();
    probe.lags.push(now - expected);
    expected = now + 50;
  }, 50);
  window.harness.store.subscribe((changes) => {
    const now = Date.now();
    for (const m of changes.events) probe.delays.push(now - Date.parse(m.timestamp));
    probe.applied += changes.events.length;
  });
  probe.start = performance.now();
  probe.longStart = window.__longtasks.length;
}"""

READ_PROBES = """() => {
  const p = window.__probe;
  const long = window.__longtasks.slice(p.longStart);
  return { frames: p.frames, seconds: (performance.now() - p.start) / 1000, lags: p.lags,
           delays: p.delays, applied: p.applied, seq: window.harness.store.seq,
           longtasks: long.length, long_ms: long.reduce((s, [, d]) => s + d, 0),
           longest: long.reduce((m, [, d]) => Math.max(m, d), 0),
           nodes: document.getElementsByTagName('*').length };
}"""


def fleet() -> list[Event]:
    """The state the storm updates: agents, tasks (10 % running), sessions, a budget."""
    out: list[Event] = []
    for a in range(AGENTS):
        out.append(
            {
                "type": "agent:status",
                "payload": {
                    "agent": {
                        "id": f"agent-{a}",
                        "name": f"agent-{a}",
                        "status": "working",
                        "health_status": "healthy",
                        "running_instances": 1,
                        "max_instances": 2,
                        "current_task_id": f"task-{a}",
                        "current_session_id": f"session-{a}",
                    }
                },
            }
        )
    for t in range(TASKS):
        running = t < AGENTS * 5
        out.append(
            {
                "type": "task:created",
                "payload": {
                    "task": {
                        "id": f"task-{t}",
                        "title": f"Task {t}",
                        "status": "running" if running else "completed",
                        "session_id": f"session-{t % AGENTS}",
                        "progress_percent": 0 if running else 100,
                    }
                },
            }
        )
    for a in range(AGENTS):
        out.append(
            {
                "type": "session:started",
                "payload": {
                    "session": {
                        "id": f"session-{a}",
                        "agent_id": f"agent-{a}",
                        "task_id": f"task-{a}",
                        "status": "running",
                        "iteration": 0,
                        "max_iterations": 50,
                    }
                },
            }
        )
    out.append(
        {
            "type": "budget:updated",
            "payload": {"budget": {"period": "storm", "limit_usd": 1000.0, "spent_usd": 0.0}},
        }
    )
    return out


class StormEvents:
    """A realistic mix: heartbeats, progress, iterations, notes, status, spend."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.spent = 0.0

    def next(self) -> Event:
        self.n += 1
        r = self.rng.random()
        a = self.rng.randrange(AGENTS)
        if r < 0.35:
            return {
                "type": "session:heartbeat",
                "payload": {
                    "session_id": f"session-{a}",
                    "iteration": self.n % 50,
                    "progress_percent": self.n % 100,
                },
            }
        if r < 0.55:
            return {
                "type": "task:updated",
                "payload": {
                    "task": {
                        "id": f"task-{self.rng.randrange(AGENTS * 5)}",
                        "progress_percent": self.n % 100,
                    }
                },
            }
        if r < 0.70:
            return {
                "type": "agent:heartbeat",
                "payload": {"agent_id": f"agent-{a}", "iteration": self.n % 50},
            }
        if r < 0.82:
            return {
                "type": "event",
                "payload": {
                    "event": {
                        "level": "info",
                        "source": "storm",
                        "message": f"storm event {self.n}",
                    }
                },
            }
        if r < 0.90:
            return {
                "type": "session:iteration",
                "payload": {
                    "session_id": f"session-{a}",
                    "iteration": self.n % 50,
                    "summary": "step",
                    "token_usage": {"input": 1000, "output": 200, "cost_usd": 0.01},
                },
            }
        if r < 0.96:
            return {
                "type": "agent:status",
                "payload": {"agent": {"id": f"agent-{a}", "current_iteration": self.n % 50}},
            }
        self.spent += 0.05
        return {
            "type": "budget:updated",
            "payload": {"budget": {"period": "storm", "spent_usd": round(self.spent, 2)}},
        }


async def storm(url: str, rate: int, seconds: float) -> tuple[int, int, float]:
    """Publishes `rate` events/s for `seconds`, paced; returns (sent, last seq, elapsed)."""
    events = StormEvents()
    per_batch = max(1, round(rate * BATCH_EVERY_S))
    batches = round(seconds / BATCH_EVERY_S)
    sent = last = 0
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        for k in range(batches):
            delay = start + k * BATCH_EVERY_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            last = await publish(http, url, [events.next() for _ in range(per_batch)])
            sent += per_batch
    return sent, last, time.monotonic() - start


async def task_seconds(cdp: CDPSession) -> float:
    metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


async def caught_up(page: Page, seq: int) -> float:
    """Seconds until the page has applied `seq`."""
    start = time.monotonic()
    await page.wait_for_function(f"window.harness.store.seq >= {seq}", timeout=60_000)
    return time.monotonic() - start


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp) / "storm.db") as url:
            await publish_all(url, fleet())
            async with chromium() as browser:
                context = await new_context(browser)
                page = await context.new_page()
                await page.goto(f"{url}/{args.page}")
                await page.wait_for_selector("html[data-ready='true']")
                cdp = await context.new_cdp_session(page)
                await cdp.send("Performance.enable")
                await page.evaluate(PROBES)
                busy_before, wall_before = await task_seconds(cdp), time.monotonic()
                sent, last, elapsed = await storm(url, args.rate, args.seconds)
                busy = (await task_seconds(cdp) - busy_before) / (time.monotonic() - wall_before)
                catch_up = await caught_up(page, last)
                probes: dict[str, Any] = await page.evaluate(READ_PROBES)
                await context.close()
    return report(args, sent, elapsed, busy, catch_up, probes)


def report(
    args: argparse.Namespace,
    sent: int,
    elapsed: float,
    busy: float,
    catch_up: float,
    p: dict[str, Any],
) -> dict[str, Any]:
    return {
        "page": args.page,
        "rate_asked": args.rate,
        "rate_sent": round(sent / elapsed),
        "seconds": round(elapsed, 1),
        "main_thread_busy_share": round(busy, 3),
        "longtasks": p["longtasks"],
        "longtask_ms_total": round(p["long_ms"]),
        "longest_task_ms": round(p["longest"]),
        "frames_per_s": round(p["frames"] / p["seconds"], 1),
        "timer_lag_ms_p99": round(percentile(p["lags"], 99), 1),
        "timer_lag_ms_max": round(max(p["lags"], default=0), 1),
        "commit_to_render_ms_p50": round(percentile(p["delays"], 50)),
        "commit_to_render_ms_p99": round(percentile(p["delays"], 99)),
        "events_applied": p["applied"],
        "catch_up_after_storm_s": round(catch_up, 2),
        "dom_nodes_after": p["nodes"],
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--page", default="#/", help="the page under the storm: '#/', '#/events'")
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
