"""The hub's SQLite ingest: events/s it accepts, in process or over HTTP, with clients reading.

    .venv/bin/python -m bench.ingest                          # in process, no clients
    .venv/bin/python -m bench.ingest --clients 100            # in process, 100 /ws clients
    .venv/bin/python -m bench.ingest --http --clients 100     # `harness serve`, POST /api/events

In process, this process is the hub (pinned to the server core) and publishes 100-event
batches through `Node.publish_many`, `--lanes` at once; with `--http` the hub is `harness
serve` on a temporary SQLite file (`taskset -c 0`) and this process posts the batches to
`POST /api/events` from the load core, as the fan-out benchmark's ingest phase does. Clients
(`--clients`, the benchmark's picows drivers on the load core, `bash bench/setup.sh`) read
every event. Each repetition prints events/s accepted, the hub's CPU per event and how busy
its core was; `--no-store` (in process) replaces the store's write with nothing, to split
the cost between the ingest and SQLite. In process, the garbage collector is set as `harness
serve` sets it. With `PYTHONPATH=<other src>` both modes run another copy of the product, to
compare before and after under the same conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import orjson
import uvloop

from bench.events import event_payload, now_ns
from bench.load import LOAD_CORE, ROOT, SERVER_CORE, DriverPool
from bench.procstat import CpuTime, cpu_time, own_cpu_time
from bench.targets import HUB, ServerProcess
from parent_harness.hub.ingest import Draft
from parent_harness.hub.node import Node
from parent_harness.store.records import Record

Publish = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Options:
    """What to measure."""

    seconds: float
    warmup: float
    batch: int
    lanes: int
    clients: int
    store: bool


def drafts(numbers: itertools.count[int], count: int) -> list[Draft]:
    """A batch of the benchmark's `event` events (each carries `pt`, which the clients count)."""
    stamp = now_ns()
    return [Draft("event", event_payload(next(numbers), stamp)) for _ in range(count)]


def body(numbers: itertools.count[int], count: int) -> bytes:
    """A `POST /api/events` body of `count` benchmark events."""
    stamp = now_ns()
    return orjson.dumps(
        [{"type": "event", "payload": event_payload(next(numbers), stamp)} for _ in range(count)]
    )


async def run_lanes(
    publish: Publish, options: Options, cpu: Callable[[], CpuTime], pool: DriverPool | None
) -> str:
    """Publishes batches back to back from `lanes` tasks; the figures of the measured window."""
    done = asyncio.Event()
    accepted = [0]

    async def lane() -> None:
        while not done.is_set():
            await publish(options.batch)
            accepted[0] += options.batch

    lanes = [asyncio.create_task(lane()) for _ in range(options.lanes)]
    await asyncio.sleep(options.warmup)
    wall, used, before, seen = time.perf_counter(), cpu(), accepted[0], _seen(pool)
    await asyncio.sleep(options.seconds)
    wall, used = time.perf_counter() - wall, cpu() - used
    events, delivered = accepted[0] - before, _seen(pool) - seen
    done.set()
    await asyncio.gather(*lanes)
    return (
        f"{events / wall:,.0f} events/s, hub CPU {used.total / max(events, 1) * 1e6:.1f} µs "
        f"per event, hub core busy {used.total / wall:.2f}, "
        f"{delivered / wall:,.0f} deliveries/s to {options.clients} clients"
    )


def _seen(pool: DriverPool | None) -> int:
    return pool.events() if pool is not None else 0


