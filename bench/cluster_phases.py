"""The measurements of the cluster benchmark: hubs that share one Redis and one PostgreSQL.

One load driver process per hub holds that hub's clients, so every figure is known per hub:
its deliveries, its CPU, and the latency its clients saw. Events are published on one hub;
the clients of the others receive them across nodes (through Redis and each node's own
commit to PostgreSQL). The flow window, settling and latency percentiles are the fan-out
benchmark's (:mod:`bench.phases`); the marks here also read every hub's CPU and the services'.

- :func:`full_speed`: publish as fast as the slowest client of any hub takes events.
- :func:`paced`: publish at a fixed rate; the latency of every delivery, per hub, split into
  same-node (clients of the publishing hub) and cross-node (clients of the other hubs).
"""

from __future__ import annotations

import asyncio
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import phases
from bench.cluster_infra import Services
from bench.events import now_ns
from bench.load import read_samples
from bench.procstat import CpuTime, cores_busy_seconds, cpu_time, own_cpu_time, rss_bytes
from bench.slots import EVENTS, FRAMES, SLOT_WIDTH
from bench.targets import ServerProcess

SAME_NODE = "same_node"
CROSS_NODE = "cross_node"


@dataclass
class Cluster:
    """Running hubs, their clients (driver ``i`` holds hub ``i``'s) and the one publisher.

    ``stage`` is the fan-out benchmark's view of it: the publishing hub, the pool of drivers,
    the publisher, every client of every hub, and how many events were published."""

    nodes: list[ServerProcess]
    names: list[str]
    services: Services
    stage: phases.Stage
    publish_on: int
    clients_per_node: int
    workdir: Path
    spread: bool = False
    """Publishes go to every hub in turn, not only to ``publish_on``."""

    def driver_counter(self, index: int, column: int) -> int:
        """One counter of driver ``index`` (the clients of hub ``index``)."""
        slots = self.stage.pool.slots
        assert slots is not None
        return int(slots[index * SLOT_WIDTH + column])

    def role(self, index: int) -> str:
        """What a hub does in the benchmark."""
        if self.spread and len(self.nodes) > 1:
            return f"publishing 1/{len(self.nodes)}, clients"
        return "publishing, clients" if index == self.publish_on else "clients"


async def connect(cluster: Cluster) -> float:
    """Connects every hub's clients through its own driver; the seconds the slowest took."""
    pool, each = cluster.stage.pool, cluster.clients_per_node
    commands = [
        {"cmd": "connect", "url": node.ws_url, "n": each, "kind": "ws"} for node in cluster.nodes
    ]
    answers = await asyncio.gather(
        *(driver.ask(command) for driver, command in zip(pool.drivers, commands, strict=True))
    )
    return round(max(float(a["seconds"]) for a in answers), 3)


@dataclass(frozen=True)
class ClusterMark:
    """Every counter at one instant: the fan-out mark (all hubs' CPU as the server's) plus
    each hub's CPU, each driver's events and frames, and each service's CPU."""

    total: phases.Mark
    hubs: list[CpuTime]
    events: list[int]
    frames: list[int]
    services: dict[str, CpuTime]

    @classmethod
    def take(cls, cluster: Cluster, published: int) -> ClusterMark:
        """Reads every counter now."""
        pool = cluster.stage.pool
        hubs = [cpu_time(node.pid) for node in cluster.nodes]
        drivers, own = pool.cpu_time(), own_cpu_time()
        total = phases.Mark(
            at=time.monotonic(),
            delivered=pool.events(),
            published=published,
            server=CpuTime(sum(h.user for h in hubs), sum(h.system for h in hubs)),
            load=CpuTime(drivers.user + own.user, drivers.system + own.system),
            cores=cores_busy_seconds(),
        )
        indexes = range(len(cluster.nodes))
        return cls(
            total=total,
            hubs=hubs,
            events=[cluster.driver_counter(i, EVENTS) for i in indexes],
            frames=[cluster.driver_counter(i, FRAMES) for i in indexes],
            services=cluster.services.cpu_times(),
        )


def per_million(seconds: float, count: float) -> float | None:
    """Microseconds of CPU per thing, or None when nothing was counted."""
    return round(seconds / count * 1e6, 3) if count else None


def node_figures(cluster: Cluster, start: ClusterMark, end: ClusterMark) -> dict[str, Any]:
    """Each hub's deliveries/s, CPU per delivery and per event, core share, events per frame."""
    seconds = end.total.at - start.total.at
    figures: dict[str, Any] = {}
    for index, name in enumerate(cluster.names):
        delivered = end.events[index] - start.events[index]
        frames = end.frames[index] - start.frames[index]
        used = (end.hubs[index] - start.hubs[index]).total
        figures[name] = {
            "role": cluster.role(index),
            "deliveries_per_s": round(delivered / seconds),
            "cpu_us_per_delivery": per_million(used, delivered),
            "cpu_us_per_event": per_million(used, delivered / cluster.clients_per_node),
            "core_busy": round(used / seconds, 3),
            "events_per_frame": round(delivered / frames, 2) if frames else None,
        }
    return figures


