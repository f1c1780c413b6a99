"""The scrubber on a large log: how fast the page shows the moment under a dragged pointer,
whether the main thread stays free meanwhile, and what the timeline's density costs.

    .venv/bin/python -m bench.scrubber                  # 1,000,000 events; a few minutes
    .venv/bin/python -m bench.scrubber --tiny           # 20,000 events (what the suite runs)

- **build**: the log of bench/history.py (fleet events in 100-event batches through
  `Node.publish_many`, a checkpoint every 10,000) on a temporary SQLite file.
- **density**: `GET /api/history/timeline?buckets=600` on the whole log, first (the hub
  reads the marks of every block once), then 10 times on the whole log and 10 on its last
  tenth, against a `harness serve` on that file (p50 and max, in ms).
- **drag**: the system Chromium on the dashboard; the mouse is pressed on the timeline and
  moved across it at 60 moves a second for 2 s, as a hand drags. Each pointer move asks the
  time machine for its moment (one request in flight, the latest wins: the moves passed
  over while one is out are never asked for). For every moment asked: the time from its
  pointer move to the page drawn from that state (p50, p99); then the time from the last
  move to the page showing where the pointer stopped; and the main thread's long tasks
  (> 50 ms, PerformanceObserver `longtask`) during the drag: how many and the longest.

Prints a markdown table and writes bench/results/scrubber.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.dashboard_hub import chromium, machine, new_context, percentile, running_hub
from bench.history import build

RESULTS = Path(__file__).parent / "results" / "scrubber.json"
MOVES_PER_S = 60
DRAG_S = 2.0
BUCKETS = 600


async def density(url: str, samples: int = 10) -> dict[str, float]:
    """Milliseconds of the timeline route, on the whole log and on its last tenth."""
    out: dict[str, float] = {}
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()  # the first read: every block of marks read from the log
        async with http.get(f"{url}/api/history/timeline?buckets={BUCKETS}") as resp:
            whole = await resp.json()
        out["first_read_ms"] = (time.perf_counter() - started) * 1000
        last_tenth = whole["start_ms"] + (whole["end_ms"] - whole["start_ms"]) * 9 // 10
        for name, query in [
            ("whole_log", f"buckets={BUCKETS}"),
            ("last_tenth", f"buckets={BUCKETS}&start={_iso(last_tenth)}"),
        ]:
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                async with http.get(f"{url}/api/history/timeline?{query}") as resp:
                    body = await resp.json()
                    assert resp.status == 200, body
                times.append((time.perf_counter() - started) * 1000)
            out[f"{name}_p50_ms"] = statistics.median(times)
            out[f"{name}_max_ms"] = max(times)
    return out


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def drag(url: str) -> dict[str, Any]:
    """The scripted drag in Chromium (see the module docstring)."""
    async with chromium() as browser:
        context = await new_context(browser)
        page = await context.new_page()
        await page.goto(f"{url}/#/")
        await page.wait_for_selector("html[data-ready='true']", timeout=120_000)
        await page.wait_for_selector("[data-testid='scrubber'][data-loaded='true']")
        track = page.get_by_test_id("scrubber-track")
        box = await track.bounding_box()
        assert box is not None
        y = box["y"] + box["height"] / 2
        left, right = box["x"] + 2, box["x"] + box["width"] - 2
        moves = int(MOVES_PER_S * DRAG_S)
        started = await page.evaluate("performance.now()")
        await page.mouse.move(right, y)
        await page.mouse.down()
        for i in range(moves):
            # From the live end back to the start: every move a new moment.
            x = right - (right - left) * (i + 1) / moves
            await page.mouse.move(x, y)
            await asyncio.sleep(1 / MOVES_PER_S)  # a hand's pace, not a wait for the page
        await page.mouse.up()
        await page.wait_for_function(
            """() => {
                const m = window.harness.machine;
                const last = m.trace[m.trace.length - 1];
                return !m.pumping && !m.wanted && last && last.shown !== null;
            }""",
            timeout=120_000,
        )
        trace = await page.evaluate("window.harness.machine.trace")
        longtasks = await page.evaluate("window.__longtasks")
        await context.close()
    shown = [t for t in trace if t["shown"] is not None]
    latencies = [t["shown"] - t["asked"] for t in shown]
    requests = [t["applied"] - t["asked"] for t in shown]  # /api/state, and the wait for it
    renders = [t["shown"] - t["applied"] for t in shown]  # the store, then the page drawn
    during = [d for start, d in longtasks if start >= started]
    return {
        "moves": moves,
        "moments_shown": len(shown),
        "moments_folded_here": sum(1 for t in shown if t.get("how") == "fold"),
        "move_to_page_ms": {
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "max": max(latencies) if latencies else float("nan"),
        },
        "of_which_state_request_ms": {
            "p50": percentile(requests, 50),
            "p99": percentile(requests, 99),
        },
        "of_which_render_ms": {"p50": percentile(renders, 50), "p99": percentile(renders, 99)},
        # The last moment asked is the last move's (the latest wins): its whole wait.
        "last_move_to_page_ms": shown[-1]["shown"] - shown[-1]["asked"] if shown else float("nan"),
        "long_tasks": {"count": len(during), "longest_ms": max(during, default=0.0)},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a small log")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--db", type=Path, help="keep the log in this file; reuse it if there")
    args = parser.parse_args()
    events = 20_000 if args.tiny else args.events
    with tempfile.TemporaryDirectory() as scratch:
        db = args.db or Path(scratch) / "history.db"
        built = {"events_per_s": None}
        if not db.exists():
            built = await build(str(db), events, every=10_000)
        async with running_hub(db) as url:
            timeline = await density(url)
            dragged = await drag(url)
    result: dict[str, Any] = {
        "events": events,
        "machine": machine(),
        "build_events_per_s": built["events_per_s"],
        "density": timeline,
        "drag": dragged,
    }
    lat = dragged["move_to_page_ms"]
    print(f"| scrubber on a log of {events:,} events (SQLite) | figure |")
    print("|---|---|")
    print(
        f"| density, {BUCKETS} buckets: first read · whole log · last tenth (ms, p50) | "
        f"{timeline['first_read_ms']:.0f} · {timeline['whole_log_p50_ms']:.0f} · "
        f"{timeline['last_tenth_p50_ms']:.0f} |"
    )
    print(
        f"| drag: {dragged['moves']} pointer moves in {DRAG_S:.0f} s, moments shown | "
        f"{dragged['moments_shown']} |"
    )
    print(
        f"| pointer move to the page at that moment (ms) | p50 {lat['p50']:.0f} · "
        f"p99 {lat['p99']:.0f} · max {lat['max']:.0f} |"
    )
    print(
        f"| last move to the page where the pointer stopped (ms) | "
        f"{dragged['last_move_to_page_ms']:.0f} |"
    )
    lt = dragged["long_tasks"]
    print(f"| long tasks during the drag | {lt['count']} (longest {lt['longest_ms']:.0f} ms) |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
