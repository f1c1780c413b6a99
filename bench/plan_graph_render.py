"""Time to draw a plan's graph view (#/plans/<id>) of 500 tasks in the dashboard.

Applies one plan of `--tasks` tasks (each but the first with one to three parents among
the tasks before it, a tenth of the edges `always` or `on_failure`) through POST /api/plans
on a fresh hub, then opens its graph view several times and reports medians of: the time
from following a link to the plan on the loaded dashboard to the graph's first paint (what
the operator waits for; the target is under 1 s for 500 tasks), the part of it spent laying
the graph out and building the SVG, and a cold load of `#/plans/<id>` in a fresh browser
context (navigation to the graph's first paint, most of it loading the dashboard's modules).

    .venv/bin/python -m bench.plan_graph_render [--tasks 500] [--runs 5] [--screenshot FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser

from bench.dashboard_hub import chromium, machine, median, new_context, running_hub

PLAN_ID = "bench-plan"

READ_METRICS = """() => {
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  return {
    fetched: mark('harness:plan-fetched'),
    rendered: mark('harness:plan-rendered'),
    painted: mark('harness:plan-painted'),
    nodes: document.querySelectorAll('[data-testid=plan-node]').length,
    edges: document.querySelectorAll('[data-testid=plan-edge]').length,
    layers: new Set([...document.querySelectorAll('[data-testid=plan-node]')]
      .map((n) => n.dataset.layer)).size,
    critical: document.querySelectorAll('[data-testid=plan-node][data-critical=true]').length,
    dom_nodes: document.getElementsByTagName('*').length,
  };
}"""


def plan(tasks: int, seed: int = 7) -> dict[str, Any]:
    """A plan of `tasks` tasks; each but the first depends on one to three earlier (mostly
    recent) tasks."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    for i in range(tasks):
        parents: dict[str, str] = {}
        for _ in range(rng.randint(1, 3) if i else 0):
            p = max(0, i - 1 - int(rng.expovariate(1 / 25)))
            roll = rng.random()
            parents[f"t{p:04d}"] = (
                "always" if roll < 0.05 else "on_failure" if roll < 0.1 else "on_success"
            )
        items.append(
            {
                "id": f"t{i:04d}",
                "title": f"Step {i} of the plan",
                "depends_on": [{"id": p, "when": w} for p, w in parents.items()],
            }
        )
    return {"id": PLAN_ID, "tasks": items}


async def apply(url: str, body: dict[str, Any]) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/plans", json=body) as resp,
    ):
        if resp.status != 200:
            raise RuntimeError(f"POST /api/plans: {resp.status} {await resp.text()}")


async def measure(browser: Browser, url: str, screenshot: Path | None = None) -> dict[str, Any]:
    """One cold load of the graph view in a fresh context."""
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{url}/#/plans/{PLAN_ID}")
    # (a selector, not wait_for_function: the page's CSP forbids the eval that one needs)
    await page.wait_for_selector("[data-testid=page-plan][data-loading=false]", timeout=120_000)
    await page.evaluate(
        "new Promise(r => requestAnimationFrame(() => setTimeout(() => {"
        " performance.mark('harness:plan-painted'); r(); })))"
    )
    metrics: dict[str, Any] = await page.evaluate(READ_METRICS)
    if screenshot:
        await page.screenshot(path=str(screenshot))
    await context.close()
    return metrics


FOLLOW_LINK = """async (hash) => {
  performance.clearMarks();
  const rendered = new Promise((resolve) => {
    new PerformanceObserver((list, observer) => {
      if (list.getEntriesByName('harness:plan-rendered').length) {
        observer.disconnect();
        resolve();
      }
    }).observe({ type: 'mark' });
  });
  const start = performance.now();
  location.hash = hash;
  await rendered;
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r)));
  const mark = (name) => performance.getEntriesByName(name)[0].startTime;
  return {
    painted: performance.now() - start,
    draw: mark('harness:plan-rendered') - mark('harness:plan-fetched'),
  };
}"""


async def follow_link(browser: Browser, url: str, runs: int) -> list[dict[str, float]]:
    """On a loaded dashboard: from the list of plans (#/plans) to the plan's graph, `runs`
    times (leaving the graph for the list makes the next visit draw it anew)."""
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{url}/#/plans")
    await page.wait_for_selector("html[data-ready=true]", timeout=120_000)
    out = []
    for _ in range(runs + 1):  # the first, warming, is left out
        await page.evaluate("h => { location.hash = h; }", "#/plans")
        await page.wait_for_selector("[data-testid=plan-list]", state="visible")
        out.append(await page.evaluate(FOLLOW_LINK, f"#/plans/{PLAN_ID}"))
    await context.close()
    return out[1:]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp) / "bench.db") as url:
            await apply(url, plan(args.tasks))
            async with chromium() as browser:
                await measure(browser, url)  # warm the hub and the browser
                runs = [await measure(browser, url) for _ in range(args.runs)]
                links = await follow_link(browser, url, args.runs)
                if args.screenshot:
                    await measure(browser, url, args.screenshot)
    return {
        "tasks": args.tasks,
        "link_to_graph_painted_ms": round(median([r["painted"] for r in links])),
        "layout_and_svg_ms": round(median([r["draw"] for r in links])),
        "cold_load_painted_ms": round(median([r["painted"] for r in runs])),
        "cold_load_tasks_read_ms": round(median([r["fetched"] for r in runs])),
        "nodes": runs[0]["nodes"],
        "edges": runs[0]["edges"],
        "layers": runs[0]["layers"],
        "critical_path": runs[0]["critical"],
        "dom_nodes": runs[0]["dom_nodes"],
        "runs": len(runs),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screenshot", type=Path, default=None)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
