"""Where a publish spends its time: per-stage latency histograms, GC pauses, event-loop lag.

Every stage of the write path (the HTTP hop, validation, ordering, the wait before the group
commit, the SQLite writer thread, dispatch, the write to each socket) is timed with
`time.perf_counter_ns` and counted into a fixed set of buckets: a bisect and two additions, no
lock, no allocation, so the hot path does not slow down (a prometheus-client `Histogram`
takes a lock per observation). `/metrics` reads the counts at scrape time and exposes them as
Prometheus histograms (web/metrics.py). Observations are per publish, per batch or per
dispatch, never per client: socket writes are timed as one span per dispatch and counted as
its mean per socket.

Garbage-collector pauses come from `gc.callbacks`; event-loop lag from a timer that asks to
run every `LAG_EVERY_S` and records how late it ran (uvloop's timers have a 1 ms grain).
"""

from __future__ import annotations

import asyncio
import gc
from bisect import bisect_left
from time import perf_counter_ns
from typing import Any

BUCKETS_S = (
    5e-06,
    1e-05,
    2.5e-05,
    5e-05,
    0.0001,
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.0015,
    0.002,
    0.003,
    0.004,
    0.005,
    0.006,
    0.008,
    0.01,
    0.012,
    0.015,
    0.02,
    0.025,
    0.03,
    0.04,
    0.05,
    0.075,
    0.1,
    0.25,
    1.0,
)
"""Upper bounds (seconds): fine from 0.1 to 100 ms, where a delivery's tail lives, with a few
below for the per-socket write and above for outages."""
_BOUNDS_NS = tuple(round(b * 1e9) for b in BUCKETS_S)

LAG_EVERY_S = 0.025

STAGES = {
    "http": "POST /api/events: request handler entered to the batch handed to the ingest "
    "(body read, JSON parsed, drafts built, scope checked)",
    "validate": "Catalogue and JSON checks of a batch, before the broker",
    "order": "The broker's append: seqs given (and, with the memory broker, delivered and "
    "folded here)",
    "fold": "Folding a delivered batch into state and queueing it for the writer",
    "queue_wait": "A batch's first event waiting for the writer (the group commit's wait)",
    "writer_handoff": "A store write's time less SQLite's own work: planning the rows, the hop "
    "to the writer thread and back",
    "sqlite": "SQLite's work on a batch: statements and commit",
    "sqlite_commit": "The SQLite COMMIT alone",
    "commit_wait": "A publisher's wait, from its events ordered to all of them committed and "
    "dispatched",
    "dispatch": "Committed events to every socket write queued (one dispatch)",
    "socket_write": "One socket's write during a dispatch (the dispatch's mean per socket)",
    "publish": "POST /api/events: request handler entered to the answer ready",
}


class Timer:
    """Counts durations (ns) into the buckets of `BUCKETS_S`."""

    __slots__ = ("count", "counts", "sum_ns")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BOUNDS_NS) + 1)
        self.count = 0
        self.sum_ns = 0

    def observe(self, ns: int) -> None:
        self.counts[bisect_left(_BOUNDS_NS, ns)] += 1
        self.count += 1
        self.sum_ns += ns

    def since(self, started_ns: int) -> int:
        """Observes the time since `started_ns`; returns now (ns), to chain stages."""
        now = perf_counter_ns()
        self.observe(now - started_ns)
        return now

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative (le, count) pairs, +Inf last, as Prometheus wants them."""
        out: list[tuple[str, float]] = []
        total = 0
        for bound, count in zip((*map(repr, BUCKETS_S), "+Inf"), self.counts, strict=True):
            total += count
            out.append((bound, float(total)))
        return out

    def quantile(self, q: float) -> float | None:
        """The upper bound (seconds) of the bucket holding quantile `q`; None when empty."""
        if not self.count:
            return None
        rank = q * self.count
        seen = 0
        for bound, count in zip((*BUCKETS_S, float("inf")), self.counts, strict=True):
            seen += count
            if seen >= rank:
                return bound
        return float("inf")


class Stages:
    """The write path's timers (one per name of `STAGES`), GC pauses and event-loop lag."""

    def __init__(self) -> None:
        self.timers = {name: Timer() for name in STAGES}
        self.http = self.timers["http"]
        self.validate = self.timers["validate"]
        self.order = self.timers["order"]
        self.fold = self.timers["fold"]
        self.queue_wait = self.timers["queue_wait"]
        self.writer_handoff = self.timers["writer_handoff"]
        self.sqlite = self.timers["sqlite"]
        self.sqlite_commit = self.timers["sqlite_commit"]
        self.commit_wait = self.timers["commit_wait"]
        self.dispatch = self.timers["dispatch"]
        self.socket_write = self.timers["socket_write"]
        self.publish = self.timers["publish"]
        self.gc = {generation: Timer() for generation in range(3)}
        self.loop_lag = Timer()
        self._gc_started = 0
        self._lag: asyncio.TimerHandle | None = None
        self._lag_due = 0

    def start(self) -> None:
        """Starts timing GC pauses and the event loop's lag (in the running loop)."""
        if self._gc_callback not in gc.callbacks:
            gc.callbacks.append(self._gc_callback)
        if self._lag is None:
            self._schedule_lag(asyncio.get_running_loop())

    def stop(self) -> None:
        if self._gc_callback in gc.callbacks:
            gc.callbacks.remove(self._gc_callback)
        if self._lag is not None:
            self._lag.cancel()
            self._lag = None

    def _gc_callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = perf_counter_ns()
        elif self._gc_started:
            self.gc[info["generation"]].since(self._gc_started)
            self._gc_started = 0

    def _schedule_lag(self, loop: asyncio.AbstractEventLoop) -> None:
        self._lag_due = perf_counter_ns() + round(LAG_EVERY_S * 1e9)
        self._lag = loop.call_later(LAG_EVERY_S, self._lag_tick, loop)

    def _lag_tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop_lag.observe(max(0, perf_counter_ns() - self._lag_due))
        self._schedule_lag(loop)
