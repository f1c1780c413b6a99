"""The measurements, each on one server with one set of connected clients (a :class:`Stage`).

- :func:`full_speed`: publish as fast as delivery allows, keeping at most ``window`` events in
  flight to the slowest reading client; deliveries/s, the publish rate, CPU per delivery.
- :func:`paced`: publish at a fixed deliveries/s and keep the latency of every delivery.
- :func:`ingest`: publish as fast as the server accepts, with no regard for delivery.
- :func:`idle_memory`: server RSS per idle connection.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from bench import stages as hub_stages
from bench.events import now_ns
from bench.load import DriverPool
from bench.procstat import CpuTime, cores_busy_seconds, cpu_time, own_cpu_time, rss_bytes
from bench.publishers import Publisher
from bench.targets import ServerProcess

POLL_S = 0.001
SETTLE_TIMEOUT_S = 15.0
BLOCKED = "the server stopped answering publish requests"
TICK_S = 0.005
TIMELINE_BIN_MS = 25
"""The latency-over-time series: percentiles of the events published in each such slice."""
DRIVER_BOUND = 0.9
"""Load core busy (by anything) above this share while the server's own use of its core is
below it: the load side, not the server, sets the pace.

``*_core_busy`` is what the benchmark's own processes used of a core; ``*_core_busy_all`` is
the core's busy time whatever ran on it: the difference is other work on the machine."""


@dataclass
class Stage:
    """A server, its clients, and how many events were published since they connected."""

    server: ServerProcess
    pool: DriverPool
    publisher: Publisher
    clients: int
    published: int = 0
    rss_peak: int = 0
    settle_timeout: float = SETTLE_TIMEOUT_S
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Mark:
    """Counters at one instant, to subtract."""

    at: float
    delivered: int
    published: int
    server: CpuTime
    load: CpuTime
    cores: list[float]

    @classmethod
    def take(cls, stage: Stage, published: int) -> Mark:
        """Reads every counter now."""
        drivers = stage.pool.cpu_time()
        own = own_cpu_time()
        return cls(
            at=time.monotonic(),
            delivered=stage.pool.events(),
            published=published,
            server=cpu_time(stage.server.pid),
            load=CpuTime(drivers.user + own.user, drivers.system + own.system),
            cores=cores_busy_seconds(),
        )


def rates(start: Mark, end: Mark) -> dict[str, Any]:
    """Deliveries/s, publish rate, server CPU per delivery and both cores' load, between marks."""
    seconds = end.at - start.at
    delivered = end.delivered - start.delivered
    server = end.server - start.server
    load_busy = (end.load - start.load).total / seconds
    load_all = (end.cores[1] - start.cores[1]) / seconds
    return {
        "seconds": round(seconds, 3),
        "deliveries_per_s": round(delivered / seconds),
        "publish_per_s": round((end.published - start.published) / seconds, 1),
        "server_cpu_us_per_delivery": (
            round(server.total / delivered * 1e6, 3) if delivered else None
        ),
        "server_user_share": round(server.user / server.total, 3) if server.total else None,
        "server_core_busy": round(server.total / seconds, 3),
        "load_core_busy": round(load_busy, 3),
        "driver_bound": load_all >= DRIVER_BOUND and server.total / seconds < DRIVER_BOUND,
        "server_core_busy_all": round((end.cores[0] - start.cores[0]) / seconds, 3),
        "load_core_busy_all": round(load_all, 3),
    }


async def settle(stage: Stage) -> int:
    """Waits until every reading client has every event published; returns how many it lacks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + stage.settle_timeout
    # The drivers' counters live in shared memory, which no event announces: poll them.
    while stage.pool.fewest() < stage.published and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(POLL_S * 5)
    missing = stage.published - stage.pool.fewest()
    if missing > 0:
        stage.notes.append(f"{missing} events never reached the slowest reading client")
    return max(missing, 0)


async def finish(tasks: list[asyncio.Task[None]], grace: float) -> bool:
    """Waits for the publishing tasks; cancels those still waiting on the server after
    ``grace`` seconds. True when some had to be cancelled: the server stopped answering
    (a broadcast loop blocked on one client, for instance)."""
    if not tasks:
        return False
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return bool(pending)


async def watch_memory(stage: Stage, stop: asyncio.Event) -> None:
    """Keeps the server's peak RSS while a phase runs."""
    while not stop.is_set():
        stage.rss_peak = max(stage.rss_peak, rss_bytes(stage.server.pid))
        await asyncio.sleep(0.1)


