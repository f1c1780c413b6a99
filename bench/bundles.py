"""Incident bundles and what-if: how long exporting, importing and replaying a large
stretch of the log take.

    .venv/bin/python -m bench.bundles                  # 100,000 events
    .venv/bin/python -m bench.bundles --events 20000
    .venv/bin/python -m bench.bundles --tiny           # 2,000 events (what the suite runs)

- **build**: N fleet events (bench/history.py's mix) published in 100-event batches on a
  temporary SQLite file, a checkpoint every 10,000.
- **export**: `Node.export_bundle` of the second half of the log (what `GET /api/export`
  streams), into memory: seconds, events/s, bytes per event.
- **check**: `read_bundle(bundle_lines(...))`, what `POST /api/import` does before writing.
- **import**: `Node.import_bundle` into a fresh SQLite file (fold + one transaction +
  reload).
- **replay**: `whatif.replay` with the default rules, a stuck threshold and a budget.

Prints a markdown table and writes bench/results/bundles.json.
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

from bench.history import BATCH, fleet_event
from parent_harness.hub.bundles import bundle_lines, read_bundle
from parent_harness.hub.node import Node
from parent_harness.whatif import candidate_of, replay

RESULTS = Path(__file__).parent / "results" / "bundles.json"


async def run(events: int) -> dict[str, Any]:
    out: dict[str, Any] = {"events": events}
    with tempfile.TemporaryDirectory() as tmp:
        source = Node(f"sqlite:///{tmp}/source.db", checkpoint_every=10_000)
        await source.start()
        rng = random.Random(11)
        for start in range(0, events, BATCH):
            await source.publish_many([fleet_event(rng, start + i, 10_000) for i in range(BATCH)])
        low, high = events // 2 + 1, source.seq
        count = high - low + 1
        started = time.perf_counter()
        state = await source.state_at(low - 1)
        data = b"".join([c async for c in source.export_bundle(state, low, high, task=None,
                                                                session=None)])  # fmt: skip
        out["export_s"] = time.perf_counter() - started
        out["bundle_bytes_per_event"] = len(data) / count
        started = time.perf_counter()
        bundle = read_bundle(bundle_lines(data))
        out["check_s"] = time.perf_counter() - started
        target = Node(f"sqlite:///{tmp}/target.db")
        await target.start()
        started = time.perf_counter()
        await target.import_bundle(bundle)
        out["import_s"] = time.perf_counter() - started
        candidate = candidate_of(
            {"health": {"stuck_after_s": 600}, "budget": {"limit_usd_per_task": 1.0}}
        )
        started = time.perf_counter()
        report = replay(bundle, candidate)
        out["replay_s"] = time.perf_counter() - started
        out["replay_findings"] = len(report.would)
        out["bundle_events"] = count
        await target.stop()
        await source.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--tiny", action="store_true", help="2,000 events (what the suite runs)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Where the JSON goes.")
    args = parser.parse_args()
    result = asyncio.run(run(2_000 if args.tiny else args.events))
    n = result["bundle_events"]
    print(f"| {n:,} events of a {result['events']:,}-event log | seconds | events/s |")
    print("|---|---|---|")
    for step in ("export", "check", "import", "replay"):
        s = result[f"{step}_s"]
        print(f"| {step} | {s:.2f} | {n / s:,.0f} |")
    print(f"\nbundle: {result['bundle_bytes_per_event']:.0f} bytes/event (plain JSON lines)")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
