"""The heartbeat: one pass pings every client; a client silent since the last ping is dropped."""

from __future__ import annotations

import asyncio

from parent_harness.hub.fanout import Hub, Subscriber
from parent_harness.web.heartbeat import PING_FRAME, SLICE, Heartbeat
from tests.unit.test_fanout import FakeTransport


def clients(hub: Hub, count: int) -> list[FakeTransport]:
    transports = [FakeTransport() for _ in range(count)]
    for t in transports:
        hub.attach(Subscriber(t), ["*"], after_seq=0)
    return transports


async def test_a_client_that_answers_stays_and_a_silent_one_is_dropped() -> None:
    hub = Hub()
    answers, silent = clients(hub, 2)
    heartbeat = Heartbeat(hub, 15.0)
    await heartbeat.beat()
    assert answers.writes == silent.writes == [PING_FRAME]
    for sub in hub.subscribers:
        if sub.transport is answers:
            sub.pinged = False  # what /ws does on any frame it reads, a pong included
    await heartbeat.beat()
    assert answers.writes == [PING_FRAME, PING_FRAME] and not answers.closing
    assert silent.writes == [PING_FRAME] and silent.closing
    assert heartbeat.dropped == 1


async def test_a_beat_lets_the_loop_run_between_slices() -> None:
    hub = Hub()
    transports = clients(hub, 3 * SLICE)
    pinged_when_others_ran: list[int] = []

    async def fan_out() -> None:
        pinged_when_others_ran.append(sum(len(t.writes) for t in transports))

    other = asyncio.get_running_loop().create_task(fan_out())
    await Heartbeat(hub, 15.0).beat()
    await other
    assert pinged_when_others_ran == [SLICE]
    assert all(t.writes == [PING_FRAME] for t in transports)
