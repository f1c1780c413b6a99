"""Time to a full first render of the dashboard with 10,000 tasks and 100,000 events stored.

Fills a fresh hub (REST), then opens the dashboard and the Tasks page in a fresh browser
context several times and reports, per page, the median time from navigation to the first
paint after the snapshot was rendered, the long tasks seen on the way, and the DOM size.

    .venv/bin/python -m bench.dashboard_first_render [--tasks 10000] [--events 100000]
        [--active 0.1] [--runs 5]

`--active` is the share of tasks still pending or running: the hub's snapshot carries every
active task (and the 200 most recent others), so `--active 1` is the heaviest snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.async_api import Browser

from bench.dashboard_hub import (
    Event,
    chromium,
    machine,
    median,
    new_context,
    publish_all,
    running_hub,
)

FINISHED = ("completed", "completed", "completed", "failed", "cancelled")
ACTIVE = ("pending", "queued", "queued", "running", "testing")

READ_METRICS = """() => {
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  const long = window.__longtasks || [];
  return {
    render: mark('harness:first-render'),
    paint: mark('harness:first-paint'),
    tasks: mark('harness:tasks-rendered'),
    longtasks: long.length,
    longest: long.reduce((m, [, d]) => Math.max(m, d), 0),
    long_total: long.reduce((s, [, d]) => s + d, 0),
    nodes: document.getElementsByTagName('*').length,
    cards: document.querySelectorAll('[data-testid=task-list] [data-testid=task-card]').length,
    store_tasks: window.harness.store.tasks.size,
  };
}"""


def population(tasks: int, events: int, active_share: float, seed: int = 7) -> list[Event]:
    """`tasks` task:created events, then other events up to `events` in all."""
    rng = random.Random(seed)
    out: list[Event] = []
    for i in range(tasks):
        status = rng.choice(ACTIVE if rng.random() < active_share else FINISHED)
        task: dict[str, Any] = {
            "id": f"task-{i:05d}",
            "title": f"Task {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
            "description": "Generated for the first-render benchmark.",
            "status": status,
            "priority": rng.randint(0, 3),
            "progress_percent": rng.randint(0, 100),
            "token_usage": {
                "input": rng.randint(0, 90_000),
                "output": rng.randint(0, 20_000),
                "cost_usd": round(rng.random() * 2, 4),
            },
        }
        if status == "failed":
            task["error_details"] = {"message": "exit 1", "kind": "test_failure", "exit_code": 1}
        out.append({"type": "task:created", "payload": {"task": task}})
    while len(out) < events:
        out.append(
            {
                "type": "event",
                "payload": {
                    "event": {"level": "info", "source": "bench", "message": f"filler {len(out)}"}
                },
            }
        )
    out.append(
        {
            "type": "budget:updated",
            "payload": {"budget": {"period": "bench", "limit_usd": 500.0, "spent_usd": 123.0}},
        }
    )
    return out


WORDS = ["refactor", "fix", "parser", "socket", "budget", "queue", "docs", "tests", "cache", "api"]


async def measure(browser: Browser, url: str, hash_: str) -> dict[str, Any]:
    """One cold load of a page in a fresh context."""
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{url}/{hash_}")
    await page.wait_for_function(
        "performance.getEntriesByName('harness:first-paint').length > 0", timeout=120_000
    )
    if hash_.startswith("#/tasks"):
        await page.wait_for_function(
            "performance.getEntriesByName('harness:tasks-rendered').length > 0", timeout=120_000
        )
        await page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r)))")
    metrics: dict[str, Any] = await page.evaluate(READ_METRICS)
    metrics["done"] = max(metrics["paint"], metrics["tasks"] or 0)
    await context.close()
    return metrics


def snapshot_bytes(url: str) -> int:
    with urllib.request.urlopen(f"{url}/api/snapshot", timeout=60) as resp:
        return len(resp.read())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp) / "bench.db") as url:
            started = time.monotonic()
            last = await publish_all(url, population(args.tasks, args.events, args.active))
            fill_s = time.monotonic() - started
            snap = snapshot_bytes(url)
            results: dict[str, Any] = {}
            async with chromium() as browser:
                await measure(browser, url, "#/")  # warm the hub's caches and the browser
                for hash_ in ("#/", "#/tasks"):
                    runs = [await measure(browser, url, hash_) for _ in range(args.runs)]
                    results[hash_] = summarize(runs)
    return {
        "tasks": args.tasks,
        "events": last,
        "active_share": args.active,
        "fill_s": round(fill_s, 1),
        "snapshot_bytes": snap,
        "pages": results,
        "machine": machine(),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "first_render_ms": round(median([r["render"] for r in runs])),
        "full_render_ms": round(median([r["done"] for r in runs])),
        "longtasks": round(median([r["longtasks"] for r in runs])),
        "longest_task_ms": round(median([r["longest"] for r in runs])),
        "dom_nodes": round(median([r["nodes"] for r in runs])),
        "cards": runs[0]["cards"],
        "tasks_in_store": runs[0]["store_tasks"],
        "runs": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--active", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
