"""`GET /metrics`: the hub's figures for Prometheus, read at scrape time (no hot-path cost)."""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from parent_harness.hub.node import Node
from parent_harness.hub.stages import STAGES, Stages, Timer
from parent_harness.web.keys import NODE, Guard


class NodeCollector(Collector):
    """Reads the node's counters when Prometheus scrapes."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        node = self.node
        yield GaugeMetricFamily(
            "harness_seq", "Committed position: last event in the store and dispatched", node.seq
        )
        yield GaugeMetricFamily(
            "harness_seq_appended",
            "Appended position: last event ordered and folded here (runs ahead of the store)",
            node.positions.appended,
        )
        yield GaugeMetricFamily(
            "harness_clients", "Connected WebSocket clients", len(node.hub.subscribers)
        )
        yield CounterMetricFamily(
            "harness_events_committed",
            "Events in the store and dispatched on this node (by whichever node wrote them)",
            node.ingest.committed,
        )
        yield CounterMetricFamily(
            "harness_events_written",
            "Events this node wrote to the store: the ones it appended, and others' it took over",
            node.ingest.written,
        )
        yield CounterMetricFamily(
            "harness_events_taken_over",
            "Events another node appended but did not confirm in time, written here instead",
            node.ingest.taken_over,
        )
        yield CounterMetricFamily(
            "harness_commits", "Store transactions (group commits)", node.ingest.commits
        )
        yield CounterMetricFamily(
            "harness_deliveries", "Event deliveries queued to clients", node.hub.deliveries
        )
        yield GaugeMetricFamily(
            "harness_ingest_queue", "Events waiting to be in the store", node.ingest.waiting
        )
        yield CounterMetricFamily(
            "harness_events_refused",
            "Events the store refused for their content: a tombstone holds each one's seq",
            len(node.ingest.refused),
        )
        yield GaugeMetricFamily(
            "harness_store_up",
            "1 while the store takes writes, 0 while it refuses them (publishes answer 503)",
            0 if node.ingest.store_error else 1,
        )
        yield from stage_metrics(node.stages)


def stage_metrics(stages: Stages) -> Iterator[Metric]:
    """The write path's per-stage latency, GC pauses and event-loop lag, as histograms."""
    help_text = "Time spent in each stage of the write path; stages: " + "; ".join(
        f"{name}: {text}" for name, text in STAGES.items()
    )
    family = HistogramMetricFamily("harness_stage_seconds", help_text, labels=["stage"])
    for name, timer in stages.timers.items():
        family.add_metric([name], timer.buckets(), _seconds(timer))
    yield family
    gc_family = HistogramMetricFamily(
        "harness_gc_pause_seconds",
        "Garbage-collector pauses (gc.callbacks), by generation",
        labels=["generation"],
    )
    for generation, timer in stages.gc.items():
        gc_family.add_metric([str(generation)], timer.buckets(), _seconds(timer))
    yield gc_family
    lag = HistogramMetricFamily(
        "harness_loop_lag_seconds",
        "How late a timer due every 25 ms ran: the event loop's busy stretches (1 ms grain)",
    )
    lag.add_metric([], stages.loop_lag.buckets(), _seconds(stages.loop_lag))
    yield lag


def _seconds(timer: Timer) -> float:
    return timer.sum_ns / 1e9


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    return web.Response(body=generate_latest(registry), content_type="text/plain", charset="utf-8")


REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


def setup_metrics(app: web.Application, guard: Guard) -> None:
    """Serves /metrics, its handler wrapped by `guard` (the hub's tokens)."""
    registry = CollectorRegistry()
    registry.register(NodeCollector(app[NODE]))
    app[REGISTRY] = registry
    app.router.add_get("/metrics", guard(metrics))
