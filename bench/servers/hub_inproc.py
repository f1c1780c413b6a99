"""The hub with an in-process publisher: what `harness serve` runs, plus one bench route.

``POST /bench/publish?n=K&pt=NS`` publishes K ``event`` events through the hub's own
``EventSink`` (``publish``, as the orchestrator does in process), all at once so the ingest's
group commit takes them together, and answers once every one is committed. Everything else
(SQLite store, /ws, REST) is the product unchanged.

Run: ``python -m bench.servers.hub_inproc --store sqlite:///x.db`` (prints its URL); with
``--gc-log FILE`` it also writes every garbage collection's generation and pause (ms) to FILE
when it stops, to tell GC pauses from other stalls in the latency tail.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import signal
import time

import uvloop
from aiohttp import web

from bench.events import event_payload, now_ns
from parent_harness.cli.main import tune_gc
from parent_harness.hub.ingest import Draft
from parent_harness.hub.node import Node
from parent_harness.web.app import HubServer
from parent_harness.web.keys import NODE
from parent_harness.web.settings import Settings


class CollectionLog:
    """Times every garbage collection through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self.started) * 1e3))

    def write(self, path: str) -> None:
        """One line per collection: generation and pause in milliseconds."""
        with open(path, "w") as out:
            out.writelines(f"{gen} {ms:.3f}\n" for gen, ms in self.pauses)


class InProcessPublisher:
    """Publishes benchmark events straight into the hub's ingest."""

    def __init__(self) -> None:
        self.numbers = itertools.count(1)

    async def publish(self, request: web.Request) -> web.Response:
        """``POST /bench/publish?n=K&pt=NS``: K events through ``publish``, answered on commit."""
        node: Node = request.app[NODE]
        stamp = int(request.query.get("pt", "0")) or now_ns()
        count = int(request.query.get("n", "1"))
        drafts = [Draft("event", event_payload(next(self.numbers), stamp)) for _ in range(count)]
        results = await node.publish_many(drafts)
        return web.json_response({"seq": results[-1].seq if results else 0})


async def serve(store: str, gc_log: str | None) -> None:
    """Serves on a free port of 127.0.0.1 until SIGTERM or SIGINT."""
    collections = CollectionLog()
    if gc_log:
        gc.callbacks.append(collections)
    server = HubServer(Settings(port=0, store=store))
    server.app.router.add_post("/bench/publish", InProcessPublisher().publish)
    url = await server.start()
    tune_gc()
    print(url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    if gc_log:
        collections.write(gc_log)


def main() -> None:
    """Entry point: ``python -m bench.servers.hub_inproc --store URL``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--gc-log", default=None)
    args = parser.parse_args()
    uvloop.run(serve(args.store, args.gc_log))


if __name__ == "__main__":
    main()
