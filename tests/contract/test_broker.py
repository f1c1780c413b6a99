"""One contract for every broker: memory and Redis pass the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from parent_harness.brokers import Broker, BrokerHandler, Outgoing, Sequenced, open_broker
from tests.redis_server import RedisServer


class Receiver:
    """A node as its broker sees it, with an empty store: collects what the broker delivers
    and waits for a seq with a timeout."""

    def __init__(self) -> None:
        self.events: list[Sequenced] = []
        self.confirmed: dict[str, int] = {}
        self.changed = asyncio.Event()

    def deliver(self, batch: list[Sequenced]) -> None:
        self.events.extend(batch)
        self.changed.set()

    def on_confirmed(self, origin: str, upto: int) -> None:
        self.confirmed[origin] = upto
        self.changed.set()

    async def known_ids(self, ids: Sequence[str]) -> dict[str, int]:
        return {}

    async def stored_events(self, after: int, upto: int) -> list[Sequenced]:
        return []

    async def until(self, seq: int, timeout: float = 5.0) -> list[Sequenced]:
        async with asyncio.timeout(timeout):
            while not self.events or self.events[-1].seq < seq:
                self.changed.clear()
                await self.changed.wait()
        return self.events


@pytest.fixture(params=["memory", "redis"])
async def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    yield server.url


async def started(url: str, receiver: BrokerHandler, after: int = 0, epoch: str = "e1") -> Broker:
    broker = open_broker(url)
    await broker.start(receiver, epoch=epoch, after_seq=after)
    return broker


def event(n: int, key: str | None = None) -> Outgoing:
    return Outgoing("event", {"event": {"message": f"m{n}"}}, key)


async def test_appended_events_get_increasing_seqs_and_are_delivered_in_order(
    broker_url: str,
) -> None:
    receiver = Receiver()
    broker = await started(broker_url, receiver)
    try:
        first = await broker.append([event(1), event(2)])
        second = await broker.append([event(3)])
        assert [a.seq for a in first + second] == [1, 2, 3]
        delivered = await receiver.until(3)
        assert [e.seq for e in delivered] == [1, 2, 3]
        assert [e.payload["event"]["message"] for e in delivered] == ["m1", "m2", "m3"]
        assert delivered[0].ts.endswith("Z") and delivered[0].ts_ms > 0
        assert broker.status()["ok"]
    finally:
        await broker.stop()


async def test_a_repeated_key_keeps_its_first_seq_and_is_not_delivered_again(
    broker_url: str,
) -> None:
    receiver = Receiver()
    broker = await started(broker_url, receiver)
    try:
        (once,) = await broker.append([event(1, key="k")])
        again, fresh = await broker.append([event(1, key="k"), event(2)])
        assert (again.seq, again.duplicate, again.id) == (once.seq, True, "k")
        assert (fresh.seq, fresh.duplicate) == (once.seq + 1, False)
        delivered = await receiver.until(fresh.seq)
        assert delivered[0].id == "k"
        assert len(delivered) == 2
    finally:
        await broker.stop()


async def test_a_restarted_node_continues_the_order(broker_url: str) -> None:
    receiver = Receiver()
    broker = await started(broker_url, receiver, after=41)
    try:
        (appended,) = await broker.append([event(1)])
        assert appended.seq == 42
    finally:
        await broker.stop()


async def test_every_redis_node_receives_the_whole_order(redis_server: RedisServer) -> None:
    a, b = Receiver(), Receiver()
    node_a = await started(redis_server.url, a)
    node_b = await started(redis_server.url, b)
    try:
        await asyncio.gather(
            *(node.append([event(n)]) for n in range(20) for node in (node_a, node_b))
        )
        assert [e.seq for e in await a.until(40)] == list(range(1, 41))
        assert [e.seq for e in await b.until(40)] == list(range(1, 41))
        assert [e.id for e in a.events] == [e.id for e in b.events]
    finally:
        await node_a.stop()
        await node_b.stop()


async def test_redis_of_another_log_is_refused(redis_server: RedisServer) -> None:
    first = await started(redis_server.url, Receiver(), epoch="log-one")
    await first.stop()
    with pytest.raises(RuntimeError, match="serves another log"):
        await started(redis_server.url, Receiver(), epoch="log-two")


# redis-py leaves the sockets of connections the server dropped to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_redis_restart_is_survived_and_reported(redis_server: RedisServer) -> None:
    receiver = Receiver()
    broker = await started(redis_server.url, receiver)
    try:
        await broker.append([event(1)])
        await receiver.until(1)
        redis_server.stop()
        async with asyncio.timeout(10):
            while broker.status()["ok"]:
                await asyncio.sleep(0.05)
        assert broker.status()["error"]
        redis_server.start()
        async with asyncio.timeout(10):
            while not broker.status()["ok"]:
                await asyncio.sleep(0.05)
        (after,) = await broker.append([event(2)])
        assert after.seq == 2  # persistence kept the counter: no seq given twice
        assert [e.seq for e in await receiver.until(2)] == [1, 2]
    finally:
        await broker.stop()


async def test_a_key_the_store_holds_keeps_its_seq_after_a_restart(broker_url: str) -> None:
    first = await started(broker_url, Receiver())
    try:
        (once,) = await first.append([event(1, key="k")])
    finally:
        await first.stop()
    again = open_broker(broker_url)
    await again.start(Receiver(), epoch="e1", after_seq=once.seq, recent_keys={"k": once.seq})
    try:
        (repeat,) = await again.append([event(1, key="k")])
        assert (repeat.seq, repeat.duplicate) == (once.seq, True)
    finally:
        await again.stop()


async def test_a_broker_states_whether_its_order_is_shared(broker_url: str) -> None:
    broker = open_broker(broker_url)
    try:
        assert broker.capabilities.shared_order is broker_url.startswith("redis")
    finally:
        await broker.stop()


async def test_a_redis_node_hears_the_others_confirmations_not_its_own(
    redis_server: RedisServer,
) -> None:
    a, b = Receiver(), Receiver()
    node_a = await started(redis_server.url, a)
    node_b = await started(redis_server.url, b)
    try:
        await node_a.confirm(7)
        async with asyncio.timeout(5):
            while not b.confirmed:
                b.changed.clear()
                await b.changed.wait()
        assert list(b.confirmed.values()) == [7]
        assert a.confirmed == {}
    finally:
        await node_a.stop()
        await node_b.stop()
