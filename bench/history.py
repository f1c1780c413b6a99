"""The state at any point of the log: how long `GET /api/state?at=` takes on a large log, and
what checkpoints cost the ingest.

    .venv/bin/python -m bench.history                  # 1,000,000 events; about 3 minutes
    .venv/bin/python -m bench.history --tiny           # 20,000 events (what the suite runs)

- **build**: a log of N fleet events (tasks created and updated across 10,000 tasks,
  sessions, iterations, heartbeats, notes) published in 100-event batches through
  `Node.publish_many` on a temporary SQLite file, twice: with checkpoints every 10,000
  events and with none; events/s for each, so the checkpoints' cost is their ratio.
- **state at**: `Node.state_at` at 50 random seqs of the checkpointed log (p50, p95, max in
  ms), from a node started again on the file (so from the store alone).

Prints a markdown table and writes bench/results/history.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from parent_harness.hub.ingest import Draft
from parent_harness.hub.node import Node

RESULTS = Path(__file__).parent / "results" / "history.json"
BATCH = 100


def fleet_event(rng: random.Random, n: int, tasks: int) -> Draft:
    """One event of a busy fleet."""
    pick = rng.randrange(10)
    task_id = f"t{rng.randrange(tasks)}"
    session_id = f"s{rng.randrange(tasks // 10 or 1)}"
    if pick < 3:
        status = rng.choice(["queued", "running", "testing", "completed", "failed"])
        task = {"id": task_id, "title": f"task {task_id}", "status": status}
        return Draft("task:updated", {"task": task})
    if pick < 4:
        session = {"id": session_id, "agent_id": f"a{rng.randrange(20)}", "task_id": task_id}
        return Draft("session:updated", {"session": session})
    if pick < 6:
        usage = {"input": rng.randrange(5000), "output": rng.randrange(500), "cost_usd": 0.01}
        payload = {"session_id": session_id, "iteration": n % 50, "token_usage": usage}
        return Draft("session:iteration", payload)
    if pick < 9:
        return Draft("agent:heartbeat", {"agent_id": f"a{rng.randrange(20)}", "iteration": n % 50})
    return Draft("event", {"event": {"message": f"note {n}", "level": "info"}})


async def build(path: str, events: int, every: int) -> dict[str, float]:
    """Publishes `events` fleet events; events/s."""
    gc.collect()
    node = Node(f"sqlite:///{path}", checkpoint_every=every)
    await node.start()
    rng = random.Random(11)
    started = time.perf_counter()
    for start in range(0, events, BATCH):
        await node.publish_many([fleet_event(rng, start + i, 10_000) for i in range(BATCH)])
    elapsed = time.perf_counter() - started
    await node.checkpoints.stop()
    taken = node.checkpoints.taken
    await node.stop()
    return {"events_per_s": events / elapsed, "checkpoints": taken, "seconds": elapsed}


async def states_at(path: str, events: int, samples: int) -> list[float]:
    """Milliseconds of `state_at` at random seqs, on a node started again on the file."""
    node = Node(f"sqlite:///{path}")
    await node.start()
    rng = random.Random(5)
    out = []
    for _ in range(samples):
        seq = rng.randrange(1, events + 1)
        started = time.perf_counter()
        state = await node.state_at(seq)
        out.append((time.perf_counter() - started) * 1000)
        assert state.seq == seq
    await node.stop()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a small log")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    events = 20_000 if args.tiny else args.events
    samples = 10 if args.tiny else 50
    with tempfile.TemporaryDirectory() as scratch:
        plain = await build(f"{scratch}/plain.db", events, every=events * 10)
        checked = await build(f"{scratch}/history.db", events, every=10_000)
        times = await states_at(f"{scratch}/history.db", events, samples)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
    result: dict[str, Any] = {
        "events": events,
        "ingest_without_checkpoints": plain,
        "ingest_with_checkpoints": checked,
        "checkpoint_cost": 1 - checked["events_per_s"] / plain["events_per_s"],
        "state_at_ms": {"p50": statistics.median(times), "p95": p95, "max": max(times)},
    }
    print(f"| log of {events:,} events (SQLite) | figure |")
    print("|---|---|")
    print(f"| ingest, no checkpoints (events/s) | {plain['events_per_s']:,.0f} |")
    print(
        f"| ingest, a checkpoint every 10,000 (events/s) | {checked['events_per_s']:,.0f} "
        f"({checked['checkpoints']} checkpoints) |"
    )
    print(f"| cost of the checkpoints | {result['checkpoint_cost'] * 100:.1f} % |")
    ms = result["state_at_ms"]
    print(
        f"| state at a random seq, {samples} samples (ms) | p50 {ms['p50']:.0f} · "
        f"p95 {ms['p95']:.0f} · max {ms['max']:.0f} |"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
