"""The hub's ingest alone, in process: events/s through `Node.publish_many` into a SQLite file.

    .venv/bin/python -m bench.ingest [--events 20000] [--batch 100] [--lanes 4]

No HTTP and no clients: validation, ordering, the fold and the group commit. It prints
events/s and the process's CPU per event; `--no-store` replaces the store's write with
nothing, to split the cost between the ingest and SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence

import uvloop

from parent_harness.hub.ingest import Draft
from parent_harness.hub.node import Node
from parent_harness.store.records import Record


def draft(n: int) -> Draft:
    data = {"pt": n, "pad": "x" * 60}
    return Draft("event", {"event": {"message": "bench event", "source": "bench", "data": data}})


async def measure(events: int, batch: int, lanes: int, store: bool) -> None:
    folder = tempfile.mkdtemp(prefix="bench-ingest-")
    node = Node(f"sqlite:///{folder}/hub.db")
    await node.start()
    if not store:

        async def nothing(records: Sequence[Record]) -> None:
            return None

        node.store.write = nothing  # type: ignore[method-assign, assignment]
    per_lane = events // (batch * lanes)

    async def lane() -> None:
        for _ in range(per_lane):
            await node.publish_many([draft(n) for n in range(batch)])

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane() for _ in range(lanes)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = per_lane * batch * lanes
    print(
        f"{done / wall:,.0f} events/s, {cpu / done * 1e6:.1f} µs CPU per event, "
        f"{node.ingest.commits} commits (store {'on' if store else 'off'})"
    )
    await node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--no-store", action="store_true")
    args = parser.parse_args()
    uvloop.install()
    asyncio.run(measure(args.events, args.batch, args.lanes, not args.no_store))


if __name__ == "__main__":
    main()