class FlowWindow:
    """How many events may be in flight to the slowest reading client at full speed.

    It holds what the clients receive in ``HORIZON_S`` at the rate they receive now, between
    four publish batches and ``most`` events: enough to keep a fast server busy, and a slow one
    from being buried under a backlog it would take many seconds to drain."""

    HORIZON_S = 0.2

    def __init__(self, batch: int, most: int) -> None:
        self.least = 4 * batch
        self.most = max(most, self.least)
        self.events = self.least
        self.largest = self.least

    async def follow(self, stage: Stage, stop: asyncio.Event) -> None:
        """Resizes the window every 50 ms from the rate the clients receive events."""
        loop = asyncio.get_running_loop()
        last_at, last_count = loop.time(), stage.pool.events()
        while not stop.is_set():
            await asyncio.sleep(0.05)
            now, count = loop.time(), stage.pool.events()
            per_client = (count - last_count) / (now - last_at) / stage.clients
            wanted = int(per_client * self.HORIZON_S)
            self.events = min(self.most, max(self.least, wanted))
            self.largest = max(self.largest, self.events)
            last_at, last_count = now, count


async def full_speed(
    stage: Stage, seconds: float, warmup: float, window: int, batch: int
) -> dict[str, Any]:
    """Publishes as fast as the slowest reading client takes events (at most ``window`` in
    flight), then reports the rates."""
    await settle(stage)
    done = asyncio.Event()
    flow = FlowWindow(batch, window)

    async def lane() -> None:
        while not done.is_set():
            while stage.published + batch - stage.pool.fewest() > flow.events:
                if done.is_set():
                    return
                await asyncio.sleep(POLL_S)
            stage.published += batch
            await stage.publisher.publish(batch, now_ns())

    lanes = [asyncio.create_task(lane()) for _ in range(2)]
    helpers = [watch_memory(stage, done), flow.follow(stage, done)]
    watching = [asyncio.create_task(helper) for helper in helpers]
    await asyncio.sleep(warmup)
    # The publish rate counts events handed to the server: a slow server may answer a batch
    # only after the window closes, yet its clients received part of it inside the window.
    start = Mark.take(stage, stage.published)
    await asyncio.sleep(seconds)
    end = Mark.take(stage, stage.published)
    done.set()
    blocked = await finish(lanes, stage.settle_timeout)
    await asyncio.gather(*watching)
    figures = rates(start, end)
    figures["publish_blocked"] = blocked
    figures["window_events_largest"] = flow.largest
    figures["batch_events"] = batch
    figures["undelivered"] = await settle(stage)
    return figures


async def paced(
    stage: Stage, deliveries_per_s: float, seconds: float, warmup: float
) -> dict[str, Any]:
    """Publishes at a steady rate and keeps the latency of every delivery in the window."""
    await settle(stage)
    rate = deliveries_per_s / stage.clients
    done = asyncio.Event()
    sent = [0]
    memory = asyncio.create_task(watch_memory(stage, done))
    ticker = asyncio.create_task(tick(stage, rate, done, sent))
    await asyncio.sleep(warmup)
    timed = stage.server.target.store  # the hub: its per-stage histograms, before and after
    before = await hub_stages.scrape(stage.server.base_url) if timed else None
    await stage.pool.sampling(True)
    start = Mark.take(stage, sent[0])
    await asyncio.sleep(seconds)
    end = Mark.take(stage, sent[0])
    done.set()
    await asyncio.gather(ticker, memory)
    blocked = bool(stage.notes and stage.notes[-1] == BLOCKED)
    undelivered = await settle(stage)
    await stage.pool.sampling(False)
    figures = rates(start, end)
    latencies, published = await stage.pool.latencies()
    figures.update(latency_figures(latencies))
    figures["timeline"] = timeline(latencies, published, TIMELINE_BIN_MS)
    if before is not None:
        after = await hub_stages.scrape(stage.server.base_url)
        figures["stages"] = hub_stages.between(before, after)
    figures["target_deliveries_per_s"] = deliveries_per_s
    figures["publish_blocked"] = blocked
    figures["undelivered"] = undelivered
    figures["rss_mb"] = round(rss_bytes(stage.server.pid) / 2**20, 1)
    return figures


