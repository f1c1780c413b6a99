"""Per-stage latency timers: buckets, quantiles, GC pauses and event-loop lag."""

from __future__ import annotations

import asyncio
import gc
import time

from parent_harness.hub.stages import BUCKETS_S, LAG_EVERY_S, Stages, Timer


def test_a_timer_counts_each_duration_in_the_first_bucket_that_holds_it() -> None:
    timer = Timer()
    for ns in (4_000, 5_000, 5_001, 900_000, 2_000_000_000):
        timer.observe(ns)
    cumulative = dict(timer.buckets())
    assert cumulative["5e-06"] == 2  # le is inclusive
    assert cumulative["1e-05"] == 3
    assert cumulative["0.001"] == 4
    assert cumulative["1.0"] == 4 and cumulative["+Inf"] == 5
    assert len(cumulative) == len(BUCKETS_S) + 1
    assert timer.count == 5 and timer.sum_ns == 2_000_914_001
    assert timer.quantile(0.5) == 1e-05
    assert timer.quantile(0.8) == 0.001
    assert timer.quantile(1.0) == float("inf")
    assert Timer().quantile(0.99) is None


def test_gc_pauses_are_timed_by_generation_while_started() -> None:
    stages = Stages()
    stages._gc_callback("start", {"generation": 2})  # as gc.callbacks calls it
    stages._gc_callback("stop", {"generation": 2})
    assert stages.gc[2].count == 1

    async def collect() -> None:
        stages.start()
        try:
            gc.collect(1)
        finally:
            stages.stop()
        gc.collect(1)  # stopped: not counted

    asyncio.run(collect())
    assert stages.gc[1].count == 1 and stages.gc[2].count == 1
    assert stages._gc_callback not in gc.callbacks


async def test_the_loop_lag_monitor_sees_a_blocked_loop() -> None:
    stages = Stages()
    stages.start()
    try:
        ran = asyncio.get_running_loop().create_future()
        # due no earlier than the monitor's tick, so it runs after it
        asyncio.get_running_loop().call_later(LAG_EVERY_S, ran.set_result, None)
        # blocking the loop is the point: its tick then runs ~50 ms late
        time.sleep(LAG_EVERY_S + 0.05)  # noqa: ASYNC251
        await ran
        assert stages.loop_lag.count >= 1
        assert stages.loop_lag.quantile(1.0) is not None
        assert stages.loop_lag.quantile(1.0) >= 0.03  # type: ignore[operator]
    finally:
        stages.stop()
    assert stages._lag is None