def service_figures(start: ClusterMark, end: ClusterMark, events: float) -> dict[str, Any]:
    """Redis's and PostgreSQL's core share and CPU per event (each event once, whatever the
    number of hubs that read or wrote it)."""
    seconds = end.total.at - start.total.at
    figures: dict[str, Any] = {}
    for name, before in start.services.items():
        used = (end.services[name] - before).total
        figures[name] = {
            "core_busy": round(used / seconds, 3),
            "cpu_us_per_event": per_million(used, events),
        }
    return figures


def measured(cluster: Cluster, start: ClusterMark, end: ClusterMark) -> dict[str, Any]:
    """Totals (the fan-out figures, the hubs together as the server), per hub, per service."""
    figures = phases.rates(start.total, end.total)
    figures["hubs_cpu_us_per_delivery"] = figures.pop("server_cpu_us_per_delivery")
    figures["hubs_user_share"] = figures.pop("server_user_share")
    figures["hubs_core_busy"] = figures.pop("server_core_busy")
    # The server core also runs Redis and PostgreSQL: judge it by its whole busy time.
    figures["driver_bound"] = (
        figures["load_core_busy_all"] >= phases.DRIVER_BOUND
        and figures["server_core_busy_all"] < phases.DRIVER_BOUND
    )
    clients = cluster.clients_per_node * len(cluster.nodes)
    events = (end.total.delivered - start.total.delivered) / clients
    figures["events_per_s"] = round(events / figures["seconds"], 1)
    figures["nodes"] = node_figures(cluster, start, end)
    figures["services"] = service_figures(start, end, events)
    services = sum(service["core_busy"] for service in figures["services"].values())
    figures["server_core_busy"] = round(figures["hubs_core_busy"] + services, 3)
    return figures


async def full_speed(
    cluster: Cluster, seconds: float, warmup: float, most: int, batch: int, lanes: int
) -> dict[str, Any]:
    """Publishes batches on one hub from ``lanes`` concurrent lanes, keeping at most a flow
    window of events in flight to the slowest client of any hub, then reports the rates."""
    stage = cluster.stage
    await phases.settle(stage)
    done = asyncio.Event()
    flow = phases.FlowWindow(batch, most)

    async def lane() -> None:
        while not done.is_set():
            while stage.published + batch - stage.pool.fewest() > flow.events:
                if done.is_set():
                    return
                await asyncio.sleep(phases.POLL_S)
            stage.published += batch
            await stage.publisher.publish(batch, now_ns())

    running = [asyncio.create_task(lane()) for _ in range(lanes)]
    following = asyncio.create_task(flow.follow(stage, done))
    await asyncio.sleep(warmup)
    start = ClusterMark.take(cluster, stage.published)
    await asyncio.sleep(seconds)
    end = ClusterMark.take(cluster, stage.published)
    done.set()
    await asyncio.gather(*running, following)
    figures = measured(cluster, start, end)
    figures.update(window_events_largest=flow.largest, batch_events=batch, lanes=lanes)
    figures["undelivered"] = await phases.settle(stage)
    return figures


async def latencies_by_node(cluster: Cluster) -> list[array[int]]:
    """Collects and clears the latencies (ns) each driver sampled, so each hub's clients'."""
    found: list[array[int]] = []
    for index, driver in enumerate(cluster.stage.pool.drivers):
        path = cluster.workdir / f"latencies-{index}.bin"
        answer = await driver.ask({"cmd": "dump", "path": str(path)})
        found.append(read_samples(path, int(answer["count"]))[0])
    return found


def latency_split(cluster: Cluster, samples: list[array[int]]) -> dict[str, Any]:
    """Latency percentiles of the publishing hub's clients, of the others' (cross-node, when
    there are other hubs), and of each hub's."""
    others: array[int] = array("q")
    for index, found in enumerate(samples):
        if index != cluster.publish_on:
            others.extend(found)
    split: dict[str, Any] = {SAME_NODE: phases.latency_figures(samples[cluster.publish_on])}
    if len(samples) > 1:
        split[CROSS_NODE] = phases.latency_figures(others)
    split["by_node"] = {
        name: phases.latency_figures(found)
        for name, found in zip(cluster.names, samples, strict=True)
    }
    return split


async def paced(
    cluster: Cluster, events_per_s: float, seconds: float, warmup: float
) -> dict[str, Any]:
    """Publishes ``events_per_s`` on one hub and keeps the latency of every delivery."""
    stage = cluster.stage
    await phases.settle(stage)
    done = asyncio.Event()
    sent = [0]
    ticker = asyncio.create_task(phases.tick(stage, events_per_s, done, sent))
    await asyncio.sleep(warmup)
    await stage.pool.sampling(True)
    start = ClusterMark.take(cluster, sent[0])
    await asyncio.sleep(seconds)
    end = ClusterMark.take(cluster, sent[0])
    done.set()
    await ticker
    undelivered = await phases.settle(stage)
    await stage.pool.sampling(False)
    figures = measured(cluster, start, end)
    figures.update(latency_split(cluster, await latencies_by_node(cluster)))
    figures["target_events_per_s"] = events_per_s
    figures["undelivered"] = undelivered
    figures["rss_mb"] = {
        name: round(rss_bytes(node.pid) / 2**20, 1)
        for name, node in zip(cluster.names, cluster.nodes, strict=True)
    }
    return figures
