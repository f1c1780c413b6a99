"""The task graph's costs: applying a large plan, and moving tasks on as their parents end.

    .venv/bin/python -m bench.plans                 # 10,000 tasks, 30,000 edges; 3 runs
    .venv/bin/python -m bench.plans --tiny          # 300 tasks (what the test suite runs)

- **apply**: `POST /api/plans` with N tasks, each depending on 3 of the 10 before it (about
  3N edges), on a real hub (this process, port 0, a temporary SQLite file): from the
  request to the answer, which comes once every event is committed. Split into the check
  and the events (`apply_plan`, no I/O) and the rest (validation of the body, publishing,
  the commits). Applying it again (nothing changes) is timed too.
- **scheduling**: the orchestrator's cost per finished task (`DependencyScheduler`: note
  the children, check them, publish what changes) for plans of growing size, each task
  finishing in order; the publisher folds each update into the queue at once, as the hub's
  listener would. The cost should follow a task's children, not the plan's size.

Prints one markdown table per figure and writes bench/results/plans.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from parent_harness.hub.plans import apply_plan
from parent_harness.orchestrator.dependencies import DependencyScheduler
from parent_harness.orchestrator.queue import TaskQueue
from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings

RESULTS = Path(__file__).parent / "results" / "plans.json"


def plan_tasks(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """N tasks, each after 3 random ones of the 10 before it (a DAG of about 3N edges in
    which a task has about 3 children, whatever N)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parents = rng.sample(range(max(0, i - 10), i), min(3, i))
        task: dict[str, Any] = {"id": f"t{i}", "title": f"step {i}", "priority": rng.randint(0, 9)}
        if parents:
            task["depends_on"] = [f"t{p}" for p in sorted(parents)]
        out.append(task)
    return out


async def apply_once(n: int) -> dict[str, float]:
    """Seconds to apply an N-task plan on a fresh hub, and to apply it again."""
    tasks = plan_tasks(n)
    plan = {"id": "bench", "tasks": tasks}
    started = time.perf_counter()
    apply_plan("bench", tasks, {}, max_parents=100)
    pure = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            port=0, store=f"sqlite:///{scratch}/plans.db", max_body_bytes=64 * 1024 * 1024
        )
        server = HubServer(settings)
        await server.start()
        try:
            async with aiohttp.ClientSession(server.url) as http:
                started = time.perf_counter()
                async with http.post("/api/plans", json=plan) as response:
                    body = await response.json()
                    assert response.status == 200, body
                applied = time.perf_counter() - started
                assert len(body["created"]) == n, body
                started = time.perf_counter()
                async with http.post("/api/plans", json=plan) as response:
                    again = await response.json()
                    assert again["unchanged"] == n, again
                reapplied = time.perf_counter() - started
            edges = sum(len(t.get("depends_on", [])) for t in tasks)
            assert server.node.committed_state.tasks[f"t{n - 1}"]["status"] == "blocked"
        finally:
            await server.stop()
    return {"tasks": n, "edges": edges, "apply_s": applied, "check_s": pure, "again_s": reapplied}


class FoldingPublisher:
    """Stands for the hub: each update is folded into the queue (and noted) at once."""

    def __init__(self, queue: TaskQueue) -> None:
        self.queue = queue
        self.scheduler: DependencyScheduler | None = None
        self.published = 0

    async def task(self, type: str, task: Mapping[str, Any], *, id: str | None = None) -> None:
        self.published += 1
        merged = {**(self.queue.get(str(task["id"])) or {}), **task}
        self.queue.apply(merged)
        assert self.scheduler is not None
        self.scheduler.on_task(merged)


async def scheduling(n: int, finished: int = 1000) -> dict[str, float]:
    """Microseconds of scheduler work per finished task in an N-task plan."""
    tasks = plan_tasks(n)
    queue = TaskQueue()
    drafts = apply_plan("bench", tasks, {}, max_parents=100)
    for draft in drafts[:-1]:
        queue.apply(draft.payload["task"])
    publisher = FoldingPublisher(queue)
    scheduler = DependencyScheduler(queue, publisher)  # type: ignore[arg-type]
    publisher.scheduler = scheduler
    ready = [t["id"] for t in tasks if queue.get(t["id"])["status"] == "queued"]  # type: ignore[index]
    spent = 0.0
    done = 0
    while ready and done < finished:
        task_id = ready.pop(0)
        completed = {**queue.get(task_id), "status": "completed"}  # type: ignore[dict-item]
        started = time.perf_counter()
        queue.apply(completed)
        scheduler.on_task(completed)
        await scheduler.drain()
        spent += time.perf_counter() - started
        done += 1
        ready = [t for t in queue._runnable if t not in queue._claimed and t != task_id]
        ready.sort(key=lambda t: int(t[1:]))
    return {
        "tasks": n,
        "finished": done,
        "us_per_finished": spent / max(done, 1) * 1e6,
        "checks_per_finished": scheduler.checked / max(done, 1),
    }


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a small plan, one run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    size = 300 if args.tiny else 10_000
    runs = 1 if args.tiny else args.runs
    sizes = (100, 300) if args.tiny else (1_000, 10_000, 100_000)

    applied = [await apply_once(size) for _ in range(runs)]
    print(f"| plan ({size:,} tasks, {applied[0]['edges']:,} edges) | median of {runs} | runs |")
    print("|---|---|---|")
    for key, name in (
        ("apply_s", "POST /api/plans, all committed (s)"),
        ("check_s", "of which the check and the events (s)"),
        ("again_s", "applying it again, nothing changes (s)"),
    ):
        values = ", ".join(f"{r[key]:.3f}" for r in applied)
        print(f"| {name} | {median_of(applied, key):.3f} | {values} |")

    sched = [await scheduling(n, finished=200 if args.tiny else 1000) for n in sizes]
    print()
    print("| plan size | tasks finished | µs per finished task | checks per finished task |")
    print("|---|---|---|---|")
    for s in sched:
        print(
            f"| {s['tasks']:,} | {s['finished']:,} | {s['us_per_finished']:.1f} "
            f"| {s['checks_per_finished']:.2f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"apply": applied, "scheduling": sched}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