async def tick(stage: Stage, rate: float, done: asyncio.Event, sent: list[int]) -> None:
    """Publishes what is due every few milliseconds, never waiting for the server's answer."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    pending: set[asyncio.Task[None]] = set()
    while not done.is_set():
        due = int(rate * (loop.time() - started)) - sent[0]
        if due > 0:
            sent[0] += due
            stage.published += due
            task = asyncio.create_task(stage.publisher.publish(due, now_ns()))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.sleep(TICK_S)
    if await finish(list(pending), stage.settle_timeout):
        stage.notes.append(BLOCKED)


def latency_figures(samples: array[int]) -> dict[str, Any]:
    """p50, p99, p99.9 and max of the latencies, in milliseconds."""
    if not samples:
        return {
            "latency_samples": 0,
            "p50_ms": None,
            "p99_ms": None,
            "p999_ms": None,
            "max_ms": None,
        }
    ordered = sorted(samples)
    return {
        "latency_samples": len(ordered),
        "p50_ms": quantile_ms(ordered, 0.5),
        "p99_ms": quantile_ms(ordered, 0.99),
        "p999_ms": quantile_ms(ordered, 0.999),
        "max_ms": round(ordered[-1] / 1e6, 3),
    }


def quantile_ms(ordered: list[int], q: float) -> float:
    """The ``q`` quantile (nearest rank) of sorted nanoseconds, in milliseconds."""
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1e6, 3)


def timeline(latencies: array[int], published: array[int], bin_ms: int) -> dict[str, Any]:
    """Latency over time: p50, p99 and max (ms) of the events published in each ``bin_ms``
    slice of the window (None for a slice with none), so a tail that comes in bursts shows."""
    if not latencies:
        return {"bin_ms": bin_ms, "p50_ms": [], "p99_ms": [], "max_ms": []}
    first = min(published)
    width = bin_ms * 1_000_000
    slices: dict[int, list[int]] = {}
    for latency, at in zip(latencies, published, strict=True):
        slices.setdefault((at - first) // width, []).append(latency)
    series: dict[str, Any] = {"bin_ms": bin_ms, "p50_ms": [], "p99_ms": [], "max_ms": []}
    for index in range(max(slices) + 1):
        found = sorted(slices.get(index, ()))
        series["p50_ms"].append(quantile_ms(found, 0.5) if found else None)
        series["p99_ms"].append(quantile_ms(found, 0.99) if found else None)
        series["max_ms"].append(round(found[-1] / 1e6, 3) if found else None)
    return series


async def ingest(
    stage: Stage, seconds: float, warmup: float, batch: int, lanes: int
) -> dict[str, Any]:
    """Publishes batches back to back with ``lanes`` in flight: events/s the server accepts."""
    await settle(stage)
    done = asyncio.Event()
    acked = [0]

    async def lane() -> None:
        while not done.is_set():
            stage.published += batch
            await stage.publisher.publish(batch, now_ns())
            acked[0] += batch

    running = [asyncio.create_task(lane()) for _ in range(lanes)]
    memory = asyncio.create_task(watch_memory(stage, done))
    await asyncio.sleep(warmup)
    start = Mark.take(stage, acked[0])
    await asyncio.sleep(seconds)
    end = Mark.take(stage, acked[0])
    done.set()
    blocked = await finish(running, stage.settle_timeout)
    await memory
    figures = rates(start, end)
    figures["publish_blocked"] = blocked
    figures["accepted_per_s"] = figures.pop("publish_per_s")
    figures["batch_events"] = batch
    figures["lanes"] = lanes
    figures["undelivered"] = await settle(stage)
    report = await stage.pool.report()
    figures["clients_open"] = report["open"]
    figures["close_codes"] = report["close_codes"]
    return figures


async def idle_memory(
    server: ServerProcess, pool: DriverPool, sizes: list[int], settle_s: float
) -> dict[str, Any]:
    """RSS per idle connection at each size, against the server's RSS before any client."""
    await pool.connect(server.ws_url, 10, server.target.kind)
    await pool.close()
    await asyncio.sleep(settle_s)
    base = rss_bytes(server.pid)
    figures: dict[str, Any] = {"rss_base_mb": round(base / 2**20, 1)}
    connected = 0
    for size in sizes:
        figures[f"connect_{size}_s"] = round(
            await pool.connect(server.ws_url, size - connected, server.target.kind), 2
        )
        connected = size
        await asyncio.sleep(settle_s)
        rss = statistics.median([rss_bytes(server.pid) for _ in range(3)])
        figures[f"rss_{size}_mb"] = round(rss / 2**20, 1)
        figures[f"kb_per_idle_{size}"] = round((rss - base) / size / 1024, 2)
    await pool.close()
    return figures