async def in_process(options: Options, repeat: int, workdir: Path) -> None:
    """The hub in this process (its HTTP server too, when clients read), publish_many lanes."""
    from parent_harness.web.app import HubServer
    from parent_harness.web.settings import Settings

    os.sched_setaffinity(0, {int(SERVER_CORE)})
    store = f"sqlite:///{workdir}/hub.db"
    server = HubServer(Settings(port=0, store=store)) if options.clients else None
    node = server.node if server is not None else Node(store)
    url = await server.start() if server is not None else await _start(node)
    tune_gc()
    if not options.store:

        async def nothing(records: Sequence[Record]) -> None:
            return None

        node.store.write = nothing  # type: ignore[method-assign, assignment]
    numbers = itertools.count(1)

    async def publish(count: int) -> None:
        await node.publish_many(drafts(numbers, count))

    pool = await _clients(workdir, f"{url.replace('http', 'ws', 1)}/ws?monitor=events", options)
    try:
        for _ in range(repeat):
            before = stage_counts(node)
            print(await run_lanes(publish, options, own_cpu_time, pool), flush=True)
            if before is not None:
                print(stage_line(node, before), flush=True)
    finally:
        if pool is not None:
            await pool.stop()
        await (server.stop() if server is not None else node.stop())


COMMIT_STAGES = ("queue_wait", "writer_handoff", "sqlite", "sqlite_commit", "commit_wait")


def stage_counts(node: Node) -> dict[str, list[int]] | None:
    """The bucket counts of the hub's commit-path timers now (None: a hub without them)."""
    stages = getattr(node, "stages", None)
    if stages is None:
        return None
    return {name: list(stages.timers[name].counts) for name in COMMIT_STAGES}


def stage_line(node: Node, before: dict[str, list[int]]) -> str:
    """p50 / p99 / largest (bucket upper bounds, ms) of each commit-path stage since
    `before`."""
    from parent_harness.hub.stages import BUCKETS_S

    bounds = (*BUCKETS_S, float("inf"))
    parts = []
    for name, earlier in before.items():
        counts = [b - a for a, b in zip(earlier, node.stages.timers[name].counts, strict=True)]
        total = sum(counts)
        found = []
        for q in (0.5, 0.99, 1.0):
            seen = 0
            for bound, count in zip(bounds, counts, strict=True):
                seen += count
                if total and seen >= q * total:
                    found.append(f"{bound * 1e3:g}")
                    break
        parts.append(f"{name} {'/'.join(found) or '-'}")
    return "  ms p50/p99/max: " + ", ".join(parts)


def tune_gc() -> None:
    """The collector as `harness serve` sets it once the hub has started."""
    from parent_harness.cli import main

    getattr(main, "tune_gc", gc.freeze)()  # an older hub only froze its start-up objects


async def _start(node: Node) -> str:
    await node.start()
    return ""


async def _clients(workdir: Path, url: str, options: Options) -> DriverPool | None:
    """The benchmark's drivers on the load core, `clients` of them connected to `url`."""
    if not options.clients:
        return None
    pool = DriverPool(workdir, 2)
    await pool.start()
    await pool.connect(url, options.clients, "ws")
    return pool


async def over_http(options: Options, repeat: int, workdir: Path) -> None:
    """`harness serve` on the server core, batches posted from the load core."""
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
    target = replace(HUB, env={"PYTHONPATH": path})
    server = ServerProcess(target, workdir)
    await server.start()
    numbers = itertools.count(1)
    connector = aiohttp.TCPConnector(limit=options.lanes)
    pool: DriverPool | None = None
    try:
        pool = await _clients(workdir, server.ws_url, options)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def publish(count: int) -> None:
                async with session.post(
                    f"{server.base_url}/api/events",
                    data=body(numbers, count),
                    headers={"Content-Type": "application/json"},
                ) as response:
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {await response.text()}")
                    await response.read()

            for _ in range(repeat):
                print(await run_lanes(publish, options, lambda: cpu_time(server.pid), pool))
    finally:
        if pool is not None:
            await pool.stop()
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--http", action="store_true", help="through `harness serve`")
    parser.add_argument("--clients", type=int, default=0, help="/ws clients reading everything")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured, per repetition")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-store", action="store_true")
    args = parser.parse_args()
    options = Options(
        args.seconds, args.warmup, args.batch, args.lanes, args.clients, not args.no_store
    )
    run = over_http if args.http else in_process
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        uvloop.run(run(options, args.repeat, Path(folder)))


if __name__ == "__main__":
    main()
