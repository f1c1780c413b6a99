"""Workers (issue 19): claims per second, and the time from a task queued to its agent
started on an idle worker.

    .venv/bin/python -m bench.workers [--tasks 2000] [--links 8] [--starts 100] [--tiny]
        [--out DIR]

1. **Claims.** A real hub (SQLite file, port 0) with `--tasks` queued tasks; `--links`
   worker connections (as many registered workers) claim over HTTP as fast as they can,
   each releasing what it won at once (completed), until nothing is left. Figures: claims
   per second (a claim and its release each), the claim's latency (median, p99), and that
   no task was won twice.
2. **Queued to started.** One `harness worker` process (its agent `/bin/true`), idle and
   waiting in its long-poll claim; each of `--starts` tasks is created on the hub and timed
   from its `task:created` to its `session:started` (the agent process is running), both
   seen by the hub in this process; the next task is created once the last one completed.
   Target: p99 under 100 ms.

Prints a markdown table; with `--out`, writes `workers.json` and `workers.md` there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.dashboard_hub import machine, median, percentile
from parent_harness.client.worker import WorkerLink
from parent_harness.events.sink import Event
from parent_harness.hub.ingest import Draft
from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings

TARGET_P99_MS = 100.0
TOKEN = "bench-worker"


def hub_settings(root: Path) -> Settings:
    return Settings(
        port=0,
        store=f"sqlite:///{root / 'hub.db'}",
        tokens=("admin",),
        worker_tokens=(TOKEN,),
        lease_s=30.0,
    )


async def add_tasks(server: HubServer, prefix: str, count: int) -> None:
    drafts = [
        Draft("task:created", {"task": {"id": f"{prefix}{i}", "title": "b", "status": "queued"}})
        for i in range(count)
    ]
    for start in range(0, count, 500):
        await server.node.publish_many(drafts[start : start + 500])


async def claims(root: Path, tasks: int, links: int) -> dict[str, Any]:
    server = HubServer(hub_settings(root))
    await server.start()
    try:
        await add_tasks(server, "c", tasks)
        took: list[float] = []
        won: Counter[str] = Counter()

        async def drain(n: int) -> None:
            async with WorkerLink(server.url, f"bench{n}", token=TOKEN) as link:
                await link.register(["a"], [], 1, "bench")
                while True:
                    start = time.perf_counter()
                    lease = await link.claim(["a"])
                    took.append((time.perf_counter() - start) * 1000)
                    if lease is None:
                        return
                    won[lease["task"]["id"]] += 1
                    await link.release(lease["task"]["id"], lease["lease_id"], "completed")

        start = time.perf_counter()
        await asyncio.gather(*(drain(n) for n in range(links)))
        elapsed = time.perf_counter() - start
    finally:
        await server.stop()
    return {
        "tasks": tasks,
        "links": links,
        "claims_per_s": round(sum(won.values()) / elapsed, 1),
        "claim_ms": {"median": round(median(took), 2), "p99": round(percentile(took, 99), 2)},
        "won_twice": sum(1 for count in won.values() if count > 1),
        "won": len(won),
    }


async def queued_to_started(root: Path, starts: int) -> dict[str, Any]:
    server = HubServer(hub_settings(root))
    await server.start()
    config = root / "worker.toml"
    config.write_text('[agents.a]\ncommand = ["/bin/true"]\n', encoding="utf-8")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "parent_harness", "worker", "--hub", server.url,
        "--token", TOKEN, "--config", str(config), "--name", "idle",
        cwd=root, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    created: dict[str, float] = {}
    started: dict[str, float] = {}
    completed: dict[str, asyncio.Event] = {}
    online = asyncio.Event()

    def listen(event: Event) -> None:
        now = time.perf_counter()
        if event.type == "worker:status" and event.payload["worker"]["status"] == "online":
            online.set()
        elif event.type == "session:started":
            started.setdefault(str(event.payload["session"]["task_id"]), now)
        elif event.type == "task:completed":
            completed.setdefault(str(event.payload["task"]["id"]), asyncio.Event()).set()

    server.node.add_listener(listen)
    try:
        await asyncio.wait_for(online.wait(), 60)
        for i in range(starts + 5):
            task_id = f"q{i}"
            done = completed.setdefault(task_id, asyncio.Event())
            created[task_id] = time.perf_counter()
            await server.node.publish("task:created", {"task": {"id": task_id, "title": "b"}})
            await asyncio.wait_for(done.wait(), 60)
    finally:
        worker.terminate()
        await worker.wait()
        await server.stop()
    warm = [f"q{i}" for i in range(5, starts + 5)]  # the first few warm the worker up
    took = [(started[t] - created[t]) * 1000 for t in warm]
    return {
        "starts": starts,
        "queued_to_started_ms": {
            "median": round(median(took), 1),
            "p99": round(percentile(took, 99), 1),
            "max": round(max(took), 1),
        },
        "target_p99_ms": TARGET_P99_MS,
    }


def markdown(result: dict[str, Any]) -> str:
    c, q = result["claims"], result["starts"]
    s = q["queued_to_started_ms"]
    return "\n".join(
        [
            f"Workers, {result['machine']}",
            "",
            "| what | figure |",
            "|---|---|",
            f"| claims per second ({c['links']} workers, {c['tasks']} tasks, SQLite) "
            f"| {c['claims_per_s']:,} |",
            f"| claim latency, median / p99 | {c['claim_ms']['median']} / "
            f"{c['claim_ms']['p99']} ms |",
            f"| tasks won twice | {c['won_twice']} of {c['won']} |",
            f"| queued to agent started on an idle worker, median / p99 / max "
            f"({q['starts']} tasks) | {s['median']} / {s['p99']} / {s['max']} ms |",
        ]
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--links", type=int, default=8)
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--tiny", action="store_true", help="a few of each (CI)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.tiny:
        args.tasks, args.links, args.starts = 40, 2, 5
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        result = {
            "machine": machine(),
            "claims": await claims(Path(one), args.tasks, args.links),
            "starts": await queued_to_started(Path(two), args.starts),
        }
    table = markdown(result)
    print(table)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "workers.json").write_text(json.dumps(result, indent=2))
        (args.out / "workers.md").write_text(table + "\n")


if __name__ == "__main__":
    asyncio.run(main())
